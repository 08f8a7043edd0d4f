"""PodController end to end in-process: real informer, queues, events, client and FAKE driver,
against the small in-memory API of tests/kube (no emulator needed)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cvk.config.spec import DeviceSpec, DriverName, FakeConfig
from cvk.driver.fake import FakeDriver, update_faults
from cvk.kube.client import KubeClient
from cvk.kube.config import KubeConfig
from cvk.node.ping import PingController
from cvk.options import RunOptions
from cvk.pod.controller import PodController
from tests.daemon.fakes import until
from tests.kube.fakeapi import FakeApi, serve


def fake_spec(tmp: Path) -> DeviceSpec:
    cfg = FakeConfig(state_file=str(tmp / "fake.json"), install_seconds=0.05, activate_seconds=0.05, start_seconds=0.05)
    return DeviceSpec(driver=DriverName.FAKE, address="127.0.0.1", username="admin", fake=cfg)


def api_pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-11-21T08:00:00Z"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "fake/app:1"}], **spec},
        "status": {"phase": "Pending"},
    }


class Env:
    def __init__(self, api: FakeApi, url: str, tmp: Path) -> None:
        self.api = api
        self.url = url
        self.tmp = tmp

    @contextlib.asynccontextmanager
    async def controller(self) -> AsyncIterator[tuple[PodController, FakeDriver]]:
        client = KubeClient(KubeConfig(server=self.url))
        driver = FakeDriver(fake_spec(self.tmp))
        await driver.connect()
        opts = RunOptions(node_name="n1", pod_sync_workers=2)
        pc = PodController(client, driver, opts, node_ip="127.0.0.1")
        await pc.start()
        try:
            yield pc, driver
        finally:
            await pc.stop()
            await driver.close()
            await client.close()

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.api.store.get("pods", {}).get(("default", name))

    def phase(self, name: str) -> str:
        p = self.pod(name)
        return str(((p or {}).get("status") or {}).get("phase") or "")

    def events(self, reason: str) -> list[dict[str, Any]]:
        return [e for e in self.api.store.get("events", {}).values() if e.get("reason") == reason]


@contextlib.asynccontextmanager
async def env(tmp: Path) -> AsyncIterator[Env]:
    api = FakeApi()
    async with serve(api.app) as url:
        yield Env(api, url, tmp)


async def test_create_run_restart_adopts_and_delete(tmp_path: Path) -> None:
    async with env(tmp_path) as e:
        e.api.add("pods", api_pod("web"))
        e.api.add("pods", {**api_pod("other"), "spec": {**api_pod("other")["spec"], "nodeName": "n2"}})
        async with e.controller() as (pc, driver):
            await until(lambda: e.phase("web") == "Running", 10)
            status = e.pod("web")["status"]  # type: ignore[index]
            assert status["podIP"]
            assert status["containerStatuses"][0]["ready"] is True
            assert [p["metadata"]["name"] for p in await driver.list_pods()] == ["web"]  # n2's pod never reaches it
            await until(lambda: e.events("ProviderCreateSuccess"), 5)
            ev = e.events("ProviderCreateSuccess")[0]
            assert ev["source"]["component"] == "n1/pod-controller"
            assert ev["involvedObject"]["name"] == "web"
            cid = status["containerStatuses"][0]["containerID"]
        # restart: the same device (state file) and API
        async with e.controller() as (pc, driver):
            await until(lambda: pc.sync_queue.processed >= 1, 5)
            await until(lambda: len(pc.sync_queue) == 0 and pc.sync_queue.processing == 0, 5)
            assert pc.syncer.calls["create"] == 0  # adopted, never re-created
            assert e.phase("web") == "Running"
            assert e.pod("web")["status"]["containerStatuses"][0]["containerID"] == cid  # type: ignore[index]
            e.api.remove("pods", "default", "web")  # a force delete by a user
            await until(lambda: not driver._pods, 5)
        assert len(e.events("ProviderCreateSuccess")) == 1


async def test_dangling_driver_pod_deleted_once_at_start(tmp_path: Path) -> None:
    async with env(tmp_path) as e:
        e.api.add("pods", api_pod("keep"))
        async with e.controller() as (pc, driver):
            await until(lambda: e.phase("keep") == "Running", 10)
            extra = api_pod("orphan")
            extra["metadata"]["uid"] = "u-orphan"
            await driver.create_pod(extra)
        async with e.controller() as (pc, driver):
            assert pc.dangling_deleted == ["default/orphan"]
            assert sorted(p["metadata"]["name"] for p in await driver.list_pods()) == ["keep"]


async def test_device_outage_marks_pods_and_recovery_clears(tmp_path: Path) -> None:
    async with env(tmp_path) as e:
        e.api.add("pods", api_pod("web", restartPolicy="Never"))
        async with e.controller() as (pc, driver):
            await until(lambda: e.phase("web") == "Running", 10)
            ping = PingController(driver.ping, interval=0.05, timeout=1)
            ping.add_listener(pc.on_device_change)
            await ping.ping_once()
            driver.set_faults(unreachable=True)
            await ping.ping_once()

            def device_cond() -> dict[str, Any] | None:
                for c in (e.pod("web") or {}).get("status", {}).get("conditions") or []:
                    if c["type"] == "DeviceReachable":
                        return dict(c)
                return None

            await until(lambda: device_cond() is not None, 5)
            cond = device_cond()
            assert cond is not None and cond["status"] == "False" and cond["reason"] == "DeviceUnreachable"
            assert "unreachable" in cond["message"]
            assert e.phase("web") == "Running"
            driver.set_faults(unreachable=False)
            await ping.ping_once()
            await until(lambda: device_cond() is None, 5)
            assert e.phase("web") == "Running"
            assert pc.syncer.calls["create"] == 1 and pc.syncer.calls["delete"] == 0


async def test_cleanup_skipped_while_device_down_runs_after_recovery(tmp_path: Path) -> None:
    async with env(tmp_path) as e:
        async with e.controller() as (pc, driver):
            orphan = api_pod("orphan")
            orphan["metadata"]["uid"] = "u-orphan"
            await driver.create_pod(orphan)
        update_faults(str(tmp_path / "fake.json"), unreachable=True)
        async with e.controller() as (pc, driver):
            assert pc.dangling_deleted == []
            ping = PingController(driver.ping, interval=0.05, timeout=1)
            ping.add_listener(pc.on_device_change)
            await ping.ping_once()
            assert not ping.latest.device_ok  # type: ignore[union-attr]
            driver.set_faults(unreachable=False)
            await ping.ping_once()
            await until(lambda: pc.dangling_deleted == ["default/orphan"], 5)
            assert await driver.list_pods() == []


async def test_pod_removed_during_outage_is_deleted_from_device_after_recovery(tmp_path: Path) -> None:
    async with env(tmp_path) as e:
        e.api.add("pods", api_pod("web"))
        async with e.controller() as (pc, driver):
            await until(lambda: e.phase("web") == "Running", 10)
            ping = PingController(driver.ping, interval=0.05, timeout=1)
            ping.add_listener(pc.on_device_change)
            await ping.ping_once()
            driver.set_faults(unreachable=True)
            await ping.ping_once()
            e.api.remove("pods", "default", "web")  # force-deleted by a user while the device is away
            await until(lambda: "default/web" in pc.syncer.missing_pending, 5)
            driver.set_faults(unreachable=False)
            await ping.ping_once()
            await until(lambda: not pc.syncer.missing_pending, 5)
            assert await driver.list_pods() == []


async def test_polling_fallback_for_drivers_without_notifier(tmp_path: Path) -> None:
    from tests.daemon.fakes import SmallDriver

    async with env(tmp_path) as e:
        e.api.add("pods", api_pod("web"))
        client = KubeClient(KubeConfig(server=e.url))
        driver = SmallDriver(notify=False)
        pc = PodController(client, driver, RunOptions(node_name="n1", status_poll_seconds=0.05))
        await pc.start()
        try:
            await until(lambda: "default/web" in driver.pods, 5)
            assert pc.poller is not None
            driver.pods["default/web"]["status"] = {"phase": "Running", "podIP": "10.1.1.1"}
            await until(lambda: e.phase("web") == "Running", 5)
            assert e.pod("web")["status"]["podIP"] == "10.1.1.1"  # type: ignore[index]
            writes = pc.status.writes
            sweeps = pc.poller.sweeps
            await until(lambda: pc.poller is not None and pc.poller.sweeps > sweeps + 3, 5)
            assert pc.status.writes == writes  # unchanged status: no further writes
        finally:
            await pc.stop()
            await client.close()


async def test_provider_initiated_deletion_deletes_api_pod(tmp_path: Path) -> None:
    async with env(tmp_path) as e:
        e.api.add("pods", api_pod("web"))
        async with e.controller() as (pc, driver):
            await until(lambda: e.phase("web") == "Running", 10)
            evicted = await driver.get_pod("default", "web")
            evicted["metadata"]["deletionTimestamp"] = "2000-01-01T00:00:00Z"
            evicted["status"] = e.pod("web")["status"]  # type: ignore[index]
            pc._on_driver_pod(evicted)
            await until(lambda: e.pod("web") is None, 5)
            deletes = [r for r in e.api.calls("DELETE", "pods")]
            assert deletes and deletes[0].body["gracePeriodSeconds"] == 0
