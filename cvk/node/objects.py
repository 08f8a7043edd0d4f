"""The desired Node object, built from the device spec, the run options and the driver's report.

Pure functions: no I/O, so every field can be unit tested. Who sets what (vk-library.md 1.6,
upstream-cvk.md 2.6 and its gaps 20/21, which we fix):

- labels ``type=virtual-kubelet``, ``kubernetes.io/role=agent``, ``kubernetes.io/hostname``,
  ``kubernetes.io/os=linux``, ``kubernetes.io/arch``, the topology region/zone labels, the
  driver's device facts, then ``spec.labels`` (the operator's word wins);
- taint ``virtual-kubelet.io/provider=cisco:NoSchedule`` plus ``spec.taints`` (create time only:
  the status patch never touches the ``spec``, vk-library behaviour 10; the one later spec change
  is the device-outage taint of ``cvk.node.taint``);
- capacity and allocatable from the driver with ``pods`` = ``spec.maxPods``;
- addresses InternalIP (the kubelet API's address) and Hostname, and the kubelet API's real port in
  ``daemonEndpoints`` so the API server can reach logs/exec;
- conditions: the kubelet's five plus ``DeviceReachable`` (see ``conditions``).
"""

from __future__ import annotations

from typing import Any

import cvk
from cvk.config.spec import DeviceSpec
from cvk.driver.base import NodeResources

TAINT_KEY = "virtual-kubelet.io/provider"
TAINT_VALUE = "cisco"

LAST_APPLIED_META = "virtual-kubelet.io/last-applied-object-meta"
LAST_APPLIED_STATUS = "virtual-kubelet.io/last-applied-node-status"

COND_READY = "Ready"
COND_DEVICE = "DeviceReachable"

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def kubelet_version() -> str:
    return f"v1.35.0-cvk-{cvk.__version__}"


def normalise_arch(arch: str | None) -> str:
    """Kubernetes architecture names (``amd64``, ``arm64``) from what a device reports."""
    if not arch:
        return "amd64"
    return _ARCH_ALIASES.get(arch.strip().lower(), arch.strip().lower())


def node_labels(spec: DeviceSpec, node_name: str, resources: NodeResources | None) -> dict[str, str]:
    info = resources.node_info if resources else {}
    labels: dict[str, str] = {
        "type": "virtual-kubelet",
        "kubernetes.io/role": "agent",
        "kubernetes.io/hostname": node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": normalise_arch(info.get("architecture")),
        "node.kubernetes.io/exclude-from-external-load-balancers": "true",
    }
    if spec.region:
        labels["topology.kubernetes.io/region"] = spec.region
    if spec.zone:
        labels["topology.kubernetes.io/zone"] = spec.zone
    if resources:
        labels.update(resources.labels)
    labels.update(spec.labels)
    return labels


def node_annotations(spec: DeviceSpec, resources: NodeResources | None) -> dict[str, str]:
    annotations: dict[str, str] = {
        "cisco-vk.io/driver": str(spec.driver),
        "cisco-vk.io/device-address": spec.address,
    }
    if resources:
        annotations.update(resources.annotations)
    return annotations


def node_taints(spec: DeviceSpec) -> list[dict[str, str]]:
    taints = [{"key": TAINT_KEY, "value": TAINT_VALUE, "effect": "NoSchedule"}]
    for t in spec.taints:
        taint = {"key": t.key, "effect": t.effect}
        if t.value is not None:
            taint["value"] = t.value
        taints = [x for x in taints if not (x["key"] == t.key and x["effect"] == t.effect)]
        taints.append(taint)
    return taints


def node_capacity(spec: DeviceSpec, resources: NodeResources | None) -> tuple[dict[str, str], dict[str, str]]:
    """(capacity, allocatable), ``pods`` from ``maxPods``; without a driver report only ``pods``."""
    pods = str(spec.max_pods)
    if resources is None:
        return {"pods": pods}, {"pods": pods}
    capacity = dict(resources.capacity)
    allocatable = dict(resources.allocatable or resources.capacity)
    capacity["pods"] = pods
    allocatable["pods"] = pods
    return capacity, allocatable


def node_info(resources: NodeResources | None) -> dict[str, str]:
    info = {
        "machineID": "",
        "systemUUID": "",
        "bootID": "",
        "kernelVersion": "",
        "osImage": "Cisco IOS-XE",
        "containerRuntimeVersion": "iox://unknown",
        "kubeletVersion": kubelet_version(),
        "kubeProxyVersion": "",
        "operatingSystem": "linux",
        "architecture": "amd64",
    }
    if resources:
        info.update(resources.node_info)
    info["architecture"] = normalise_arch(info.get("architecture"))
    info["kubeletVersion"] = kubelet_version()
    return info


def condition(
    type_: str, status: str, reason: str, message: str, now: str, previous: dict[str, Any] | None
) -> dict[str, str]:
    """A NodeCondition; ``lastTransitionTime`` is kept from ``previous`` while the status holds."""
    transition = now
    if previous and previous.get("status") == status and previous.get("lastTransitionTime"):
        transition = str(previous["lastTransitionTime"])
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": now,
        "lastTransitionTime": transition,
    }


def node_conditions(
    *,
    device_ok: bool | None,
    device_reason: str,
    device_message: str,
    now: str,
    previous: list[dict[str, Any]] | None = None,
) -> list[dict[str, str]]:
    """The kubelet's conditions plus ``DeviceReachable``.

    ``Ready`` stays True while the device is down: the cisco-vk process is healthy and keeps the
    Lease, so the node-lifecycle controller neither taints the node NotReady nor evicts its pods
    (which would kill workloads that are still running on the device). The outage is reported by
    ``DeviceReachable=False`` with the failure's reason and message, on the node and on each pod.
    ``device_ok=None`` means no ping has finished yet (status Unknown).
    """
    prev = {str(c.get("type")): c for c in previous or []}

    def c(type_: str, status: str, reason: str, message: str) -> dict[str, str]:
        return condition(type_, status, reason, message, now, prev.get(type_))

    if device_ok is None:
        dev = c(COND_DEVICE, "Unknown", "DevicePending", "the first device ping has not finished")
    elif device_ok:
        dev = c(COND_DEVICE, "True", device_reason, device_message)
    else:
        dev = c(COND_DEVICE, "False", device_reason, device_message)
    return [
        c(COND_READY, "True", "KubeletReady", "cisco-vk is ready (device reachability: see DeviceReachable)"),
        c("MemoryPressure", "False", "KubeletHasSufficientMemory", "cisco-vk has sufficient memory"),
        c("DiskPressure", "False", "KubeletHasNoDiskPressure", "cisco-vk has no disk pressure"),
        c("PIDPressure", "False", "KubeletHasSufficientPID", "cisco-vk has sufficient PID available"),
        c("NetworkUnavailable", "False", "RouteCreated", "the device's app network is configured"),
        dev,
    ]


def node_status(
    spec: DeviceSpec,
    *,
    node_name: str,
    resources: NodeResources | None,
    node_ip: str,
    kubelet_port: int,
    conditions: list[dict[str, str]],
) -> dict[str, Any]:
    capacity, allocatable = node_capacity(spec, resources)
    return {
        "capacity": capacity,
        "allocatable": allocatable,
        "addresses": [
            {"type": "InternalIP", "address": node_ip},
            {"type": "Hostname", "address": node_name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": node_info(resources),
        "conditions": conditions,
    }


def new_node(
    spec: DeviceSpec,
    *,
    node_name: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    status: dict[str, Any],
) -> dict[str, Any]:
    """The object POSTed when the Node does not exist yet (spec is only ever written here)."""
    node_spec: dict[str, Any] = {"taints": node_taints(spec)}
    if spec.pod_cidr:
        node_spec["podCIDR"] = spec.pod_cidr
        node_spec["podCIDRs"] = [spec.pod_cidr]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node_name, "labels": dict(labels), "annotations": dict(annotations)},
        "spec": node_spec,
        "status": status,
    }
