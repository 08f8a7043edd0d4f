"""CiscoDevice status: phase and conditions computed from what the controller observed.

Pure functions. ``set_condition`` keeps ``lastTransitionTime`` when a condition's status does not
change, so re-reconciling an unchanged device produces an identical status and no API write.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

READY = "Ready"
RECONCILED = "Reconciled"
DEVICE_REACHABLE = "DeviceReachable"


def now_rfc3339() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclasses.dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str


def set_condition(conditions: list[Obj], cond: Condition, generation: int, now: str) -> list[Obj]:
    """Return conditions with ``cond`` merged in (by type), keeping transition times stable."""
    out: list[Obj] = []
    found = False
    for c in conditions:
        if c.get("type") != cond.type:
            out.append(c)
            continue
        found = True
        changed = c.get("status") != cond.status
        out.append({
            "type": cond.type,
            "status": cond.status,
            "reason": cond.reason,
            "message": cond.message,
            "observedGeneration": generation,
            "lastTransitionTime": now if changed else c.get("lastTransitionTime", now),
        })
    if not found:
        out.append({"type": cond.type, "status": cond.status, "reason": cond.reason,
                    "message": cond.message, "observedGeneration": generation, "lastTransitionTime": now})
    return out


def node_condition(node: Obj | None, ctype: str) -> Obj | None:
    if not node:
        return None
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def deployment_ready(deployment: Obj | None) -> bool:
    if not deployment:
        return False
    st = deployment.get("status") or {}
    return int(st.get("readyReplicas") or 0) >= 1 and int(st.get("observedGeneration") or 0) >= int(
        (deployment.get("metadata") or {}).get("generation") or 0)


@dataclasses.dataclass(frozen=True)
class Observed:
    """What one reconcile pass saw, from which the status follows."""

    spec_error: Condition | None = None  # Reconciled=False reason when the spec cannot be served
    deployment: Obj | None = None
    node: Obj | None = None
    deleting: bool = False
    deleting_message: str = ""


def compute_status(device: Obj, seen: Observed, now: str | None = None) -> Obj:
    """The full ``status`` for the device given what was observed."""
    now = now or now_rfc3339()
    meta = device["metadata"]
    generation = int(meta.get("generation") or 0)
    old = device.get("status") or {}
    conditions: list[Obj] = list(old.get("conditions") or [])
    node_name = str((device.get("spec") or {}).get("nodeName") or meta["name"])

    if seen.deleting:
        phase = "Deleting"
        reconciled = Condition(RECONCILED, "True", "Deleting", seen.deleting_message or "cleaning up")
        ready = Condition(READY, "False", "Deleting", seen.deleting_message or "device is being removed")
        reach = None
    elif seen.spec_error:
        phase = "Error"
        reconciled = seen.spec_error
        ready = Condition(READY, "False", seen.spec_error.reason, seen.spec_error.message)
        reach = Condition(DEVICE_REACHABLE, "Unknown", "NotServed", "no cisco-vk runs for this device")
    else:
        reconciled = Condition(RECONCILED, "True", "Applied", "ConfigMap and Deployment are up to date")
        node_ready = node_condition(seen.node, "Ready")
        node_reach = node_condition(seen.node, DEVICE_REACHABLE)
        if node_reach:
            reach = Condition(DEVICE_REACHABLE, str(node_reach.get("status") or "Unknown"),
                              str(node_reach.get("reason") or "Unknown"),
                              str(node_reach.get("message") or ""))
        else:
            reach = Condition(DEVICE_REACHABLE, "Unknown", "NodeNotRegistered",
                              f"node {node_name} has not reported yet")
        if not deployment_ready(seen.deployment):
            phase = "Provisioning"
            ready = Condition(READY, "False", "CiscoVKNotReady",
                              f"waiting for the cisco-vk pod of Deployment {meta['name']}-vk to be ready")
        elif not node_ready or node_ready.get("status") != "True":
            phase = "Provisioning"
            ready = Condition(READY, "False", "NodeNotReady", f"node {node_name} is not Ready yet")
        elif reach.status != "True":
            phase = "Error"
            address = (device.get("spec") or {}).get("address")
            ready = Condition(READY, "False", "DeviceUnreachable",
                              reach.message or f"cisco-vk cannot reach the device at {address}")
        else:
            phase = "Ready"
            ready = Condition(READY, "True", "NodeReady", f"node {node_name} is Ready")

    for cond in (reconciled, reach, ready):
        if cond is not None:
            conditions = set_condition(conditions, cond, generation, now)
    status: Obj = {
        "phase": phase,
        "observedGeneration": generation,
        "nodeName": node_name,
        "message": ready.message,
        "conditions": conditions,
    }
    device_facts = _device_facts(seen.node)
    if device_facts:
        status["device"] = device_facts
    elif old.get("device"):
        status["device"] = old["device"]
    return status


def _device_facts(node: Obj | None) -> Obj:
    """Device facts as the node shows them: driver labels/annotations first, then nodeInfo."""
    if not node:
        return {}
    meta = node.get("metadata") or {}
    tags = {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}
    info = (node.get("status") or {}).get("nodeInfo") or {}
    # The keys the XE and FAKE drivers publish (cvk/driver/*/driver.py node_resources): the exact
    # product ID as an annotation, the label value sanitised for label syntax.
    software = tags.get("cisco.vk/software-version") or info.get("osImage")
    facts = {
        "model": tags.get("cisco.vk/product-id") or tags.get("cisco.vk/model"),
        "serialNumber": tags.get("cisco.vk/serial-number") or info.get("machineID"),
        "softwareVersion": str(software).splitlines()[0] if software else None,
        "hostname": tags.get("cisco.vk/hostname"),
    }
    return {k: v for k, v in facts.items() if v}
