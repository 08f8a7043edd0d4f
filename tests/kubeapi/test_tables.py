"""Table rendering: pod status column like printPod, HumanDuration, the JSONPath subset."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from hack.kubeapi.tables import _pod_status, human_duration, jsonpath


def _pod(statuses: list[dict[str, Any]], phase: str = "Running", **extra: Any) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": s["name"]} for s in statuses] or [{"name": "c"}]},
        "status": {"phase": phase, "containerStatuses": statuses},
    }
    for k, v in extra.items():
        pod[k] = v
    return pod


def _cs(name: str, state: dict[str, Any], ready: bool = False, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "state": state, "ready": ready, "restartCount": restarts, **extra}


def test_running_and_ready_counts() -> None:
    pod = _pod([_cs("a", {"running": {}}, ready=True), _cs("b", {"running": {}}, ready=False)])
    assert _pod_status(pod)[:3] == ("Running", 1, 2)


def test_waiting_reason_of_the_first_container_wins() -> None:
    pod = _pod(
        [
            _cs("a", {"waiting": {"reason": "CrashLoopBackOff"}}, restarts=3),
            _cs("b", {"waiting": {"reason": "ImagePullBackOff"}}),
        ]
    )
    reason, ready, total, restarts = _pod_status(pod)
    assert (reason, ready, total, restarts) == ("CrashLoopBackOff", 0, 2, "3")


def test_terminated_without_reason_and_restart_age() -> None:
    finished = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod = _pod(
        [_cs("a", {"terminated": {"exitCode": 3}}, restarts=2, lastState={"terminated": {"finishedAt": finished}})],
        phase="Failed",
    )
    reason, _, _, restarts = _pod_status(pod)
    assert reason == "ExitCode:3"
    assert restarts == "2 (5m ago)"


def test_completed_with_a_running_container_is_running_or_not_ready() -> None:
    statuses = [_cs("a", {"running": {}}, ready=True), _cs("b", {"terminated": {"exitCode": 0, "reason": "Completed"}})]
    pod = _pod(statuses)
    assert _pod_status(pod)[0] == "NotReady"
    pod["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert _pod_status(pod)[0] == "Running"


def test_init_containers() -> None:
    pod = _pod([], phase="Pending")
    pod["spec"]["initContainers"] = [{"name": "i1"}, {"name": "i2"}]
    pod["status"]["initContainerStatuses"] = [
        _cs("i1", {"terminated": {"exitCode": 0, "reason": "Completed"}}),
        _cs("i2", {"running": {}}),
    ]
    assert _pod_status(pod)[0] == "Init:1/2"
    pod["status"]["initContainerStatuses"][1] = _cs("i2", {"waiting": {"reason": "CrashLoopBackOff"}})
    assert _pod_status(pod)[0] == "Init:CrashLoopBackOff"


def test_terminating_unless_terminal() -> None:
    pod = _pod(
        [_cs("a", {"running": {}}, ready=True)], metadata={"name": "p", "deletionTimestamp": "2026-01-01T00:00:00Z"}
    )
    assert _pod_status(pod)[0] == "Terminating"
    done = _pod(
        [_cs("a", {"terminated": {"exitCode": 0, "reason": "Completed"}})],
        phase="Succeeded",
        metadata={"name": "p", "deletionTimestamp": "2026-01-01T00:00:00Z"},
    )
    assert _pod_status(done)[0] == "Completed"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (3 * 86400, "3d"),
        (400 * 86400, "400d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(datetime.timedelta(seconds=seconds)) == text


def test_jsonpath_subset() -> None:
    obj = {
        "spec": {"a": [1, 2]},
        "status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]},
        "metadata": {"labels": {"x/y": "z"}},
    }
    assert jsonpath(obj, ".spec.a[1]") == 2
    assert jsonpath(obj, '.status.conditions[?(@.type=="Ready")].status') == "True"
    assert jsonpath(obj, ".metadata.labels['x/y']") == "z"
    assert jsonpath(obj, ".spec.missing") is None
