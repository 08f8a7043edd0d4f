"""Invalid CiscoDevices end as Ready=False/Reconciled=False with a reason and a message naming the
field, plus a Warning Event, and never get a Deployment; fixing the cause recovers them."""

from __future__ import annotations

from typing import Any

import pytest

from controller.reconcile import device_path
from controller.render import RenderOptions
from cvk.kube import paths

from .harness import NS, SECRET, Cluster, condition, controller_env, eventually, fake_device


async def _reported(cluster: Cluster, name: str, reason: str, ns: str = NS) -> dict[str, Any]:
    async def seen() -> Any:
        d = await cluster.device(name, ns)
        return d if condition(d, "Reconciled").get("reason") == reason else None
    device = await eventually(seen, what=f"Reconciled reason {reason}")
    assert device["status"]["phase"] == "Error"
    assert condition(device, "Reconciled")["status"] == "False"
    assert condition(device, "Ready")["status"] == "False"
    assert condition(device, "Ready")["reason"] == reason

    async def warned() -> Any:
        events = await cluster.events(ns, name)
        return [e for e in events if e["type"] == "Warning" and e["reason"] == reason]
    events = await eventually(warned, what=f"a Warning event {reason}")
    assert events[0]["message"] == condition(device, "Reconciled")["message"]
    assert await cluster.deployment(name, ns) is None
    return device


@pytest.mark.parametrize(("spec", "reason", "field"), [
    ({"labels": {"bad key!": "x"}}, "InvalidSpec", "spec.labels.bad key!"),
    ({"credentialSecretRef": {"name": "nope"}}, "SecretNotFound", "spec.credentialSecretRef.name"),
    ({"credentialSecretRef": {"name": SECRET, "key": "other"}}, "SecretKeyMissing",
     "spec.credentialSecretRef.key"),
])
async def test_invalid_spec_is_reported_not_deployed(kubeapi: Any, spec: dict[str, Any], reason: str,
                                                     field: str) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        await cluster.create_device(fake_device("bad", **spec))
        device = await _reported(cluster, "bad", reason)
        assert condition(device, "Reconciled")["message"].startswith(f"{field}:")


async def test_missing_secret_recovers_when_it_is_created(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        await cluster.create_device(fake_device("late", credentialSecretRef={"name": "late-creds"}))
        await _reported(cluster, "late", "SecretNotFound")
        await cluster.secret(name="late-creds")
        await eventually(lambda: cluster.deployment("late"), what="the Deployment once the Secret exists")

        async def applied() -> Any:
            return condition(await cluster.device("late"), "Reconciled").get("status") == "True"
        await eventually(applied, what="Reconciled=True")


async def test_missing_service_account_is_reported_with_the_flag_to_fix(kubeapi: Any) -> None:
    async with controller_env(kubeapi, recheck_seconds=0.5) as (cluster, _running):
        await cluster.namespace("no-sa", service_account=False)
        await cluster.secret(ns="no-sa")
        await cluster.create_device(fake_device("sw9", ns="no-sa"))
        device = await _reported(cluster, "sw9", "ServiceAccountMissing", ns="no-sa")
        message = condition(device, "Reconciled")["message"]
        assert "cisco-vk" in message and "no-sa" in message and "--vk-service-account" in message
        # Creating it recovers the device (the controller looks again by itself).
        await cluster.namespace("no-sa", service_account=True)
        await eventually(lambda: cluster.deployment("sw9", "no-sa"), what="the Deployment after the SA exists")


async def test_node_name_conflict_across_namespaces(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        await cluster.namespace("other")
        await cluster.secret(ns="other")
        await cluster.create_device(fake_device("first", nodeName="edge-1"))
        await eventually(lambda: cluster.deployment("first"), what="the first device's Deployment")
        await cluster.create_device(fake_device("second", ns="other", nodeName="edge-1"))
        device = await _reported(cluster, "second", "NodeNameConflict", ns="other")
        message = condition(device, "Reconciled")["message"]
        assert message.startswith("spec.nodeName:") and f"{NS}/first" in message
        assert await cluster.deployment("first") is not None

        # The name frees up when the first device goes: the second one takes it.
        await cluster.client.delete(f"/apis/cisco.vk/v1alpha1/namespaces/{NS}/ciscodevices/first")
        await eventually(lambda: cluster.deployment("second", "other"), within=20,
                         what="the second device's Deployment once the name is free")


async def test_a_node_that_cisco_vk_does_not_run_is_never_taken_over(kubeapi: Any) -> None:
    async with controller_env(kubeapi, recheck_seconds=0.5) as (cluster, _running):
        await cluster.client.create(paths.nodes(), {"apiVersion": "v1", "kind": "Node",
                                                    "metadata": {"name": "worker-1"}, "spec": {}})
        await cluster.client.create(paths.pods("default"), {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "worker-1", "containers": [{"name": "c", "image": "nginx"}]}})
        await cluster.create_device(fake_device("worker-1"))
        device = await _reported(cluster, "worker-1", "NodeNameConflict")
        assert condition(device, "Reconciled")["message"].startswith("spec.nodeName: Node worker-1 already exists")
        # Deleting the device leaves the Node and its pods alone.
        await cluster.client.delete(device_path(NS, "worker-1"))
        await eventually(lambda: _absent(cluster, device_path(NS, "worker-1")), what="the device to go")
        assert await cluster.get(paths.nodes("worker-1")) is not None
        pod = await cluster.get(paths.pods("default", "web"))
        assert pod is not None and not pod["metadata"].get("deletionTimestamp")


async def test_deleting_the_losing_device_of_a_name_conflict_leaves_the_winner_alone(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        await cluster.namespace("other")
        await cluster.secret(ns="other")
        await cluster.create_device(fake_device("first", nodeName="edge-1"))
        await cluster.make_vk_pod_ready("first")
        await cluster.put_node("edge-1")
        await cluster.client.create(paths.pods(NS), {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": NS},
            "spec": {"nodeName": "edge-1", "containers": [{"name": "c", "image": "busybox"}]}})
        await cluster.create_device(fake_device("second", ns="other", nodeName="edge-1"))
        await _reported(cluster, "second", "NodeNameConflict", ns="other")
        await cluster.client.delete(device_path("other", "second"))
        await eventually(lambda: _absent(cluster, device_path("other", "second")), what="the loser to go")
        assert await cluster.get(paths.nodes("edge-1")) is not None
        pod = await cluster.get(paths.pods(NS, "app"))
        assert pod is not None and not pod["metadata"].get("deletionTimestamp")
        assert await cluster.deployment("first") is not None


async def test_an_object_of_someone_else_in_the_way_is_reported_not_overwritten(kubeapi: Any) -> None:
    async with controller_env(kubeapi, recheck_seconds=0.5) as (cluster, _running):
        await cluster.client.create(paths.configmaps(NS), {"apiVersion": "v1", "kind": "ConfigMap",
                                                           "metadata": {"name": "sw5-config"},
                                                           "data": {"mine": "yes"}})
        await cluster.create_device(fake_device("sw5"))
        device = await _reported(cluster, "sw5", "ObjectConflict")
        assert condition(device, "Reconciled")["message"].startswith("metadata.name: ConfigMap sw5-config")
        cm = await cluster.get(paths.configmaps(NS, "sw5-config"))
        assert cm is not None and cm["data"] == {"mine": "yes"}
        # Once it is out of the way, the device is served.
        await cluster.client.delete(paths.configmaps(NS, "sw5-config"))
        await eventually(lambda: cluster.deployment("sw5"), what="the Deployment after the conflict is gone")


async def _absent(cluster: Cluster, path: str) -> bool:
    return await cluster.get(path) is None


async def test_a_name_too_long_for_labels_is_reported(kubeapi: Any) -> None:
    name = "sw-" + "x" * 70
    async with controller_env(kubeapi) as (cluster, _running):
        await cluster.create_device(fake_device(name, nodeName="short-node"))
        device = await _reported(cluster, name, "InvalidName")
        assert condition(device, "Reconciled")["message"].startswith("metadata.name:")


async def test_an_object_the_api_server_rejects_is_reported(kubeapi: Any) -> None:
    bad = RenderOptions(image_pull_policy="Sometimes")  # as from a bad --vk-image-pull-policy
    async with controller_env(kubeapi, render=bad) as (cluster, _running):
        await cluster.create_device(fake_device("sw7"))
        device = await _reported(cluster, "sw7", "InvalidObject")
        message = condition(device, "Reconciled")["message"]
        assert "Deployment sw7-vk" in message and "imagePullPolicy" in message
