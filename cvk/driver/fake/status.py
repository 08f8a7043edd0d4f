"""The v1 PodStatus of a FAKE pod, computed from its apps.

Deterministic: every timestamp comes from the apps' timeline (never "now"), and container statuses
follow the order of the pod spec, so an unchanged pod always maps to an identical status and the
pod controller's duplicate suppression works.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cvk.driver.base import PodStatus
from cvk.driver.fake.apps import App, AppState, Run, Timings
from cvk.driver.fake.pods import PodRecord
from cvk.driver.fake.timefmt import rfc3339

CONTAINER_ID_SCHEME = "fake://"


def image_id(image: str) -> str:
    return f"fake://sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _terminated(run: Run, app: App) -> dict[str, Any]:
    out: dict[str, Any] = {
        "exitCode": run.exit_code if run.exit_code is not None else 0,
        "reason": run.reason or "Completed",
        "startedAt": rfc3339(run.started_at),
        "finishedAt": rfc3339(run.finished_at if run.finished_at is not None else run.started_at),
        "containerID": CONTAINER_ID_SCHEME + app.app_id,
    }
    if run.message:
        out["message"] = run.message
    return out


def container_status(app: App, pod_name: str, timings: Timings) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": app.name,
        "image": app.image,
        "imageID": image_id(app.image) if app.runs else "",
        "ready": app.state == AppState.RUNNING,
        "started": app.state == AppState.RUNNING,
        "restartCount": app.restart_count,
        "state": {},
        "lastState": {},
    }
    if app.runs or app.state not in (AppState.INSTALLING, AppState.ERROR):
        status["containerID"] = CONTAINER_ID_SCHEME + app.app_id
    run = app.current_run
    if app.state == AppState.RUNNING and run is not None:
        status["state"] = {"running": {"startedAt": rfc3339(run.started_at)}}
        if app.previous_run is not None:
            status["lastState"] = {"terminated": _terminated(app.previous_run, app)}
    elif app.state == AppState.STOPPED and run is not None:
        if app.next_attempt_at is not None:
            delay = timings.backoff(app.restart_count)
            status["state"] = {"waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off {delay:g}s restarting failed container={app.name} pod={pod_name}",
            }}
            status["lastState"] = {"terminated": _terminated(run, app)}
        else:
            status["state"] = {"terminated": _terminated(run, app)}
            if app.previous_run is not None:
                status["lastState"] = {"terminated": _terminated(app.previous_run, app)}
    elif app.state == AppState.ERROR:
        status["state"] = {"waiting": {"reason": "InstallFailed", "message": app.error or "install failed"}}
        if run is not None:
            status["lastState"] = {"terminated": _terminated(run, app)}
    else:  # INSTALLING, DEPLOYED, ACTIVATED
        status["state"] = {"waiting": {"reason": "ContainerCreating",
                                       "message": f"IOx app {app.app_id} is {app.state}"}}
        if run is not None:
            status["lastState"] = {"terminated": _terminated(run, app)}
    return status


def pod_phase(rec: PodRecord) -> str:
    pending = running = succeeded = failed = 0
    for app in rec.apps:
        run = app.current_run
        restarting = app.state == AppState.STOPPED and app.next_attempt_at is not None
        if app.state == AppState.RUNNING or restarting:
            running += 1
        elif run is None or app.state != AppState.STOPPED:
            pending += 1  # never started, or being (re)installed
        elif run.exit_code == 0:
            succeeded += 1
        else:
            failed += 1
    if pending:
        return "Pending"
    if running:
        return "Running"
    return "Failed" if failed else "Succeeded"


def _condition(kind: str, ok: bool, at: float, reason: str | None = None,
               message: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None,
                           "lastTransitionTime": rfc3339(at)}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def pod_status(rec: PodRecord, host_ip: str | None, timings: Timings) -> PodStatus:
    phase = pod_phase(rec)
    ready = all(a.state == AppState.RUNNING for a in rec.apps)
    if ready:
        ready_at = max(a.current_run.started_at for a in rec.apps if a.current_run is not None)
    else:
        finished = [a.current_run.finished_at for a in rec.apps
                    if a.state != AppState.RUNNING and a.current_run is not None
                    and a.current_run.finished_at is not None]
        ready_at = max(finished, default=rec.created_at)
    if ready:
        reason, message = None, None
    elif phase in ("Succeeded", "Failed"):
        reason, message = "PodCompleted", None
    else:
        unready = " ".join(a.name for a in rec.apps if a.state != AppState.RUNNING)
        reason, message = "ContainersNotReady", f"containers with unready status: [{unready}]"
    status: PodStatus = {
        "phase": phase,
        "conditions": [
            _condition("Initialized", True, rec.created_at),
            _condition("Ready", ready, ready_at, reason, message),
            _condition("ContainersReady", ready, ready_at, reason, message),
            _condition("PodScheduled", True, rec.created_at),
        ],
        "startTime": rfc3339(rec.created_at),
        "containerStatuses": [container_status(a, rec.name, timings) for a in rec.apps],
    }
    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    if rec.pod_ip and any(a.runs for a in rec.apps):
        status["podIP"] = rec.pod_ip
        status["podIPs"] = [{"ip": rec.pod_ip}]
    if rec.qos_class:
        status["qosClass"] = rec.qos_class
    return status
