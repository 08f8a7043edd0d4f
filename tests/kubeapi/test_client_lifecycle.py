"""Deletion semantics and the built-in controllers through the official client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from hack.kubeapi.fixtures import wait_for


@pytest.fixture
def core(kubeapi: Any) -> client.CoreV1Api:
    return client.CoreV1Api(kubeapi.client())


@pytest.fixture
def apps(kubeapi: Any) -> client.AppsV1Api:
    return client.AppsV1Api(kubeapi.client())


def _pod(name: str, node: str | None = None, **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, **meta}, "spec": spec}


def _exists(read: Any, *args: Any) -> bool:
    try:
        read(*args)
        return True
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise


def test_bound_pod_is_deleted_gracefully_until_grace_zero(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_pod("default", _pod("p", node="n1"))
    core.delete_namespaced_pod("p", "default")
    terminating = core.read_namespaced_pod("p", "default")
    assert terminating.metadata.deletion_timestamp is not None
    assert terminating.metadata.deletion_grace_period_seconds == 30
    # A later delete may shorten the grace period, but not lengthen it.
    core.delete_namespaced_pod("p", "default", grace_period_seconds=60)
    assert core.read_namespaced_pod("p", "default").metadata.deletion_grace_period_seconds == 30
    core.delete_namespaced_pod("p", "default", grace_period_seconds=10)
    assert core.read_namespaced_pod("p", "default").metadata.deletion_grace_period_seconds == 10
    # The kubelet's final delete: grace 0 with a uid precondition.
    with pytest.raises(ApiException) as exc:
        core.delete_namespaced_pod(
            "p",
            "default",
            grace_period_seconds=0,
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="other")),
        )
    assert exc.value.status == 409
    assert "Precondition failed: UID in precondition: other" in json.loads(exc.value.body)["message"]
    core.delete_namespaced_pod(
        "p",
        "default",
        grace_period_seconds=0,
        body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=created.metadata.uid)),
    )
    assert not _exists(core.read_namespaced_pod, "p", "default")


def test_unbound_and_finished_pods_go_at_once(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("default", _pod("unbound"))
    core.delete_namespaced_pod("unbound", "default")
    assert not _exists(core.read_namespaced_pod, "unbound", "default")
    core.create_namespaced_pod("default", _pod("done", node="n1"))
    core.patch_namespaced_pod_status("done", "default", {"status": {"phase": "Succeeded"}})
    core.delete_namespaced_pod("done", "default")
    assert not _exists(core.read_namespaced_pod, "done", "default")


def test_finalizers_block_removal(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "cm", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("cm", "default")
    held = core.read_namespaced_config_map("cm", "default")
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "cm", "default", {"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}}
        )
    assert exc.value.status == 422
    assert "no new finalizers can be added if the object is being deleted" in json.loads(exc.value.body)["message"]
    core.patch_namespaced_config_map("cm", "default", {"metadata": {"finalizers": None}})
    assert not _exists(core.read_namespaced_config_map, "cm", "default")


def test_owner_references_cascade_in_background(core: client.CoreV1Api) -> None:
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map("default", {"metadata": {"name": "dep", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("owner", "default")
    wait_for(lambda: not _exists(core.read_namespaced_config_map, "dep", "default"), message="dependent deleted")


def test_foreground_deletion_waits_for_dependents(core: client.CoreV1Api) -> None:
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
        "blockOwnerDeletion": True,
    }
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "dep", "ownerReferences": [ref], "finalizers": ["example.com/hold"]}}
    )
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Foreground")
    held = core.read_namespaced_config_map("owner", "default")
    assert "foregroundDeletion" in held.metadata.finalizers
    wait_for(
        lambda: core.read_namespaced_config_map("dep", "default").metadata.deletion_timestamp,
        message="dependent terminating",
    )
    assert _exists(core.read_namespaced_config_map, "owner", "default")
    core.patch_namespaced_config_map("dep", "default", {"metadata": {"finalizers": None}})
    wait_for(lambda: not _exists(core.read_namespaced_config_map, "owner", "default"), message="owner removed")


def test_orphan_deletion_keeps_dependents(core: client.CoreV1Api) -> None:
    owner = core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map("default", {"metadata": {"name": "dep", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Orphan")
    wait_for(lambda: not _exists(core.read_namespaced_config_map, "owner", "default"), message="owner removed")
    assert core.read_namespaced_config_map("dep", "default").metadata.owner_references is None


def test_namespace_deletion_removes_contents(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "tmp"}})
    core.create_namespaced_config_map("tmp", {"metadata": {"name": "cm"}})
    core.create_namespaced_pod("tmp", _pod("bound", node="n1"))
    core.delete_namespace("tmp")
    ns = core.read_namespace("tmp")
    assert ns.status.phase == "Terminating"
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("tmp", {"metadata": {"name": "new"}})
    assert exc.value.status == 403
    assert "because it is being terminated" in json.loads(exc.value.body)["message"]
    wait_for(lambda: not _exists(core.read_namespaced_config_map, "cm", "tmp"), message="configmap removed")
    # The bound pod waits for its kubelet, which confirms with a grace-0 delete.
    wait_for(lambda: core.read_namespaced_pod("bound", "tmp").metadata.deletion_timestamp, message="pod terminating")
    assert _exists(core.read_namespace, "tmp")
    core.delete_namespaced_pod("bound", "tmp", grace_period_seconds=0)
    wait_for(lambda: not _exists(core.read_namespace, "tmp"), message="namespace removed")


def _deployment(
    name: str, replicas: int = 1, strategy: str = "RollingUpdate", image: str = "nginx:1.25"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": strategy},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


def _pods(core: client.CoreV1Api, app: str) -> list[Any]:
    return [
        p
        for p in core.list_namespaced_pod("default", label_selector=f"app={app}").items
        if not p.metadata.deletion_timestamp
    ]


def test_deployment_keeps_its_pod_and_replaces_a_deleted_one(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", _deployment("web"))
    first = wait_for(lambda: _pods(core, "web"), message="deployment pod")
    assert len(first) == 1
    pod = first[0]
    assert pod.metadata.owner_references[0].kind == "ReplicaSet"
    assert pod.metadata.labels["pod-template-hash"]
    core.delete_namespaced_pod(pod.metadata.name, "default")
    replaced = wait_for(
        lambda: [p for p in _pods(core, "web") if p.metadata.name != pod.metadata.name], message="replacement pod"
    )
    assert len(replaced) == 1
    dep = wait_for(
        lambda: (d := apps.read_namespaced_deployment("web", "default")).status.replicas == 1 and d, message="status"
    )
    assert dep.status.observed_generation == 1
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "1"


def test_deployment_scales(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", _deployment("web", replicas=3))
    wait_for(lambda: len(_pods(core, "web")) == 3, message="3 pods")
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 1}})
    wait_for(lambda: len(_pods(core, "web")) == 1, message="scaled to 1")
    assert apps.read_namespaced_deployment_scale("web", "default").spec.replicas == 1


def test_recreate_rolls_pods_when_the_template_changes(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", _deployment("web", replicas=2, strategy="Recreate"))
    old = wait_for(lambda: len(p := _pods(core, "web")) == 2 and p, message="2 pods")
    apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]}}}}
    )
    new = wait_for(
        lambda: len(p := _pods(core, "web")) == 2 and all(x.spec.containers[0].image == "nginx:1.26" for x in p) and p,
        message="rolled pods",
    )
    assert {p.metadata.name for p in new}.isdisjoint({p.metadata.name for p in old})
    rs = apps.list_namespaced_replica_set("default").items
    assert sorted(r.spec.replicas for r in rs) == [0, 2]
    dep = apps.read_namespaced_deployment("web", "default")
    assert dep.metadata.generation == 2
    wait_for(
        lambda: (
            apps.read_namespaced_deployment("web", "default").metadata.annotations["deployment.kubernetes.io/revision"]
            == "2"
        )
    )


def test_recreate_waits_for_old_pods_to_be_gone(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    dep = _deployment("web", strategy="Recreate")
    dep["spec"]["template"]["spec"]["nodeName"] = "n1"  # bound pods terminate gracefully
    apps.create_namespaced_deployment("default", dep)
    old = wait_for(lambda: _pods(core, "web"), message="first pod")[0]
    apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"template": {"metadata": {"labels": {"app": "web", "v": "2"}}}}}
    )
    wait_for(
        lambda: core.read_namespaced_pod(old.metadata.name, "default").metadata.deletion_timestamp,
        message="old pod terminating",
    )
    # Recreate: no new pod while the old one still exists.
    assert _pods(core, "web") == []
    core.delete_namespaced_pod(old.metadata.name, "default", grace_period_seconds=0)
    new = wait_for(lambda: _pods(core, "web"), message="new pod")
    assert new[0].metadata.labels["v"] == "2"


def test_deleting_a_deployment_removes_replicasets_and_pods(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", _deployment("web", replicas=2))
    wait_for(lambda: len(_pods(core, "web")) == 2, message="pods")
    apps.delete_namespaced_deployment("web", "default")
    wait_for(lambda: not core.list_namespaced_pod("default").items, message="pods gone")
    assert apps.list_namespaced_replica_set("default").items == []


def test_deployment_validation(apps: client.AppsV1Api) -> None:
    bad = _deployment("web")
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as exc:
        apps.create_namespaced_deployment("default", bad)
    assert exc.value.status == 422
    assert "spec.template.metadata.labels: Invalid value" in json.loads(exc.value.body)["message"]
    assert "`selector` does not match template `labels`" in json.loads(exc.value.body)["message"]


def test_namespace_with_metadata_finalizer_terminates_then_goes(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    core.delete_namespace("held")
    ns = core.read_namespace("held")
    assert ns.status.phase == "Terminating" and ns.metadata.deletion_timestamp
    wait_for(lambda: not core.read_namespace("held").spec.finalizers, message="kubernetes finalizer removed")
    core.patch_namespace("held", {"metadata": {"finalizers": None}})
    wait_for(lambda: not _exists(core.read_namespace, "held"), message="namespace removed")


def test_rolling_update_keeps_old_pods_until_new_ones_are_ready(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", _deployment("web"))
    old = wait_for(lambda: _pods(core, "web"), message="first pod")[0]
    apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]}}}}
    )
    new = wait_for(lambda: [p for p in _pods(core, "web") if p.metadata.name != old.metadata.name], message="new pod")[
        0
    ]
    assert _exists(core.read_namespaced_pod, old.metadata.name, "default")
    assert core.read_namespaced_pod(old.metadata.name, "default").metadata.deletion_timestamp is None
    core.patch_namespaced_pod_status(
        new.metadata.name,
        "default",
        {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
    )
    wait_for(lambda: [p.metadata.name for p in _pods(core, "web")] == [new.metadata.name], message="old pod removed")
    dep = wait_for(
        lambda: (d := apps.read_namespaced_deployment("web", "default")).status.available_replicas == 1 and d
    )
    assert dep.status.updated_replicas == 1
    assert {c.type: c.status for c in dep.status.conditions} == {"Available": "True", "Progressing": "True"}


def test_system_namespaces_cannot_be_deleted(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as exc:
        core.delete_namespace("kube-system")
    assert exc.value.status == 403
    assert (
        json.loads(exc.value.body)["message"]
        == 'namespaces "kube-system" is forbidden: this namespace may not be deleted'
    )
