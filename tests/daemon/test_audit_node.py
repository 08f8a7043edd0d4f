"""Audit of the node side against vk-library.md section 9 (behaviours 1-13): gaps found in review."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from cvk.config.spec import DeviceSpec, DriverName
from cvk.driver.base import NodeResources
from cvk.kube import paths
from cvk.node import objects
from cvk.node.controller import NodeController
from cvk.node.lease import MAX_UPDATE_RETRIES, LeaseController
from cvk.node.patch import status_patch
from cvk.options import RunOptions
from tests.daemon.fakes import FakeClient, SmallDriver, _strategic, until


async def test_lease_conflicts_with_a_cached_lease_stay_within_five_puts() -> None:
    """Behaviour 13: at most 5 PUT attempts per sync, the optimistic PUT of the cached lease included."""
    client = FakeClient()
    path = paths.leases("kube-node-lease", "n1")
    lc = LeaseController(client, "n1", node_uid=lambda: "u", renew_seconds=10)  # type: ignore[arg-type]
    assert await lc.renew_once()  # created: the lease is now cached
    assert lc.lease is not None
    client.conflicts[path] = 0
    assert await lc.renew_once()  # cache dropped after the failure: GET, then PUT
    client.calls.clear()
    client.conflicts[path] = 100
    assert not await lc.renew_once()
    assert len(client.verbs("PUT")) == MAX_UPDATE_RETRIES
    assert client.verbs("GET")  # a conflict reads the lease again
    client.conflicts[path] = 0
    assert await lc.renew_once()  # cache dropped after the failure: GET, then PUT
    client.calls.clear()
    client.conflicts[path] = 1  # one conflict on the optimistic PUT: GET, then a PUT that works
    assert await lc.renew_once()
    assert [c[0] for c in client.calls] == ["PUT", "GET", "PUT"]


class Switchable(SmallDriver):
    """Ping raises an unexpected error (a driver bug) while ``buggy``; pushes node resources."""

    def __init__(self) -> None:
        super().__init__()
        self.buggy = False
        self.cpu = "8"
        self.node_cb: Callable[[NodeResources], None] | None = None

    async def ping(self) -> None:
        if self.buggy:
            raise RuntimeError("driver bug")
        await super().ping()

    async def node_resources(self) -> NodeResources:
        return NodeResources(capacity={"cpu": self.cpu, "memory": "16Gi"}, allocatable={})

    def notify_node_status(self, callback: Callable[[NodeResources], None]) -> None:
        self.node_cb = callback


def controller(client: FakeClient, driver: SmallDriver, **kw: Any) -> NodeController:
    base: dict[str, Any] = {"node_name": "n1", "ping_seconds": 0.02, "lease_renew_seconds": 0.02}
    base.update(kw)
    return NodeController(client, driver, DeviceSpec(driver=DriverName.FAKE, address="192.0.2.1", username="a"),  # type: ignore[arg-type]
                          RunOptions(**base), node_ip="127.0.0.1", kubelet_port=10250)


def writes(client: FakeClient) -> int:
    return len(client.verbs("PATCH", "/nodes/")) + len(client.verbs("PUT", "/leases/"))


async def test_unhealthy_ping_stops_lease_and_status_writes_until_it_is_clean_again() -> None:
    """Behaviour 5 (for failures that are not about the device, see cvk.node.ping)."""
    client = FakeClient()
    driver = Switchable()
    nc = controller(client, driver, node_status_seconds=0.05)
    await nc.start()
    try:
        await until(lambda: nc.lease.renewals >= 2 and nc.status_writes >= 2)
        driver.buggy = True
        await until(lambda: nc.ping.latest is not None and not nc.ping.latest.healthy)
        await asyncio.sleep(0)  # let a write already past its health check finish
        before, calls = writes(client), nc.ping.calls
        await until(lambda: nc.ping.calls >= calls + 5)  # several lease, status and ping rounds
        assert writes(client) == before
        driver.buggy = False
        await until(lambda: len(client.verbs("PATCH", "/nodes/")) + len(client.verbs("PUT", "/leases/")) > before)
        renewals, status_writes = nc.lease.renewals, nc.status_writes
        await until(lambda: nc.lease.renewals > renewals and nc.status_writes > status_writes)
    finally:
        await nc.stop()


async def test_node_status_notification_patches_at_once_and_replaces_the_resources() -> None:
    """Behaviour 7: a driver notification is written without waiting for the status interval."""
    client = FakeClient()
    driver = Switchable()
    nc = controller(client, driver, node_status_seconds=3600)
    await nc.start()
    try:
        node = paths.nodes("n1")
        assert client.objects[node]["status"]["capacity"]["cpu"] == "8"
        assert driver.node_cb is not None
        driver.cpu = "4"
        driver.node_cb(NodeResources(capacity={"cpu": "4", "memory": "16Gi"}, allocatable={}))
        await until(lambda: client.objects[node]["status"]["capacity"]["cpu"] == "4", 2)
    finally:
        await nc.stop()


def test_patch_removes_a_dropped_annotation_and_records_the_desired_state() -> None:
    """Behaviours 8 and 9: an annotation we set and no longer want is removed, one set by another
    client stays; the two last-applied annotations hold exactly the desired meta and status."""
    server: dict[str, Any] = {"metadata": {"name": "n1", "uid": "u", "annotations": {"theirs": "1"}}, "status": {}}
    status = {"conditions": [{"type": "Ready", "status": "True"}]}
    first = status_patch(server, labels={"l": "1"}, annotations={"ours": "1", "also": "1"}, status=status)
    _strategic(server, first)
    second = status_patch(server, labels={"l": "1"}, annotations={"ours": "2"}, status=status)
    _strategic(server, second)
    ann = server["metadata"]["annotations"]
    assert {k: v for k, v in ann.items() if not k.startswith("virtual-kubelet.io/")} == {"theirs": "1", "ours": "2"}
    meta = json.loads(ann[objects.LAST_APPLIED_META])
    assert (meta["labels"], meta["annotations"], meta["name"], meta["uid"]) == ({"l": "1"}, {"ours": "2"}, "n1", "u")
    assert json.loads(ann[objects.LAST_APPLIED_STATUS]) == status
