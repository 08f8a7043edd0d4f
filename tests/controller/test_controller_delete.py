"""Deleting a CiscoDevice: pods on its node go (gracefully), then cisco-vk, the Node and its Lease,
then the finalizer; a bounded wait that is reported when pods do not go."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from cvk.kube import paths
from cvk.kube.errors import NotFoundError

from .harness import NS, Cluster, controller_env, eventually, fake_device


def _app_pod(name: str, node: str, ns: str = NS) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox"}],
                     "terminationGracePeriodSeconds": 30}}


async def _ready_device(cluster: Cluster, name: str, host: str | None = None) -> None:
    await cluster.create_device(fake_device(name))
    await cluster.make_vk_pod_ready(name, host=host)
    await cluster.put_node(name)
    await cluster.put_lease(name)
    await eventually(lambda: _phase(cluster, name, "Ready"), what="Ready")


async def _phase(cluster: Cluster, name: str, phase: str) -> bool:
    return await cluster.phase(name) == phase


async def _kubelet(cluster: Cluster, node: str, seen: list[dict[str, Any]]) -> None:
    """Play cisco-vk: finish the graceful deletion of pods bound to the node (apps removed)."""
    while True:
        pods = await cluster.client.list(paths.pods(), field_selector=f"spec.nodeName={node}")
        for pod in pods.get("items", []):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                seen.append(pod)
                with contextlib.suppress(NotFoundError):
                    await cluster.client.delete(paths.pods(meta["namespace"], meta["name"]), grace_period_seconds=0)
        await asyncio.sleep(0.05)


async def test_delete_removes_pods_then_cisco_vk_node_and_lease(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        await _ready_device(cluster, "sw1", host="host-1")
        await cluster.client.create(paths.pods(NS), _app_pod("app1", "sw1"))
        await cluster.client.create(paths.pods("default"), _app_pod("app2", "sw1", ns="default"))

        await cluster.client.delete(f"/apis/cisco.vk/v1alpha1/namespaces/{NS}/ciscodevices/sw1")

        # Pods are deleted gracefully and the controller waits for them: the Node stays meanwhile.
        async def terminating() -> bool:
            pods = await cluster.client.list(paths.pods(), field_selector="spec.nodeName=sw1")
            return len(pods["items"]) == 2 and all(p["metadata"].get("deletionTimestamp") for p in pods["items"])
        await eventually(terminating, what="the node's pods terminating")
        assert all(int(p["metadata"]["deletionGracePeriodSeconds"]) > 0 for p in
                   (await cluster.client.list(paths.pods(), field_selector="spec.nodeName=sw1"))["items"])
        assert await _phase(cluster, "sw1", "Deleting")
        assert await cluster.get(paths.nodes("sw1")) is not None
        assert await cluster.deployment("sw1") is not None

        seen: list[dict[str, Any]] = []
        host_seen: list[dict[str, Any]] = []
        kubelet = asyncio.create_task(_kubelet(cluster, "sw1", seen))
        host_kubelet: asyncio.Task[None] | None = None
        try:
            # Then cisco-vk is stopped; the Node stays until its pod is really gone.
            async def vk_terminating() -> bool:
                pods = (await cluster.client.list(paths.pods(NS), label_selector="app.kubernetes.io/instance=sw1"))
                return bool(pods["items"]) and all(p["metadata"].get("deletionTimestamp") for p in pods["items"])
            await eventually(vk_terminating, what="the cisco-vk pod terminating")
            assert {p["metadata"]["name"] for p in seen} == {"app1", "app2"}  # apps went first
            assert await cluster.get(paths.nodes("sw1")) is not None
            assert await cluster.device("sw1") is not None
            host_kubelet = asyncio.create_task(_kubelet(cluster, "host-1", host_seen))
            await eventually(lambda: _gone(cluster, "sw1"), within=20, what="the device to be removed")
        finally:
            for task in (kubelet, host_kubelet):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        assert {p["metadata"]["name"] for p in seen} == {"app1", "app2"}
        assert await cluster.get(paths.nodes("sw1")) is None
        assert await cluster.get(paths.leases("kube-node-lease", "sw1")) is None
        assert await cluster.vk_pods("sw1") == []
        await eventually(lambda: _no_deployment(cluster, "sw1"), what="the Deployment to go")
        reasons = {e["reason"] for e in await cluster.events(NS, "sw1")}
        assert "Removed" in reasons and "CleanupTimeout" not in reasons


async def _no_deployment(cluster: Cluster, name: str) -> bool:
    return await cluster.deployment(name) is None


async def _gone(cluster: Cluster, name: str) -> bool:
    return await cluster.device(name) is None


async def test_cleanup_timeout_is_reported_and_cleanup_completes(kubeapi: Any) -> None:
    async with controller_env(kubeapi, cleanup_timeout_seconds=1.0) as (cluster, _running):
        await _ready_device(cluster, "sw1")
        await cluster.client.create(paths.pods(NS), _app_pod("stuck", "sw1"))
        await cluster.client.delete(f"/apis/cisco.vk/v1alpha1/namespaces/{NS}/ciscodevices/sw1")
        # Nobody finishes the pod's graceful deletion: the controller gives up after the timeout.
        await eventually(lambda: _gone(cluster, "sw1"), within=20, what="the device to be removed")
        events = [e for e in await cluster.events(NS, "sw1") if e["reason"] == "CleanupTimeout"]
        assert events and events[0]["type"] == "Warning"
        assert f"{NS}/stuck" in events[0]["message"]
        assert await cluster.get(paths.pods(NS, "stuck")) is None
        assert await cluster.get(paths.nodes("sw1")) is None
        assert await cluster.get(paths.leases("kube-node-lease", "sw1")) is None
        assert await cluster.vk_pods("sw1") == []
        await eventually(lambda: _no_deployment(cluster, "sw1"), what="the Deployment to go")
