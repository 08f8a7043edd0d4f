"""Node side: the desired Node, the status patch, the ping, the lease, the controller."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from cvk.config.spec import DeviceSpec, DriverName, Taint
from cvk.driver.base import NodeResources
from cvk.errors import DeviceAuthError, DeviceUnreachable
from cvk.kube import paths
from cvk.kube.errors import ApiUnavailable
from cvk.node import objects
from cvk.node.controller import NodeController, NodePingFailed
from cvk.node.lease import MAX_UPDATE_RETRIES, LeaseController
from cvk.node.patch import status_patch
from cvk.node.ping import PingController
from cvk.node.taint import OUTAGE_TAINT_KEY, with_outage_taint
from cvk.options import RunOptions
from tests.daemon.fakes import FakeClient, SmallDriver, _strategic, until

NOW = "2026-11-21T08:00:00Z"


def spec(**kw: Any) -> DeviceSpec:
    return DeviceSpec(driver=DriverName.FAKE, address="192.0.2.1", username="admin", **kw)


# ---------------------------------------------------------------------------- objects
def test_labels_taints_and_capacity() -> None:
    s = spec(
        labels={"site": "lab", "kubernetes.io/role": "edge"},
        region="eu",
        zone="eu-1",
        max_pods=4,
        taints=[Taint(key="dedicated", effect="NoExecute", value="iox")],
    )
    res = NodeResources(
        capacity={"cpu": "8", "memory": "16Gi"},
        allocatable={"cpu": "7", "memory": "15Gi"},
        node_info={"architecture": "x86_64", "osImage": "IOS-XE 17.15"},
        labels={"cisco.com/model": "C8000V"},
    )
    labels = objects.node_labels(s, "n1", res)
    assert labels["type"] == "virtual-kubelet"
    assert labels["kubernetes.io/hostname"] == "n1"
    assert labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] == "amd64"
    assert labels["topology.kubernetes.io/region"] == "eu"
    assert labels["topology.kubernetes.io/zone"] == "eu-1"
    assert labels["cisco.com/model"] == "C8000V"
    assert labels["site"] == "lab"
    assert labels["kubernetes.io/role"] == "edge"  # spec.labels win
    taints = objects.node_taints(s)
    assert {"key": "virtual-kubelet.io/provider", "value": "cisco", "effect": "NoSchedule"} in taints
    assert {"key": "dedicated", "value": "iox", "effect": "NoExecute"} in taints
    cap, alloc = objects.node_capacity(s, res)
    assert cap == {"cpu": "8", "memory": "16Gi", "pods": "4"}
    assert alloc == {"cpu": "7", "memory": "15Gi", "pods": "4"}
    assert objects.node_capacity(s, None) == ({"pods": "4"}, {"pods": "4"})
    info = objects.node_info(res)
    assert info["osImage"] == "IOS-XE 17.15" and info["architecture"] == "amd64"
    assert info["kubeletVersion"].startswith("v1.")


def test_status_addresses_and_daemon_endpoint() -> None:
    conds = objects.node_conditions(device_ok=True, device_reason="DeviceOK", device_message="ok", now=NOW)
    st = objects.node_status(
        spec(), node_name="n1", resources=None, node_ip="10.0.0.5", kubelet_port=4321, conditions=conds
    )
    assert st["addresses"] == [{"type": "InternalIP", "address": "10.0.0.5"}, {"type": "Hostname", "address": "n1"}]
    assert st["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 4321}}


def test_conditions_device_down_keeps_ready_true_and_transition_times() -> None:
    up = objects.node_conditions(device_ok=True, device_reason="DeviceOK", device_message="ok", now=NOW)
    later = "2026-11-21T08:05:00Z"
    down = objects.node_conditions(
        device_ok=False, device_reason="DeviceUnreachable", device_message="refused", now=later, previous=up
    )
    by = {c["type"]: c for c in down}
    assert by["Ready"]["status"] == "True"
    assert by["Ready"]["lastTransitionTime"] == NOW  # unchanged status keeps its transition time
    assert by["Ready"]["lastHeartbeatTime"] == later
    assert by["DeviceReachable"]["status"] == "False"
    assert by["DeviceReachable"]["reason"] == "DeviceUnreachable"
    assert by["DeviceReachable"]["message"] == "refused"
    assert by["DeviceReachable"]["lastTransitionTime"] == later
    pending = objects.node_conditions(device_ok=None, device_reason="", device_message="", now=NOW)
    assert {c["type"]: c for c in pending}["DeviceReachable"]["status"] == "Unknown"


# ---------------------------------------------------------------------------- patch
def _server_after(body: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(server))
    _strategic(out, body)
    return out


def test_patch_preserves_foreign_and_removes_dropped() -> None:
    server = {
        "metadata": {"name": "n1", "uid": "u", "labels": {"theirs": "x"}, "annotations": {"before": "1"}},
        "status": {"conditions": [{"type": "TheirCondition", "status": "True"}]},
    }
    first = status_patch(
        server,
        labels={"a": "1", "gone-later": "1"},
        annotations={"ann": "1"},
        status={
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "Old", "status": "True"}],
            "capacity": {"cpu": "8", "storage": "1"},
        },
    )
    server = _server_after(first, server)
    assert objects.LAST_APPLIED_META in server["metadata"]["annotations"]
    assert objects.LAST_APPLIED_STATUS in server["metadata"]["annotations"]
    second = status_patch(
        server,
        labels={"a": "2"},
        annotations={"ann": "2"},
        status={"conditions": [{"type": "Ready", "status": "True"}], "capacity": {"cpu": "8"}},
    )
    assert second["metadata"]["labels"]["gone-later"] is None
    assert {"type": "Old", "$patch": "delete"} in second["status"]["conditions"]
    assert second["status"]["capacity"]["storage"] is None
    server = _server_after(second, server)
    assert server["metadata"]["labels"] == {"theirs": "x", "a": "2"}
    assert server["metadata"]["annotations"]["before"] == "1"
    assert {c["type"] for c in server["status"]["conditions"]} == {"TheirCondition", "Ready"}
    assert server["status"]["capacity"] == {"cpu": "8"}
    assert "spec" not in second


def test_patch_without_last_applied_touches_only_desired() -> None:
    server = {"metadata": {"name": "n1", "labels": {"x": "1"}}, "status": {}}
    body = status_patch(server, labels={"a": "1"}, annotations={}, status={})
    assert body["metadata"]["labels"] == {"a": "1"}


# ---------------------------------------------------------------------------- ping
async def test_ping_single_inflight_and_timeout() -> None:
    gate = asyncio.Event()
    started = 0

    async def slow() -> None:
        nonlocal started
        started += 1
        await gate.wait()

    pc = PingController(slow, interval=0.01, timeout=0.05)
    r1 = await pc.ping_once()
    r2 = await pc.ping_once()
    assert started == 1  # the stuck ping is joined, never duplicated
    assert isinstance(r1.error, DeviceUnreachable) and isinstance(r2.error, DeviceUnreachable)
    assert r1.healthy and not r1.device_ok
    gate.set()
    r3 = await pc.ping_once()
    assert r3.device_ok and started == 1


async def test_ping_classification_and_listener() -> None:
    err: BaseException | None = DeviceAuthError("401 Unauthorized")
    seen: list[str] = []

    async def ping() -> None:
        if err is not None:
            raise err

    pc = PingController(ping, interval=0.01, timeout=1)
    pc.add_listener(lambda r: seen.append(r.reason))
    r = await pc.ping_once()
    assert r.reason == "DeviceAuthFailed" and r.healthy
    await pc.ping_once()
    assert seen == ["DeviceAuthFailed"]  # only changes are announced
    err = None
    assert (await pc.ping_once()).reason == "DeviceOK"
    err = RuntimeError("driver bug")
    r = await pc.ping_once()
    assert not r.healthy
    assert seen == ["DeviceAuthFailed", "DeviceOK", "DeviceError"]


# ---------------------------------------------------------------------------- lease
async def test_lease_create_then_renew_with_owner_reference() -> None:
    client = FakeClient()
    lc = LeaseController(client, "n1", node_uid=lambda: "node-uid", duration_seconds=40, renew_seconds=10)  # type: ignore[arg-type]
    assert await lc.renew_once()
    path = paths.leases("kube-node-lease", "n1")
    lease = client.objects[path]
    assert lease["spec"]["holderIdentity"] == "n1"
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "node-uid"}
    ]
    first = lease["spec"]["renewTime"]
    await asyncio.sleep(0.001)
    client.calls.clear()
    assert await lc.renew_once()
    assert [c[0] for c in client.calls] == ["PUT"]  # optimistic PUT, no GET
    assert client.objects[path]["spec"]["renewTime"] > first


async def test_lease_conflict_gets_and_retries_at_most_five_times() -> None:
    client = FakeClient()
    path = paths.leases("kube-node-lease", "n1")
    client.put_object(path, {"metadata": {"name": "n1", "namespace": "kube-node-lease"}, "spec": {}})
    lc = LeaseController(client, "n1", node_uid=lambda: "u", renew_seconds=10)  # type: ignore[arg-type]
    client.conflicts[path] = 2
    assert await lc.renew_once()
    assert len(client.verbs("PUT")) == 3
    client.calls.clear()
    client.conflicts[path] = 100
    lc2 = LeaseController(client, "n1", node_uid=lambda: "u", renew_seconds=10)  # type: ignore[arg-type]
    assert not await lc2.renew_once()
    assert len(client.verbs("PUT")) == MAX_UPDATE_RETRIES
    client.calls.clear()
    lc3 = LeaseController(client, "n1", node_uid=lambda: "u", renew_seconds=10, may_renew=lambda: False)  # type: ignore[arg-type]
    assert not await lc3.renew_once()
    assert client.calls == []


# ---------------------------------------------------------------------------- controller
def opts(**kw: Any) -> RunOptions:
    base: dict[str, Any] = {
        "node_name": "n1",
        "ping_seconds": 0.05,
        "lease_renew_seconds": 0.05,
        "node_status_seconds": 0.2,
    }
    base.update(kw)
    return RunOptions(**base)


async def test_controller_creates_node_then_patches_and_survives_outage() -> None:
    client = FakeClient()
    driver = SmallDriver()
    nc = NodeController(client, driver, spec(), opts(), node_ip="127.0.0.1", kubelet_port=10250)  # type: ignore[arg-type]
    await nc.start()
    try:
        node = client.objects[paths.nodes("n1")]
        assert client.verbs("POST", "/nodes")
        assert node["spec"]["taints"][0]["key"] == "virtual-kubelet.io/provider"
        assert node["status"]["capacity"]["cpu"] == "8"
        lease_path = paths.leases("kube-node-lease", "n1")
        await until(lambda: lease_path in client.objects)
        assert client.objects[lease_path]["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]

        def cond(t: str) -> dict[str, Any]:
            return {c["type"]: c for c in client.objects[paths.nodes("n1")]["status"]["conditions"]}[t]

        assert cond("DeviceReachable")["status"] == "True"
        driver.down = True
        await until(lambda: cond("DeviceReachable")["status"] == "False")
        assert cond("DeviceReachable")["reason"] == "DeviceUnreachable"
        assert "connection refused" in cond("DeviceReachable")["message"]
        assert cond("Ready")["status"] == "True"
        renewals = nc.lease.renewals
        await until(lambda: nc.lease.renewals > renewals + 1)  # the lease keeps renewing
        assert client.objects[paths.nodes("n1")]["status"]["capacity"]["cpu"] == "8"  # last known kept

        def taint_keys() -> list[str]:
            return [t["key"] for t in client.objects[paths.nodes("n1")]["spec"]["taints"]]

        await until(lambda: OUTAGE_TAINT_KEY in taint_keys())
        assert "virtual-kubelet.io/provider" in taint_keys()
        driver.down = False
        await until(lambda: cond("DeviceReachable")["status"] == "True")
        await until(lambda: OUTAGE_TAINT_KEY not in taint_keys())
        assert "virtual-kubelet.io/provider" in taint_keys()
    finally:
        await nc.stop()
    assert paths.nodes("n1") in client.objects and not client.verbs("DELETE")


async def test_controller_patches_existing_node_and_never_touches_spec() -> None:
    client = FakeClient()
    client.put_object(
        paths.nodes("n1"),
        {
            "metadata": {"name": "n1"},
            "spec": {"taints": [{"key": "mine", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Foreign", "status": "True"}]},
        },
    )
    nc = NodeController(client, SmallDriver(), spec(), opts(), node_ip="127.0.0.1", kubelet_port=1)  # type: ignore[arg-type]
    await nc.start()
    await nc.stop()
    assert not client.verbs("POST", "/nodes")
    node = client.objects[paths.nodes("n1")]
    assert node["spec"] == {"taints": [{"key": "mine", "effect": "NoSchedule"}]}
    types = {c["type"] for c in node["status"]["conditions"]}
    assert {"Foreign", "Ready", "DeviceReachable"} <= types


async def test_controller_registers_degraded_when_device_down_but_fails_on_driver_bug() -> None:
    client = FakeClient()
    driver = SmallDriver()
    driver.down = True
    nc = NodeController(client, driver, spec(max_pods=3), opts(), node_ip="127.0.0.1", kubelet_port=1)  # type: ignore[arg-type]
    await nc.start()
    await nc.stop()
    node = client.objects[paths.nodes("n1")]
    assert node["status"]["capacity"] == {"pods": "3"}
    assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["DeviceReachable"] == "False"

    class Buggy(SmallDriver):
        async def ping(self) -> None:
            raise RuntimeError("boom")

    nc2 = NodeController(FakeClient(), Buggy(), spec(), opts(), node_ip="127.0.0.1", kubelet_port=1)  # type: ignore[arg-type]
    with pytest.raises(NodePingFailed, match="node ping failed"):
        await nc2.start()


async def test_controller_recreates_deleted_node() -> None:
    client = FakeClient()
    nc = NodeController(client, SmallDriver(), spec(), opts(), node_ip="127.0.0.1", kubelet_port=1)  # type: ignore[arg-type]
    await nc.start()
    try:
        del client.objects[paths.nodes("n1")]
        nc.trigger_update()
        await until(lambda: paths.nodes("n1") in client.objects)
    finally:
        await nc.stop()


async def test_registration_retries_api_failures() -> None:
    client = FakeClient()
    client.fail_get[paths.nodes("n1")] = ApiUnavailable("connection refused")
    nc = NodeController(client, SmallDriver(), spec(), opts(), node_ip="127.0.0.1", kubelet_port=1)  # type: ignore[arg-type]
    start = asyncio.create_task(nc.start())
    await until(lambda: len(client.verbs("GET", "/nodes/n1")) >= 2)
    assert not start.done()
    del client.fail_get[paths.nodes("n1")]
    await asyncio.wait_for(start, 5)
    await nc.stop()
    assert paths.nodes("n1") in client.objects


def test_outage_taint_list() -> None:
    theirs = [{"key": "x", "effect": "NoExecute"}]
    added = with_outage_taint(theirs, True)
    assert added is not None and added[0] == theirs[0]
    assert added[1]["key"] == OUTAGE_TAINT_KEY and added[1]["effect"] == "NoSchedule" and added[1]["timeAdded"]
    assert with_outage_taint(added, True) is None
    assert with_outage_taint(added, False) == theirs
    assert with_outage_taint(theirs, False) is None
