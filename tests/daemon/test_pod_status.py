"""Status mapping, duplicate suppression, terminal pods, resourceVersion, device outage."""

from __future__ import annotations

from typing import Any

import pytest

from cvk.errors import DeviceUnreachable
from cvk.kube import paths
from cvk.pod.poll import StatusPoller
from cvk.pod.status import (
    COND_DEVICE,
    Outage,
    PodStatusManager,
    desired_status,
    not_found_status,
    provider_failed_status,
)
from tests.daemon.fakes import FakeClient, SmallDriver, pod

RUNNING = {
    "phase": "Running",
    "podIP": "10.0.0.10",
    "conditions": [{"type": "Ready", "status": "True"}],
    "containerStatuses": [{"name": "c", "ready": True, "state": {"running": {"startedAt": "2026-11-21T08:00:00Z"}}}],
}


class Harness:
    def __init__(self, *, notify: bool = True) -> None:
        self.client = FakeClient()
        self.driver = SmallDriver(notify=notify)
        self.queue: list[str] = []
        self.later: list[tuple[str, float]] = []
        self.mgr = PodStatusManager(
            self.client,  # type: ignore[arg-type]
            self.driver,
            get_pod=self.get_pod,
            enqueue=self.queue.append,
            enqueue_after=lambda k, d: self.later.append((k, d)),
        )

    def get_pod(self, key: str) -> dict[str, Any] | None:
        ns, name = key.split("/")
        obj = self.client.objects.get(paths.pods(ns, name))
        return None if obj is None else dict(obj)

    def add_api_pod(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.client.put_object(paths.pods(p["metadata"]["namespace"], p["metadata"]["name"]), p)

    async def drain(self) -> None:
        while self.queue:
            await self.mgr.sync(self.queue.pop(0))

    def api_status(self, key: str = "default/web") -> dict[str, Any]:
        ns, name = key.split("/")
        return dict(self.client.objects[paths.pods(ns, name)]["status"])

    def status_puts(self) -> list[Any]:
        return self.client.verbs("PUT", "/status")


def test_desired_status_mapping() -> None:
    assert desired_status({}, None, None) is None
    assert desired_status({}, RUNNING, None) == RUNNING
    out = desired_status(RUNNING, None, Outage("DeviceUnreachable", "refused", 0.0))
    assert out is not None and out["phase"] == "Running"
    cond = [c for c in out["conditions"] if c["type"] == COND_DEVICE]
    assert cond[0]["status"] == "False" and cond[0]["reason"] == "DeviceUnreachable" and cond[0]["message"] == "refused"
    assert {"type": "Ready", "status": "True"} in out["conditions"]  # last observed status kept
    # Stale marker without any provider news: removed.
    assert desired_status(out, None, None) == RUNNING


def test_failed_and_not_found_statuses() -> None:
    p = pod(restart_policy="Never")
    assert provider_failed_status(p, "boom") == {"phase": "Failed", "reason": "ProviderFailed", "message": "boom"}
    assert provider_failed_status(pod(), "boom")["phase"] == "Pending"
    p["status"] = RUNNING
    st = not_found_status(p)
    assert st["phase"] == "Failed" and st["reason"] == "NotFound"
    term = st["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == -137 and term["startedAt"] == "2026-11-21T08:00:00Z"


async def test_notify_writes_with_informer_rv_and_suppresses_duplicates() -> None:
    h = Harness()
    api = h.add_api_pod(pod())
    notified = pod()
    notified["status"] = RUNNING
    h.mgr.notify(notified)
    h.mgr.notify(notified)  # duplicate
    await h.drain()
    puts = h.status_puts()
    assert len(puts) == 1
    assert puts[0][2]["metadata"]["resourceVersion"] == api["metadata"]["resourceVersion"]
    assert h.api_status()["phase"] == "Running"
    h.mgr.notify(notified)
    await h.drain()
    assert len(h.status_puts()) == 1


async def test_rewrite_after_someone_else_changed_status() -> None:
    h = Harness()
    h.add_api_pod(pod())
    notified = pod()
    notified["status"] = RUNNING
    h.mgr.notify(notified)
    await h.drain()
    old = h.get_pod("default/web")
    assert old is not None
    path = paths.pods("default", "web")
    other = dict(h.client.objects[path])
    other["status"] = {"phase": "Pending"}
    new = h.client.put_object(path, other)
    h.mgr.on_api_update(old, new)
    await h.drain()
    assert len(h.status_puts()) == 2 and h.api_status()["phase"] == "Running"


async def test_terminal_api_pod_never_overwritten() -> None:
    h = Harness()
    h.add_api_pod(pod(phase="Succeeded"))
    notified = pod()
    notified["status"] = RUNNING
    h.mgr.notify(notified)
    await h.drain()
    assert h.status_puts() == []


async def test_notification_before_informer_is_retried_then_dropped() -> None:
    h = Harness()
    notified = pod()
    notified["status"] = RUNNING
    h.mgr.notify(notified)
    await h.drain()
    assert h.later and h.later[0][0] == "default/web"  # retried: the informer may catch up
    h.add_api_pod(pod())
    await h.mgr.sync("default/web")
    assert h.api_status()["phase"] == "Running"


async def test_conflict_rereads_and_writes_once_more() -> None:
    h = Harness()
    h.add_api_pod(pod())
    h.client.conflicts[paths.pods("default", "web", "status")] = 1
    notified = pod()
    notified["status"] = RUNNING
    h.mgr.notify(notified)
    await h.drain()
    assert len(h.status_puts()) == 2 and h.api_status()["phase"] == "Running"


async def test_outage_marks_and_recovery_readopts() -> None:
    h = Harness()
    h.add_api_pod(pod())
    await h.driver.create_pod(pod())
    h.driver.set_status("default/web", RUNNING)  # no callback registered: set directly
    notified = pod()
    notified["status"] = RUNNING
    h.mgr.notify(notified)
    await h.drain()
    h.mgr.mark_outage("default/web", "DeviceUnreachable", "DeviceUnreachable: refused")
    await h.drain()
    st = h.api_status()
    assert st["phase"] == "Running" and st["podIP"] == "10.0.0.10"
    cond = {c["type"]: c for c in st["conditions"]}[COND_DEVICE]
    assert cond["status"] == "False" and "refused" in cond["message"]
    assert h.mgr.in_outage("default/web")
    h.mgr.recover("default/web")
    await h.drain()
    st = h.api_status()
    assert COND_DEVICE not in {c["type"] for c in st["conditions"]}
    assert st["phase"] == "Running" and not h.mgr.in_outage("default/web")
    assert h.client.verbs("DELETE") == []


async def test_poller_statuses_not_found_and_outage() -> None:
    h = Harness(notify=False)
    running = pod("run", uid="u1")
    running["status"] = {"phase": "Running"}
    gone = pod("gone", uid="u2")
    gone["status"] = dict(RUNNING)
    young = pod("young", uid="u3")
    young["metadata"]["creationTimestamp"] = "2099-01-01T00:00:00Z"
    for p in (running, gone, young):
        h.add_api_pod(p)
    await h.driver.create_pod(running)
    h.driver.pods["default/run"]["status"] = RUNNING
    api = [p for p in (h.get_pod(k) for k in ("default/run", "default/gone", "default/young")) if p]
    poller = StatusPoller(h.driver, h.mgr, list_pods=lambda: api, interval=1)
    await poller.sweep()
    await h.drain()
    assert h.api_status("default/run")["phase"] == "Running"
    assert h.api_status("default/gone")["phase"] == "Failed"
    assert h.api_status("default/gone")["reason"] == "NotFound"
    assert h.api_status("default/young") == {}  # creation grace
    h.driver.down = True
    api = [p for p in (h.get_pod(k) for k in ("default/run",)) if p]
    await poller.sweep()
    await h.drain()
    st = h.api_status("default/run")
    assert st["phase"] == "Running"
    assert {c["type"]: c["status"] for c in st["conditions"]}[COND_DEVICE] == "False"


async def test_refresh_while_device_down_reports_the_outage() -> None:
    h = Harness()
    h.add_api_pod(pod(phase="Running"))
    await h.driver.create_pod(pod())
    h.driver.down = True
    h.mgr.recover("default/web")
    with pytest.raises(DeviceUnreachable):  # reported now, and the queue reads the device again
        await h.drain()
    st = h.api_status()
    assert st["phase"] == "Running"
    assert {c["type"]: c["reason"] for c in st["conditions"]}[COND_DEVICE] == "DeviceUnreachable"
    h.driver.down = False
    h.mgr.recover("default/web")
    await h.drain()
    assert COND_DEVICE not in {c["type"] for c in h.api_status().get("conditions") or []}
