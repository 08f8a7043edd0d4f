"""Sync decisions: create, adopt, update, delete, force delete, provider errors, reconciliation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cvk.errors import DeviceBusy, DeviceRejected, DeviceUnreachable, InvalidInput
from cvk.kube import paths
from cvk.kube.workqueue import PermanentError
from cvk.pod.compare import effectively_equal, pod_should_enqueue, provider_differs
from cvk.pod.reconcile import cleanup_dangling, dangling
from cvk.pod.status import COND_DEVICE, PodStatusManager
from cvk.pod.sync import PodSyncer
from tests.daemon.fakes import FakeClient, SmallDriver, pod


class Harness:
    def __init__(self, *, resolve: bool = True) -> None:
        self.client = FakeClient()
        self.driver = SmallDriver()
        self.events: list[tuple[str, str, str]] = []
        self.deletes: list[str] = []
        self.status_q: list[str] = []
        self.status = PodStatusManager(
            self.client,  # type: ignore[arg-type]
            self.driver,
            get_pod=self.get_pod,
            enqueue=self.status_q.append,
            enqueue_after=lambda k, d: None,
        )

        async def resolver(p: dict[str, Any]) -> dict[str, Any]:
            out = copy.deepcopy(p)
            for c in out["spec"]["containers"]:
                c["env"] = list(reversed(c.get("env") or []))  # resolution returns env in any order
                c["envFrom"] = []
            return out

        self.syncer = PodSyncer(
            self.client,  # type: ignore[arg-type]
            self.driver,
            get_pod=self.get_pod,
            status=self.status,
            record=lambda p, t, r, m: self.events.append((p["metadata"]["name"], r, m)),
            resolve=resolver if resolve else None,
            enqueue_delete=self.deletes.append,
        )

    def get_pod(self, key: str) -> dict[str, Any] | None:
        ns, name = key.split("/")
        obj = self.client.objects.get(paths.pods(ns, name))
        return None if obj is None else copy.deepcopy(obj)

    def put(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.client.put_object(paths.pods(p["metadata"]["namespace"], p["metadata"]["name"]), p)

    def reasons(self) -> list[str]:
        return [e[1] for e in self.events]


def test_should_enqueue_and_equality() -> None:
    a = pod()
    b = copy.deepcopy(a)
    b["status"] = {"phase": "Running"}
    b["metadata"]["resourceVersion"] = "99"
    b["metadata"]["managedFields"] = [{"manager": "cisco-vk", "subresource": "status"}]
    assert not pod_should_enqueue(a, b)
    assert effectively_equal(a, b)
    c = copy.deepcopy(a)
    c["spec"]["containers"][0]["image"] = "fake/app:2"
    assert pod_should_enqueue(a, c) and not effectively_equal(a, c)
    d = copy.deepcopy(a)
    d["metadata"]["deletionTimestamp"] = "2026-11-21T08:00:00Z"
    assert pod_should_enqueue(a, d)
    e1 = pod(
        containers=[{"name": "c", "image": "i", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]
    )
    e2 = pod(
        containers=[{"name": "c", "image": "i", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}]
    )
    assert not provider_differs(e1, e2)
    assert provider_differs(e1, e2, sort_env=False)


async def test_create_then_no_duplicate_calls_then_update() -> None:
    h = Harness()
    p = pod(containers=[{"name": "c", "image": "i", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}])
    h.put(p)
    await h.syncer.sync("default/web")
    assert h.driver.calls == [("create", "default/web")]
    assert h.reasons() == ["ProviderCreateSuccess"]
    assert h.events[0][2] == "Create pod in provider successfully"
    assert h.driver.pods["default/web"]["spec"]["containers"][0]["envFrom"] == []
    await h.syncer.sync("default/web")
    h.syncer.forget("default/web")  # e.g. a restart: last-used forgotten, the driver has it
    await h.syncer.sync("default/web")
    assert h.driver.calls == [("create", "default/web")]  # adopted, env order ignored
    changed = h.get_pod("default/web")
    assert changed is not None
    changed["spec"]["containers"][0]["image"] = "i2"
    h.put(changed)
    await h.syncer.sync("default/web")
    assert h.driver.calls[-1] == ("update", "default/web")
    assert h.reasons()[-1] == "ProviderUpdateSuccess"


async def test_terminal_pod_never_created() -> None:
    h = Harness()
    h.put(pod(phase="Succeeded"))
    await h.syncer.sync("default/web")
    assert h.driver.calls == []


async def test_same_name_other_uid_is_replaced() -> None:
    h = Harness()
    old = pod(uid="old")
    await h.driver.create_pod(old)
    h.put(pod(uid="new"))
    await h.syncer.sync("default/web")
    assert h.driver.calls[-2:] == [("delete", "default/web"), ("create", "default/web")]
    assert h.driver.pods["default/web"]["metadata"]["uid"] == "new"


async def test_create_failure_sets_provider_failed_and_retries() -> None:
    h = Harness()
    h.put(pod(restart_policy="Never"))
    h.driver.create_error = DeviceRejected("install failed", status=500, device_message="no space")
    with pytest.raises(DeviceRejected):
        await h.syncer.sync("default/web")
    st = h.client.objects[paths.pods("default", "web")]["status"]
    assert st == {"phase": "Failed", "reason": "ProviderFailed", "message": "install failed"}
    assert h.reasons() == ["ProviderCreateFailed"]
    put = h.client.verbs("PUT", "/status")[0][2]
    assert "resourceVersion" not in put["metadata"]
    h.driver.create_error = InvalidInput("image must be a tar file")
    h.put(pod(uid="uid-1"))
    with pytest.raises(PermanentError):  # retrying the same input cannot help
        await h.syncer.sync("default/web")


async def test_outage_during_create_never_fails_the_pod() -> None:
    h = Harness()
    h.put(pod(restart_policy="Never"))
    h.driver.down = True
    with pytest.raises(DeviceUnreachable):
        await h.syncer.sync("default/web")
    assert h.client.verbs("PUT", "/status") == []
    assert h.status.in_outage("default/web")
    while h.status_q:
        await h.status.sync(h.status_q.pop(0))
    st = h.client.objects[paths.pods("default", "web")]["status"]
    assert st["phase"] == "Pending"
    assert {c["type"]: c["status"] for c in st["conditions"]}[COND_DEVICE] == "False"
    h.driver.down = False
    await h.syncer.sync("default/web")
    assert h.driver.calls == [("create", "default/web")]


async def test_busy_device_is_retried_without_failing_the_pod() -> None:
    h = Harness()
    h.put(pod(restart_policy="Never"))
    h.driver.create_error = DeviceBusy("lock-denied", status=409, device_message="lock-denied")
    with pytest.raises(DeviceBusy):
        await h.syncer.sync("default/web")
    assert h.client.verbs("PUT", "/status") == []
    assert h.reasons() == ["ProviderCreateFailed"]
    h.driver.create_error = None
    await h.syncer.sync("default/web")
    assert h.reasons()[-1] == "ProviderCreateSuccess"


async def test_graceful_delete_calls_driver_then_force_deletes() -> None:
    h = Harness()
    h.put(pod())
    await h.syncer.sync("default/web")
    p = h.get_pod("default/web")
    assert p is not None
    p["metadata"]["deletionTimestamp"] = "2026-11-21T08:00:00Z"
    p["metadata"]["deletionGracePeriodSeconds"] = 30
    h.put(p)
    await h.syncer.sync("default/web")
    assert h.driver.calls[-1] == ("delete", "default/web")
    assert h.reasons()[-1] == "ProviderDeleteSuccess"
    assert h.deletes == ["default/web/uid-1"]
    await h.syncer.sync("default/web")
    assert len([c for c in h.driver.calls if c[0] == "delete"]) == 1
    await h.syncer.force_delete("default/web/uid-1")
    call = h.client.verbs("DELETE")[0]
    assert call[2] == {"grace_period_seconds": 0, "preconditions_uid": "uid-1"}
    assert paths.pods("default", "web") not in h.client.objects


async def test_delete_not_found_in_driver_is_success_and_errors_retry() -> None:
    h = Harness()
    p = pod()
    p["metadata"]["deletionTimestamp"] = "2026-11-21T08:00:00Z"
    h.put(p)
    await h.syncer.sync("default/web")  # the driver never had it: NotFound is success
    assert h.deletes == ["default/web/uid-1"]
    h2 = Harness()
    h2.put(p)
    h2.driver.down = True
    with pytest.raises(DeviceUnreachable):
        await h2.syncer.sync("default/web")
    assert h2.reasons() == ["ProviderDeleteFailed"] and h2.deletes == []


async def test_stale_force_delete_spares_recreated_pod() -> None:
    h = Harness()
    h.put(pod(uid="new"))
    await h.syncer.force_delete("default/web/old")
    assert h.client.verbs("DELETE") == []
    assert paths.pods("default", "web") in h.client.objects


async def test_pod_gone_from_api_is_deleted_from_driver() -> None:
    h = Harness()
    await h.driver.create_pod(pod())
    await h.syncer.sync("default/web")
    assert "default/web" not in h.driver.pods
    await h.syncer.sync("default/web")  # nothing left: no error


async def test_reconcile_deletes_only_unknown_and_never_on_failed_list() -> None:
    d = SmallDriver()
    for name, uid in (("keep", "k"), ("orphan", "o"), ("stale", "s-old")):
        await d.create_pod(pod(name, uid=uid))
    api = {"default/keep": pod("keep", uid="k"), "default/stale": pod("stale", uid="s-new")}
    assert sorted(p["metadata"]["name"] for p in dangling(list(d.pods.values()), api)) == ["orphan", "stale"]
    d.list_error = DeviceUnreachable("down")
    assert await cleanup_dangling(d, api) is None
    assert len(d.pods) == 3
    d.list_error = None
    deleted = await cleanup_dangling(d, api)
    assert sorted(deleted) == ["default/orphan", "default/stale"]
    assert list(d.pods) == ["default/keep"]
    assert await cleanup_dangling(SmallDriver(), {}) == []
