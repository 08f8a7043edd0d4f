"""restartPolicy OnFailure follows the exit code the status shows: an app the device reports STOPPED
without an exit code is shown as exit 0 (Completed), so it is not restarted and the pod Succeeds."""

from __future__ import annotations

import time

import pytest

from cvk.config.spec import DeviceSpec, DriverName
from cvk.driver.xe.driver import XEDriver
from cvk.driver.xe.oper import OperData, parse_app
from cvk.driver.xe.records import build_pod_record
from cvk.driver.xe.snapshot import Snapshot


def _snap(app: str, details: dict[str, object]) -> Snapshot:
    oper = OperData(
        apps={app: parse_app({"name": app, "details": details})}, notifications=(), resources=None, iox_enabled=True
    )
    return Snapshot(at=time.monotonic(), configs={}, oper=oper)


@pytest.mark.parametrize(
    ("state", "phase", "restarts"),
    [("STOPPED", "Succeeded", False), ("ERROR", "Running", True)],
)
def test_on_failure_uses_the_exit_code_shown_in_the_status(state: str, phase: str, restarts: bool) -> None:
    spec = DeviceSpec(driver=DriverName.XE, address="192.0.2.1", username="admin", password="x")
    driver = XEDriver(spec)
    p = {
        "metadata": {"namespace": "default", "name": "job", "uid": "u-1"},
        "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "app", "image": "flash:/job.tar"}]},
    }
    rec = build_pod_record(spec, p, static_ready=False)
    c = rec.containers[0]
    now = time.monotonic()
    driver._observe_container(rec, c, _snap(c.app_id, {"state": "RUNNING"}), now)
    snap = _snap(c.app_id, {"state": state})
    driver._observe_container(rec, c, snap, now + 1)
    status = driver._status_of(rec, snap)
    assert status["phase"] == phase
    assert (c.next_restart_at is not None) is restarts
    assert driver._context(rec, c, now + 10_000).should_restart is restarts
    if not restarts:
        term = status["containerStatuses"][0]["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (0, "Completed")
