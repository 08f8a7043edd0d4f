"""The real controller Manager against the API emulator: owned objects, status, rollouts, Events."""

from __future__ import annotations

import base64
import json
from typing import Any

from controller import render
from cvk.kube import paths
from cvk.kube.errors import ConflictError

from .harness import NS, PASSWORD, SECRET, api_writes, condition, controller_env, eventually, fake_device


async def test_device_gets_finalizer_configmap_deployment_and_goes_ready(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        await cluster.create_device(fake_device("sw1"))
        dep = await eventually(lambda: cluster.deployment("sw1"), what="the Deployment")
        device = await cluster.device("sw1")
        assert device is not None
        assert render.FINALIZER in device["metadata"]["finalizers"]
        owner = {"apiVersion": "cisco.vk/v1alpha1", "kind": "CiscoDevice", "name": "sw1",
                 "uid": device["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

        cm = await cluster.get(paths.configmaps(NS, "sw1-config"))
        assert cm is not None and cm["metadata"]["ownerReferences"] == [owner]
        assert PASSWORD not in json.dumps(cm) and "credentialSecretRef" not in cm["data"]["config.yaml"]

        assert dep["metadata"]["ownerReferences"] == [owner]
        assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"
        pod_spec = dep["spec"]["template"]["spec"]
        assert pod_spec["serviceAccountName"] == "cisco-vk"
        env = {e["name"]: e for e in pod_spec["containers"][0]["env"]}
        assert env["CVK_DEVICE_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": SECRET, "key": "password"}}
        assert PASSWORD not in json.dumps(dep)
        secret = await cluster.get(paths.secrets(NS, SECRET))
        assert secret is not None
        annotations = dep["spec"]["template"]["metadata"]["annotations"]
        assert annotations[render.CREDENTIAL_RV_ANNOTATION] == secret["metadata"]["resourceVersion"]
        assert annotations[render.CONFIG_HASH_ANNOTATION]

        async def provisioning() -> Any:
            d = await cluster.device("sw1")
            return d if (d or {}).get("status", {}).get("phase") == "Provisioning" else None
        device = await eventually(provisioning, what="phase Provisioning")
        assert condition(device, "Reconciled")["status"] == "True"
        assert condition(device, "Ready")["reason"] == "CiscoVKNotReady"

        await cluster.make_vk_pod_ready("sw1")
        await cluster.put_node("sw1")

        async def ready() -> Any:
            d = await cluster.device("sw1")
            return d if condition(d, "Ready").get("status") == "True" else None
        device = await eventually(ready, what="Ready=True")
        assert device["status"]["phase"] == "Ready"
        assert device["status"]["nodeName"] == "sw1"
        assert device["status"]["observedGeneration"] == device["metadata"]["generation"]
        assert condition(device, "DeviceReachable")["status"] == "True"
        assert device["status"]["device"] == {"model": "FAKE-8000V", "serialNumber": "FAKE123",
                                              "softwareVersion": "17.15.1"}

        reasons = await eventually(
            lambda: _reasons(cluster, "sw1", {"Created", "PhaseReady"}), what="Created and PhaseReady events")
        assert "Created" in reasons

        # Unreachable device: Error with the node's reason, then back to Ready.
        await cluster.put_node("sw1", reachable=False, message="connect to 192.0.2.10:443 refused")

        async def error() -> Any:
            d = await cluster.device("sw1")
            return d if (d or {}).get("status", {}).get("phase") == "Error" else None
        device = await eventually(error, what="phase Error")
        assert condition(device, "Ready")["status"] == "False"
        assert condition(device, "Ready")["reason"] == "DeviceUnreachable"
        assert "192.0.2.10:443 refused" in condition(device, "Ready")["message"]
        assert condition(device, "DeviceReachable")["status"] == "False"
        await eventually(lambda: _reasons(cluster, "sw1", {"PhaseError"}), what="a PhaseError event")
        await cluster.put_node("sw1")
        await eventually(ready, what="Ready again")
        for event in await cluster.events(NS):
            assert PASSWORD not in json.dumps(event)


async def _reasons(cluster: Any, name: str, want: set[str]) -> set[str] | None:
    reasons = {e["reason"] for e in await cluster.events(NS, name)}
    return reasons if want <= reasons else None


async def _settle(running: Any, cluster: Any) -> None:
    """Wait until the controller's queue is idle (nothing waiting soon, nothing running)."""
    queue = running.manager.queue

    def idle() -> bool:
        return queue.processing == 0 and not any(d < 0.05 for d in queue.waiting().values())
    await eventually(idle, what="an idle work queue")


def _template_annotations(dep: Any) -> dict[str, str]:
    return dict(dep["spec"]["template"]["metadata"]["annotations"])


async def test_spec_change_and_secret_rotation_each_update_the_deployment_once(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, running):
        await cluster.create_device(fake_device("sw1"))
        await cluster.make_vk_pod_ready("sw1")
        await cluster.put_node("sw1")
        await eventually(lambda: _phase_is(cluster, "sw1", "Ready"), what="Ready")
        await _settle(running, cluster)
        dep = await cluster.deployment("sw1")
        first = _template_annotations(dep)
        writes = api_writes(running.client)

        # Unchanged passes write nothing.
        queue = running.manager.queue
        for _ in range(5):
            before = queue.processed
            queue.enqueue(f"{NS}/sw1")
            await eventually(lambda b=before: queue.processed > b, what="a pass")
        await _settle(running, cluster)
        assert api_writes(running.client) == writes

        # Node heartbeats (only the heartbeat times change) cause no pass at all.
        processed = queue.processed
        for second in range(3):
            node = await cluster.put_node("sw1", heartbeat=f"2030-01-01T00:00:0{second}Z")
            rv = node["metadata"]["resourceVersion"]
            await eventually(lambda rv=rv: (running.manager.nodes.get("sw1") or {}).get("metadata", {})
                             .get("resourceVersion") == rv, what="the controller to see the heartbeat")
        await _settle(running, cluster)
        assert queue.processed == processed
        assert api_writes(running.client) == writes

        # A spec change: exactly one Deployment update with a new config hash.
        await cluster.update_device("sw1", lambda d: d["spec"].update(logLevel="debug"))

        async def rolled() -> Any:
            d = await cluster.deployment("sw1")
            ann = _template_annotations(d)
            return d if ann[render.CONFIG_HASH_ANNOTATION] != first[render.CONFIG_HASH_ANNOTATION] else None
        dep = await eventually(rolled, what="a new config hash")
        assert "--log-level" in dep["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "debug" in dep["spec"]["template"]["spec"]["containers"][0]["args"]
        await cluster.make_vk_pod_ready("sw1")
        await eventually(lambda: _phase_is(cluster, "sw1", "Ready"), what="Ready after the rollout")
        await _settle(running, cluster)
        after = api_writes(running.client)
        assert after[("update", "deployments")] == writes.get(("update", "deployments"), 0) + 1
        assert after[("update", "configmaps")] == writes.get(("update", "configmaps"), 0) + 1
        device = await cluster.device("sw1")
        assert device["status"]["observedGeneration"] == device["metadata"]["generation"]

        # Rotating the Secret: one more Deployment update, with the Secret's new resourceVersion.
        second = _template_annotations(await cluster.deployment("sw1"))
        rotated = await cluster.secret(password="n3w-Pa55")

        async def rotated_rv() -> Any:
            d = await cluster.deployment("sw1")
            return d if _template_annotations(d)[render.CREDENTIAL_RV_ANNOTATION] == \
                rotated["metadata"]["resourceVersion"] else None
        dep = await eventually(rotated_rv, what="the credential resourceVersion annotation")
        assert _template_annotations(dep)[render.CONFIG_HASH_ANNOTATION] == second[render.CONFIG_HASH_ANNOTATION]
        await cluster.make_vk_pod_ready("sw1")
        await _settle(running, cluster)
        assert api_writes(running.client)[("update", "deployments")] == after[("update", "deployments")] + 1
        assert "n3w-Pa55" not in json.dumps(dep)


async def _phase_is(cluster: Any, name: str, phase: str, ns: str = NS) -> bool:
    return await cluster.phase(name, ns) == phase


async def test_inline_password_moves_into_an_owned_secret(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        spec = fake_device("sw2", password="inl1ne-Pa55")
        del spec["spec"]["credentialSecretRef"]
        await cluster.create_device(spec)
        dep = await eventually(lambda: cluster.deployment("sw2"), what="the Deployment")
        device = await cluster.device("sw2")
        secret = await cluster.get(paths.secrets(NS, "sw2-credentials"))
        assert secret is not None
        assert base64.b64decode(secret["data"]["password"]).decode() == "inl1ne-Pa55"
        assert secret["metadata"]["ownerReferences"][0]["uid"] == device["metadata"]["uid"]
        env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["CVK_DEVICE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "sw2-credentials",
                                                                           "key": "password"}
        assert _template_annotations(dep)[render.CREDENTIAL_RV_ANNOTATION] == secret["metadata"]["resourceVersion"]
        cm = await cluster.get(paths.configmaps(NS, "sw2-config"))
        assert "inl1ne-Pa55" not in json.dumps(cm) and "inl1ne-Pa55" not in json.dumps(dep)

        # Changing the inline password updates the Secret and rolls the pod.
        await cluster.update_device("sw2", lambda d: d["spec"].update(password="ch4nged-Pa55"))

        async def new_password() -> Any:
            s = await cluster.get(paths.secrets(NS, "sw2-credentials"))
            return s if base64.b64decode(s["data"]["password"]).decode() == "ch4nged-Pa55" else None
        secret = await eventually(new_password, what="the owned Secret to change")

        async def rolled() -> Any:
            d = await cluster.deployment("sw2")
            return _template_annotations(d)[render.CREDENTIAL_RV_ANNOTATION] == secret["metadata"]["resourceVersion"]
        await eventually(rolled, what="the Deployment to follow the Secret")
        for event in await cluster.events(NS):
            assert "Pa55" not in json.dumps(event)


async def test_owned_objects_deleted_by_someone_come_back(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        await cluster.create_device(fake_device("sw3"))
        dep = await eventually(lambda: cluster.deployment("sw3"), what="the Deployment")
        cm = await eventually(lambda: cluster.get(paths.configmaps(NS, "sw3-config")), what="the ConfigMap")
        # Right after they were written, while the controller still remembers its own writes.
        await cluster.client.delete(paths.deployments(NS, "sw3-vk"))
        await cluster.client.delete(paths.configmaps(NS, "sw3-config"))

        async def recreated(path: str, uid: str) -> bool:
            obj = await cluster.get(path)
            return obj is not None and obj["metadata"]["uid"] != uid
        await eventually(lambda: recreated(paths.deployments(NS, "sw3-vk"), dep["metadata"]["uid"]),
                         what="the Deployment to be created again")
        await eventually(lambda: recreated(paths.configmaps(NS, "sw3-config"), cm["metadata"]["uid"]),
                         what="the ConfigMap to be created again")


async def test_tls_secrets_are_checked_then_mounted(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        tls = {"enabled": True, "caSecretRef": {"name": "sw4-ca"}, "clientCertSecretRef": {"name": "sw4-client"}}
        await cluster.create_device(fake_device("sw4", tls=tls))

        async def reconciled(reason: str) -> Any:
            d = await cluster.device("sw4")
            c = condition(d, "Reconciled")
            return c if c.get("reason") == reason else None
        cond = await eventually(lambda: reconciled("SecretNotFound"), what="the missing CA Secret reported")
        assert cond["message"].startswith("spec.tls.caSecretRef.name: Secret sw4-ca not found")
        await cluster.client.create(paths.secrets(NS), {"apiVersion": "v1", "kind": "Secret",
                                                        "metadata": {"name": "sw4-ca"},
                                                        "stringData": {"ca.crt": "-----BEGIN CERTIFICATE-----"}})
        await eventually(lambda: _message_starts(cluster, "sw4", "spec.tls.clientCertSecretRef.name"),
                         what="the client certificate Secret named")
        await cluster.client.create(paths.secrets(NS), {"apiVersion": "v1", "kind": "Secret",
                                                        "metadata": {"name": "sw4-client"}, "type": "Opaque",
                                                        "stringData": {"tls.crt": "c", "tls.key": "k"}})
        dep = await eventually(lambda: cluster.deployment("sw4"), what="the Deployment once both exist")
        pod = dep["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["device-ca"]["secret"]["secretName"] == "sw4-ca"
        assert volumes["device-client-cert"]["secret"]["secretName"] == "sw4-client"
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts["device-ca"] == "/etc/cisco-vk/tls/ca"
        assert mounts["device-client-cert"] == "/etc/cisco-vk/tls/client"
        cm = await cluster.get(paths.configmaps(NS, "sw4-config"))
        assert cm is not None
        config = cm["data"]["config.yaml"]
        assert "caFile: /etc/cisco-vk/tls/ca/ca.crt" in config and "keyFile: /etc/cisco-vk/tls/client/tls.key" in config
        assert "SecretRef" not in config

        # Rotating a mounted Secret (a new CA bundle) rolls the pod: its resourceVersion is annotated.
        before = _template_annotations(dep)[render.MOUNTED_SECRETS_ANNOTATION]
        ca = await cluster.get(paths.secrets(NS, "sw4-ca"))
        assert ca is not None and f"sw4-ca={ca['metadata']['resourceVersion']}" in before
        ca["stringData"] = {"ca.crt": "-----BEGIN CERTIFICATE----- rotated"}
        rotated = await cluster.client.replace(paths.secrets(NS, "sw4-ca"), ca)

        async def rolled() -> Any:
            d = await cluster.deployment("sw4")
            ann = _template_annotations(d)[render.MOUNTED_SECRETS_ANNOTATION]
            return d if f"sw4-ca={rotated['metadata']['resourceVersion']}" in ann else None
        dep = await eventually(rolled, what="the rotated CA Secret's resourceVersion on the pod template")
        assert "sw4-client=" in _template_annotations(dep)[render.MOUNTED_SECRETS_ANNOTATION]


async def _message_starts(cluster: Any, name: str, prefix: str) -> bool:
    return str(condition(await cluster.device(name), "Reconciled").get("message", "")).startswith(prefix)


async def test_edits_to_what_the_controller_set_are_undone(kubeapi: Any) -> None:
    async with controller_env(kubeapi) as (cluster, _running):
        await cluster.create_device(fake_device("sw6"))
        await eventually(lambda: cluster.deployment("sw6"), what="the Deployment")
        # kubectl scale: two cisco-vk pods would serve one node.
        await _edit(cluster, paths.deployments(NS, "sw6-vk"), lambda d: d["spec"].update(replicas=2))

        async def restored() -> bool:
            d = await cluster.deployment("sw6")
            return d is not None and d["spec"]["replicas"] == 1
        await eventually(restored, what="replicas back to 1")
        await _edit(cluster, paths.deployments(NS, "sw6-vk"),
                    lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="evil:1"))

        async def image_restored() -> bool:
            d = await cluster.deployment("sw6")
            return d is not None and d["spec"]["template"]["spec"]["containers"][0]["image"] == "cisco-vk:latest"
        await eventually(image_restored, what="the image restored")
        await _edit(cluster, paths.configmaps(NS, "sw6-config"), lambda c: c["data"].update({"config.yaml": "x"}))

        async def config_restored() -> bool:
            c = await cluster.get(paths.configmaps(NS, "sw6-config"))
            return c is not None and c["data"]["config.yaml"].startswith("device:")
        await eventually(config_restored, what="the ConfigMap restored")
        # A rollout restart (an extra template annotation) is not undone.
        await _edit(cluster, paths.deployments(NS, "sw6-vk"), lambda d: d["spec"]["template"]["metadata"]
                    ["annotations"].update({"kubectl.kubernetes.io/restartedAt": "2030-01-01T00:00:00Z"}))
        await _settle_all(_running)
        d = await cluster.deployment("sw6")
        assert d is not None
        assert d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]


async def _edit(cluster: Any, path: str, mutate: Any) -> None:
    for _ in range(20):
        obj = await cluster.client.get(path)
        mutate(obj)
        try:
            await cluster.client.replace(path, obj)
            return
        except ConflictError:
            continue
    raise AssertionError(f"could not edit {path}")


async def _settle_all(running: Any) -> None:
    await _settle(running, None)
