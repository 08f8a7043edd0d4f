"""Pod status from what the device shows, Kubernetes-style (phases as the kubelet computes them).

Inputs are plain per-container views built by the driver from one device snapshot; the output is a
v1 PodStatus dict. Timestamps come from the views (first-seen times kept by the driver), and
containers keep spec order, so an unchanged device gives an identical status (no API write).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import UTC, datetime
from typing import Any

from cvk.driver.xe.oper import ACTIVATED, DEPLOYED, ERROR, EXITED, INSTALLING, RUNNING

CONTAINER_ID_SCHEME = "cisco://"


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class ContainerView:
    name: str
    image: str
    app_id: str
    state: str | None  # details/state, None: no oper entry yet
    restart_count: int = 0
    started_at: str | None = None  # first time seen RUNNING (this run)
    finished_at: str | None = None  # first time seen STOPPED
    exit_code: int | None = None
    restarting: bool = False  # STOPPED and restartPolicy restarts it (backoff pending)
    backoff_seconds: float = 0.0
    last_terminated: dict[str, Any] | None = None  # lastState.terminated after a restart
    error_reason: str = ""  # the device refused our last step
    error_message: str = ""
    device_message: str = ""  # latest app notification text from the device
    ip: str | None = None
    deleted: bool = False  # nothing left on the device after a delete

    @property
    def effective_exit_code(self) -> int:
        """The exit code the device reported, else 0 for STOPPED and 1 for ERROR."""
        if self.exit_code is not None:
            return self.exit_code
        return 1 if self.state == ERROR else 0


def _waiting(reason: str, message: str) -> dict[str, Any]:
    w: dict[str, Any] = {"reason": reason}
    if message:
        w["message"] = message
    return {"waiting": w}


def container_status(c: ContainerView) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": c.name,
        "image": c.image,
        "imageID": c.image,
        "containerID": CONTAINER_ID_SCHEME + c.app_id,
        "restartCount": c.restart_count,
        "ready": False,
        "started": False,
    }
    if c.last_terminated:
        status["lastState"] = {"terminated": dict(c.last_terminated)}
    else:
        status["lastState"] = {}
    if c.deleted:
        term: dict[str, Any] = {
            "exitCode": c.exit_code if c.exit_code is not None else 0,
            "reason": "Terminated",
            "message": "the app was removed from the device",
            "finishedAt": c.finished_at or now_rfc3339(),
        }
        if c.started_at:
            term["startedAt"] = c.started_at
        status["state"] = {"terminated": term}
        return status
    if c.state == RUNNING:
        status["state"] = {"running": {"startedAt": c.started_at or now_rfc3339()}}
        status["ready"] = True
        status["started"] = True
        return status
    if c.state in EXITED and c.restarting:
        msg = f"back-off {int(c.backoff_seconds)}s restarting stopped app {c.app_id}"
        if c.error_reason:
            msg += f"; the device refused the last restart: {c.error_message}"
        status["state"] = _waiting("CrashLoopBackOff", msg)
        return status
    if c.state in EXITED:
        code = c.effective_exit_code
        term = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "finishedAt": c.finished_at or now_rfc3339(),
        }
        if c.started_at:
            term["startedAt"] = c.started_at
        if c.device_message:
            term["message"] = c.device_message
        status["state"] = {"terminated": term}
        return status
    if c.error_reason:
        status["state"] = _waiting(c.error_reason, c.error_message)
        return status
    if c.state in (None, INSTALLING, DEPLOYED, ACTIVATED):
        msg = f"app {c.app_id}: " + (f"state {c.state}" if c.state else "being configured on the device")
        if c.device_message:
            msg += f" ({c.device_message})"
        status["state"] = _waiting("ContainerCreating", msg)
        return status
    msg = f"app {c.app_id} is in state {c.state}"
    if c.device_message:
        msg += f": {c.device_message}"
    status["state"] = _waiting("AppStateUnknown", msg)
    return status


def pod_phase(containers: list[ContainerView], restart_policy: str) -> str:
    """The kubelet's getPhase for regular containers."""
    running = waiting = stopped = succeeded = 0
    for c in containers:
        if c.deleted:
            stopped += 1
            succeeded += 1
        elif c.state == RUNNING:
            running += 1
        elif c.state in EXITED and not c.restarting:
            stopped += 1
            if c.effective_exit_code == 0:
                succeeded += 1
        elif c.state in EXITED or c.last_terminated:
            stopped += 1  # restarting: counts as stopped, like a container with lastTerminationState
        else:
            waiting += 1
    if not containers:
        return "Pending"
    if all(c.deleted for c in containers):
        return "Succeeded"
    if waiting > 0:
        return "Pending"
    if running > 0:
        return "Running"
    if stopped > 0:
        if any(c.restarting for c in containers) or restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _ip_family(ip: str) -> int:
    try:
        return ipaddress.ip_address(ip).version
    except ValueError:
        return 0


@dataclasses.dataclass
class ConditionClock:
    """Keeps each condition's lastTransitionTime stable until its status flips."""

    since: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)

    def condition(self, ctype: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
        value = "True" if ok else "False"
        prev = self.since.get(ctype)
        if prev is None or prev[0] != value:
            self.since[ctype] = (value, now_rfc3339())
        cond: dict[str, Any] = {"type": ctype, "status": value, "lastTransitionTime": self.since[ctype][1]}
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        return cond


def pod_status(
    containers: list[ContainerView],
    *,
    restart_policy: str,
    start_time: str,
    host_ip: str | None,
    clock: ConditionClock,
    qos_class: str | None = None,
) -> dict[str, Any]:
    statuses = [container_status(c) for c in containers]
    phase = pod_phase(containers, restart_policy)
    all_ready = bool(statuses) and all(s["ready"] for s in statuses)
    not_ready = [s["name"] for s in statuses if not s["ready"]]
    why = f"containers with unready status: [{' '.join(not_ready)}]" if not_ready else ""
    reason = "" if all_ready else ("PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady")
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            clock.condition("PodScheduled", True),
            clock.condition("Initialized", True),
            clock.condition("ContainersReady", all_ready, reason, why),
            clock.condition("Ready", all_ready, reason, why),
        ],
        "startTime": start_time,
        "containerStatuses": statuses,
    }
    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    pod_ip = next((c.ip for c in containers if c.ip), None)
    if pod_ip:
        status["podIP"] = pod_ip
        # One address per family (API validation); the first container's address is the pod's.
        ips = [pod_ip]
        for c in containers:
            if c.ip and _ip_family(c.ip) not in {_ip_family(i) for i in ips}:
                ips.append(c.ip)
        status["podIPs"] = [{"ip": ip} for ip in ips]
    if qos_class:
        status["qosClass"] = qos_class
    errors = [c for c in containers if c.error_reason]
    if errors and phase == "Pending":
        status["reason"] = errors[0].error_reason
        status["message"] = errors[0].error_message
    return status
