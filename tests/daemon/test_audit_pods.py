"""Audit of the pod side against vk-library.md section 9 (behaviours 14-43, 60): gaps found in review.

PodController in-process with the small in-memory API of tests/kube and the in-test SmallDriver."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from cvk.kube.client import KubeClient
from cvk.kube.config import KubeConfig
from cvk.node.ping import PingController
from cvk.options import RunOptions
from cvk.pod.controller import PodController
from tests.daemon.fakes import SmallDriver, until
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
async def running(driver: SmallDriver) -> AsyncIterator[tuple[FakeApi, PodController]]:
    api = FakeApi()
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
