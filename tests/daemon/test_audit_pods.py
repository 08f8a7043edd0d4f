"""Audit of the pod side against vk-library.md section 9 (behaviours 14-43, 60): gaps found in review.

PodController in-process with the small in-memory API of tests/kube and the in-test SmallDriver."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from cvk.driver.base import Driver
from cvk.driver.fake import FakeDriver
from cvk.errors import DeviceRejected, DeviceUnreachable
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.config import KubeConfig
from cvk.node.ping import PingController
from cvk.options import RunOptions
from cvk.pod.controller import PodController
from cvk.pod.status import PodStatusManager
from tests.daemon.fakes import FakeClient, SmallDriver, until
from tests.daemon.fakes import pod as fpod
from tests.daemon.test_pod_controller import fake_spec
from tests.daemon.test_pod_sync import Harness
from tests.kube.fakeapi import FakeApi, serve


def api_pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-11-21T08:00:00Z"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "fake/app:1"}], **spec},
        "status": {"phase": "Pending"},
    }


@contextlib.asynccontextmanager
async def running(driver: Driver, *pods: dict[str, Any]) -> AsyncIterator[tuple[FakeApi, PodController]]:
    api = FakeApi()
    for p in pods:
        api.add("pods", p)
    async with serve(api.app) as url:
        client = KubeClient(KubeConfig(server=url))
        pc = PodController(client, driver, RunOptions(node_name="n1", pod_sync_workers=2), node_ip="127.0.0.1")
        await pc.start()
        try:
            yield api, pc
        finally:
            await pc.stop()
            await client.close()


def creates(driver: SmallDriver, key: str) -> int:
    return driver.calls.count(("create", key))


async def test_recovery_recreates_a_pod_whose_app_the_device_lost() -> None:
    """Re-adoption after an outage asks the driver again: an app the device lost while it was away
    (a reload) is created again, as a restart of cisco-vk would; apps still there are not."""
    driver = SmallDriver()
    async with running(driver) as (api, pc):
        api.add("pods", api_pod("lost"))
        api.add("pods", api_pod("kept"))
        await until(lambda: creates(driver, "default/lost") == 1 and creates(driver, "default/kept") == 1)
        await until(lambda: "default/lost" in pc.syncer.last_used and "default/kept" in pc.syncer.last_used)
        ping = PingController(driver.ping, interval=0.05, timeout=1)
        ping.add_listener(pc.on_device_change)
        await ping.ping_once()
        driver.down = True
        await ping.ping_once()
        del driver.pods["default/lost"]  # the device came back without this app
        driver.down = False
        await ping.ping_once()
        await until(lambda: creates(driver, "default/lost") == 2)
        await until(lambda: len(pc.sync_queue) == 0 and pc.sync_queue.processing == 0)
        assert creates(driver, "default/kept") == 1  # still on the device: adopted, not re-created
        assert ("update", "default/kept") not in driver.calls


def phase(api: FakeApi, name: str) -> str:
    p = api.store.get("pods", {}).get(("default", name)) or {}
    return str((p.get("status") or {}).get("phase") or "")


async def test_final_status_of_an_older_pod_of_the_same_name_never_reaches_the_new_pod(tmp_path: Path) -> None:
    """The device holds the app of an earlier pod of the same name (another UID). Removing it makes the
    driver report that pod's final status; it must not be written onto the new API pod, which would
    turn it terminal (and a terminal pod is never created or updated again)."""
    driver = FakeDriver(fake_spec(tmp_path))
    await driver.connect()
    old = api_pod("web")
    old["metadata"]["uid"] = "uid-old"
    await driver.create_pod(old)
    for _ in range(500):
        if (await driver.get_pod_status("default", "web")).get("phase") == "Running":
            break
        await asyncio.sleep(0.01)
    assert (await driver.get_pod_status("default", "web")).get("phase") == "Running"
    new = api_pod("web")
    new["metadata"]["uid"] = "uid-new"
    try:
        async with running(driver, new) as (api, _pc):
            await until(lambda: phase(api, "web") == "Running", 10)
            assert (await driver.get_pod("default", "web"))["metadata"]["uid"] == "uid-new"
    finally:
        await driver.close()


async def test_status_of_another_uid_notified_before_the_informer_knew_the_pod_is_not_written() -> None:
    client = FakeClient()
    api: dict[str, dict[str, Any]] = {}
    queued: list[str] = []
    sm = PodStatusManager(
        client,  # type: ignore[arg-type]
        SmallDriver(),
        get_pod=api.get,
        enqueue=queued.append,
        enqueue_after=lambda k, d: None,
    )
    old = fpod(uid="uid-old")
    old["status"] = {"phase": "Succeeded"}
    sm.notify(old)  # the informer does not have the new pod yet
    api["default/web"] = client.put_object(paths.pods("default", "web"), fpod(uid="uid-new"))
    await sm.sync("default/web")
    assert client.verbs("PUT") == []
    new = fpod(uid="uid-new")
    new["status"] = {"phase": "Running"}
    sm.notify(new)
    await sm.sync("default/web")
    assert client.objects[paths.pods("default", "web")]["status"] == {"phase": "Running"}


async def test_pod_recreated_under_the_same_name_during_a_watch_gap_is_synced() -> None:
    """A relist (after 410 Gone) finds the pod under a new UID, delivered as an update: the new pod
    must reach the driver (the old pod's app replaced), even though its spec is identical."""
    driver = SmallDriver()
    first = api_pod("web")
    first["metadata"]["uid"] = "uid-a"
    async with running(driver, first) as (api, pc):
        await until(lambda: creates(driver, "default/web") == 1)
        lists = pc.informer.lists
        api.remove("pods", "default", "web", notify=False)
        second = api_pod("web")
        second["metadata"]["uid"] = "uid-b"
        api.add("pods", second, notify=False)
        api.expire_watches()
        await until(lambda: pc.informer.lists > lists)
        await until(lambda: driver.pods.get("default/web", {}).get("metadata", {}).get("uid") == "uid-b")
        assert driver.calls[-2:] == [("delete", "default/web"), ("create", "default/web")]


async def test_polled_driver_delete_writes_succeeded_terminated() -> None:
    """Behaviour 43: without a notifier nobody else reports the end of a deleted pod (a pod kept by a
    finalizer would show Running for good); a notifying driver reports it itself."""
    for notify in (False, True):
        h = Harness()
        h.driver._notify = notify
        p = fpod()
        h.put(p)
        await h.syncer.sync("default/web")
        running = h.get_pod("default/web")
        assert running is not None
        running["status"] = {
            "phase": "Running",
            "containerStatuses": [
                {"name": "c", "ready": True, "containerID": "fake://1",
                 "state": {"running": {"startedAt": "2026-11-21T08:00:00Z"}}},
            ],
        }
        running["metadata"]["deletionTimestamp"] = "2026-11-21T08:05:00Z"
        running["metadata"]["deletionGracePeriodSeconds"] = 30
        h.put(running)
        h.status_q.clear()
        await h.syncer.sync("default/web")
        assert h.driver.calls[-1] == ("delete", "default/web")
        while h.status_q:
            await h.status.sync(h.status_q.pop(0))
        st = h.client.objects[paths.pods("default", "web")]["status"]
        if notify:
            assert st["phase"] == "Running"
            continue
        assert (st["phase"], st["reason"]) == ("Succeeded", "Terminated")
        cs = st["containerStatuses"][0]
        assert "running" not in cs["state"] and cs["ready"] is False
        term = cs["state"]["terminated"]
        assert term["reason"] == "Terminated" and term["startedAt"] == "2026-11-21T08:00:00Z"
        assert term["finishedAt"] and "exit code may not reflect" in term["message"]


async def test_skip_env_resolution_passes_env_and_envfrom_unchanged() -> None:
    """Behaviour 25: with env resolution off the driver gets the pod's env and envFrom as written
    (a missing ConfigMap and a status.podIP reference would otherwise stop the create)."""
    driver = SmallDriver()
    env = [
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "A", "value": "$(B)"},
    ]
    env_from = [{"configMapRef": {"name": "missing"}}]
    p = api_pod("web")
    p["spec"]["containers"][0].update(env=env, envFrom=env_from)
    api = FakeApi()
    api.add("pods", p)
    async with serve(api.app) as url:
        client = KubeClient(KubeConfig(server=url))
        pc = PodController(client, driver, RunOptions(node_name="n1"), skip_env_resolution=True)
        await pc.start()
        try:
            await until(lambda: creates(driver, "default/web") == 1)
            c = driver.pods["default/web"]["spec"]["containers"][0]
            assert c["env"] == env and c["envFrom"] == env_from
            api.modify("pods", "default", "web", {"metadata": {"labels": {"x": "1"}}})
            await until(lambda: ("update", "default/web") in driver.calls)
            assert driver.pods["default/web"]["spec"]["containers"][0]["env"] == env
        finally:
            await pc.stop()
            await client.close()


async def test_finalizers_are_never_added_or_removed() -> None:
    """Behaviour 33: create, status writes, driver delete and force delete leave finalizers alone."""
    h = Harness()
    p = fpod()
    p["metadata"]["finalizers"] = ["example.com/keep"]
    h.put(p)
    await h.syncer.sync("default/web")
    h.driver.set_status("default/web", {"phase": "Running"})
    deleting = h.get_pod("default/web")
    assert deleting is not None
    deleting["metadata"]["deletionTimestamp"] = "2026-11-21T08:05:00Z"
    deleting["metadata"]["deletionGracePeriodSeconds"] = 30
    h.put(deleting)
    while h.status_q:
        await h.status.sync(h.status_q.pop(0))
    await h.syncer.sync("default/web")
    await h.syncer.force_delete(h.deletes[-1])
    writes = [c for c in h.client.calls if c[0] in ("PUT", "PATCH", "POST") and "/pods/" in c[1]]
    assert writes  # the status was written
    for _, _, body in writes:
        assert (body.get("metadata") or {}).get("finalizers") == ["example.com/keep"]
    (delete,) = h.client.verbs("DELETE")
    assert delete[2] == {"grace_period_seconds": 0, "preconditions_uid": "uid-1"}


async def running_then_evicted() -> tuple[Harness, dict[str, Any]]:
    """A harness whose pod runs, and a copy of the driver's pod to turn into an eviction report."""
    h = Harness()
    h.put(fpod())
    await h.syncer.sync("default/web")
    h.driver.set_status("default/web", {"phase": "Running"})
    while h.status_q:
        await h.status.sync(h.status_q.pop(0))
    return h, copy.deepcopy(h.driver.pods["default/web"])


async def test_provider_deletion_in_the_future_keeps_its_grace_period_whatever_the_time_format() -> None:
    """Behaviour 40: the driver's grace period is used while its deletionTimestamp has not passed,
    also for RFC 3339 stamps with fractions or an offset."""
    for stamp in ("2999-01-01T00:00:00Z", "2999-01-01T00:00:00.123456Z", "2999-01-01T00:00:00+00:00"):
        h, evicted = await running_then_evicted()
        evicted["metadata"]["deletionTimestamp"] = stamp
        evicted["metadata"]["deletionGracePeriodSeconds"] = 30
        h.status.notify(evicted)
        await h.status.sync("default/web")
        (delete,) = h.client.verbs("DELETE")
        assert delete[2]["grace_period_seconds"] == 30, stamp


class ListHook(SmallDriver):
    """``list_pods`` runs ``hook`` (once) before answering: the API and the device change meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Callable[[], Awaitable[None]] | None = None

    async def list_pods(self) -> list[dict[str, Any]]:
        self._check()
        hook, self.hook = self.hook, None
        if hook is not None:
            await hook()
        return await super().list_pods()


async def test_late_dangling_cleanup_spares_a_pod_created_while_the_device_was_listed() -> None:
    """The dangling-pod pass that runs after an outage (the start-up list had failed) runs while the
    workers create pods: a pod created in the API and on the device during the list is not dangling."""
    driver = ListHook()
    driver.down = True  # the start-up list fails: the pass is deferred to the device's return
    async with running(driver) as (api, pc):
        assert pc.dangling_deleted == []
        ping = PingController(driver.ping, interval=0.05, timeout=1)
        ping.add_listener(pc.on_device_change)
        await ping.ping_once()

        async def meanwhile() -> None:
            api.add("pods", api_pod("fresh"))
            await until(lambda: "default/fresh" in driver.pods)

        driver.hook = meanwhile
        driver.down = False
        await ping.ping_once()
        await until(lambda: driver.hook is None and not pc._cleanup_pending)
        assert "default/fresh" in driver.pods
        assert ("delete", "default/fresh") not in driver.calls


async def test_update_failure_sets_provider_failed_and_records_provider_update_failed() -> None:
    """Behaviour 19 for UpdatePod: ProviderFailed (Failed for restartPolicy Never), a Warning event,
    and the error re-raised for the queue's retry."""

    class FailingUpdate(SmallDriver):
        async def update_pod(self, pod: dict[str, Any]) -> None:
            self.calls.append(("update", f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"))
            raise DeviceRejected("activate failed", status=500, device_message="no memory")

    for policy, phase_ in (("Never", "Failed"), ("Always", "Pending")):
        h = Harness()
        h.driver = FailingUpdate()
        h.syncer._driver = h.driver
        h.put(fpod(restart_policy=policy))
        await h.syncer.sync("default/web")
        changed = h.get_pod("default/web")
        assert changed is not None
        changed["spec"]["containers"][0]["image"] = "fake/app:2"
        h.put(changed)
        with pytest.raises(DeviceRejected):
            await h.syncer.sync("default/web")
        st = h.client.objects[paths.pods("default", "web")]["status"]
        assert (st["phase"], st["reason"], st["message"]) == (phase_, "ProviderFailed", "activate failed")
        assert h.events[-1][1:] == ("ProviderUpdateFailed", "activate failed")


def test_pod_queues_retry_with_upstream_backoff() -> None:
    """Behaviour 19: 5 ms doubling, capped at 1000 s, at most 20 runs."""
    pc = PodController(KubeClient(KubeConfig(server="http://127.0.0.1:1")), SmallDriver(), RunOptions(node_name="n1"))
    for q in (pc.sync_queue, pc.delete_queue, pc.status_queue):
        assert (q.base_delay, q.max_delay, q.max_retries) == (0.005, 1000.0, 20)


async def test_status_conflict_retry_never_writes_onto_a_recreated_pod() -> None:
    """A 409 re-reads the pod and writes once more, but not when the re-read finds another pod of the
    same name (deleted and created again since the informer's copy)."""
    client = FakeClient()
    path = paths.pods("default", "web")
    stale = client.put_object(path, fpod(uid="uid-old"))
    client.put_object(path, fpod(uid="uid-new"))  # the informer has not seen this one yet
    sm = PodStatusManager(
        client,  # type: ignore[arg-type]
        SmallDriver(),
        get_pod=lambda key: copy.deepcopy(stale),
        enqueue=lambda key: None,
        enqueue_after=lambda k, d: None,
    )
    notified = copy.deepcopy(stale)
    notified["status"] = {"phase": "Succeeded"}
    sm.notify(notified)
    await sm.sync("default/web")
    assert client.objects[path]["metadata"]["uid"] == "uid-new"
    assert client.objects[path]["status"] == {}


async def test_provider_deletion_carries_the_uid_precondition() -> None:
    """Behaviour 40, made safe: the DELETE names the UID the informer showed, so a pod of the same
    name created since is never deleted by it (the 409 counts as done)."""
    h, evicted = await running_then_evicted()
    evicted["metadata"]["deletionTimestamp"] = "2000-01-01T00:00:00Z"
    h.status.notify(evicted)
    informer_copy = h.get_pod("default/web")
    h.client.objects[paths.pods("default", "web")]["metadata"]["uid"] = "uid-2"  # re-created meanwhile
    h.syncer._get_pod = h.status._get_pod = lambda key: copy.deepcopy(informer_copy)
    await h.status.sync("default/web")
    (delete,) = h.client.verbs("DELETE")
    assert delete[2]["preconditions_uid"] == "uid-1"
    assert paths.pods("default", "web") in h.client.objects


class RecoversWhileListing(SmallDriver):
    """Down at first; the device comes back (and the ping sees it) while the pod controller is still
    starting, during its dangling-pod list, which fails."""

    def __init__(self) -> None:
        super().__init__()
        self.ping_ctl: PingController | None = None

    async def list_pods(self) -> list[dict[str, Any]]:
        if self.down and self.ping_ctl is not None:
            self.down = False
            await self.ping_ctl.ping_once()
            self.set_status("default/web", {"phase": "Running"})
            raise DeviceUnreachable("connection reset while listing")
        return await super().list_pods()


async def test_device_back_before_the_pod_controller_is_ready_still_readopts() -> None:
    """An outage that ends while the pod controller starts must not leave the pods' outage marker
    (or the deferred dangling-pod pass) behind: the recovery is applied once it is ready."""
    driver = RecoversWhileListing()
    known = api_pod("web")
    known["metadata"]["uid"] = "uid-web"
    await driver.create_pod(known)
    orphan = api_pod("orphan")
    orphan["metadata"]["uid"] = "uid-orphan"
    await driver.create_pod(orphan)
    driver.down = True
    api = FakeApi()
    api.add("pods", known)
    async with serve(api.app) as url:
        client = KubeClient(KubeConfig(server=url))
        pc = PodController(client, driver, RunOptions(node_name="n1", pod_sync_workers=2))
        ping = PingController(driver.ping, interval=0.05, timeout=1)
        ping.add_listener(pc.on_device_change)
        driver.ping_ctl = ping
        await ping.ping_once()  # down before the pod controller starts
        await pc.start()
        try:

            def status() -> dict[str, Any]:
                return dict(api.store["pods"][("default", "web")].get("status") or {})

            await until(lambda: status().get("phase") == "Running")
            await until(lambda: not any(c.get("type") == "DeviceReachable" for c in status().get("conditions") or []))
            await until(lambda: "default/orphan" not in driver.pods)
            assert creates(driver, "default/web") == 1  # adopted, not created again
        finally:
            await pc.stop()
            await client.close()


async def test_a_driver_call_that_works_again_clears_the_outage_marker_it_set() -> None:
    """A sync that failed as unreachable marks the pod; when the retry reaches the device the marker
    goes, even if the ping never saw the blip (no recovery event) and the driver already reported."""
    h = Harness()
    h.put(fpod())
    await h.syncer.sync("default/web")
    reported = copy.deepcopy(h.driver.pods["default/web"])
    reported["status"] = {"phase": "Running"}
    h.driver.pods["default/web"]["status"] = {"phase": "Running"}
    h.status.notify(reported)

    async def drain() -> dict[str, Any]:
        while h.status_q:
            await h.status.sync(h.status_q.pop(0))
        return dict(h.client.objects[paths.pods("default", "web")]["status"])

    assert (await drain())["phase"] == "Running"
    changed = h.get_pod("default/web")
    assert changed is not None
    changed["spec"]["containers"][0]["image"] = "fake/app:2"
    h.put(changed)
    h.driver.down = True
    with pytest.raises(DeviceUnreachable):
        await h.syncer.sync("default/web")
    assert any(c["type"] == "DeviceReachable" for c in (await drain()).get("conditions") or [])
    h.driver.down = False
    await h.syncer.sync("default/web")
    assert h.driver.calls[-1] == ("update", "default/web")
    st = await drain()
    assert st["phase"] == "Running" and not any(c["type"] == "DeviceReachable" for c in st.get("conditions") or [])


async def test_provider_deletion_with_a_newer_status_writes_it_then_deletes_in_the_same_pass() -> None:
    """Behaviour 40 without the upstream stall: when the driver's final report differs from the API
    status, the status is written first and the pod deleted in the same pass (an evicting driver
    may never report again, so waiting for equal statuses could keep the pod forever)."""
    h, evicted = await running_then_evicted()
    evicted["metadata"]["deletionTimestamp"] = "2000-01-01T00:00:00Z"
    evicted["status"] = {"phase": "Failed", "reason": "Evicted", "message": "the device removed the app"}
    h.status.notify(evicted)
    await h.status.sync("default/web")
    verbs = [c[0] for c in h.client.calls if "/pods/" in c[1]]
    assert verbs[-2:] == ["PUT", "DELETE"]
    assert h.client.verbs("PUT")[-1][2]["status"]["reason"] == "Evicted"
    (delete,) = h.client.verbs("DELETE")
    assert delete[2]["grace_period_seconds"] == 0


async def test_provider_deletion_waits_while_the_device_is_reported_unreachable() -> None:
    """During a device outage the API status carries the outage condition, not the driver's: no
    provider-initiated delete then; it happens once the outage ends."""
    h, evicted = await running_then_evicted()
    h.status.mark_outage("default/web", "DeviceUnreachable", "no route to host")
    evicted["metadata"]["deletionTimestamp"] = "2000-01-01T00:00:00Z"
    h.status.notify(evicted)
    await h.status.sync("default/web")
    assert h.client.verbs("DELETE") == []
    h.status.recover("default/web")  # the ping sees the device again: a fresh read, then the delete
    await h.status.sync("default/web")
    assert len(h.client.verbs("DELETE")) == 1
