"""Strictness found missing in the emulator audit: behaviours where kube-apiserver refuses or resets
what the emulator used to accept (see docs/kubeapi-emulator.md)."""

from __future__ import annotations

import copy
from typing import Any

from hack.kubeapi.fixtures import wait_for

from .crd_fixtures import CRD

CR_BASE = "/apis/cisco.vk/v1alpha1/namespaces/default/ciscodevices"
PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def _crd(kubeapi: Any) -> None:
    r = kubeapi.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
    assert r.status_code == 201, r.text
    wait_for(lambda: kubeapi.request("GET", CR_BASE).status_code == 200, message="CRD served")


def _device(name: str, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cisco.vk/v1alpha1",
        "kind": "CiscoDevice",
        "metadata": {"name": name, **meta},
        "spec": {"driver": "FAKE"},
    }


def test_custom_resource_put_without_resource_version_is_invalid(kubeapi: Any) -> None:
    # customResourceStrategy.AllowUnconditionalUpdate() is false: a PUT must carry the resourceVersion
    # (on the main resource and on /status); patches stay unconditional.
    _crd(kubeapi)
    assert kubeapi.request("POST", CR_BASE, _device("d1")).status_code == 201
    body = _device("d1")
    body["spec"]["port"] = 1
    r = kubeapi.request("PUT", CR_BASE + "/d1", body)
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid"
    assert status["message"] == (
        'ciscodevices.cisco.vk "d1" is invalid: metadata.resourceVersion: Invalid value: 0x0: '
        "must be specified for an update"
    )
    assert status["details"]["causes"][0]["field"] == "metadata.resourceVersion"
    body["status"] = {"phase": "Ready"}
    r = kubeapi.request("PUT", CR_BASE + "/d1/status", body)
    assert r.status_code == 422, r.text
    live = kubeapi.request("GET", CR_BASE + "/d1").json()
    assert live["spec"]["port"] == 830 and "status" not in live
    # With the resourceVersion the same PUT works, and a merge patch needs none.
    body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    assert kubeapi.request("PUT", CR_BASE + "/d1", body).status_code == 200
    r = kubeapi.request("PATCH", CR_BASE + "/d1", {"spec": {"port": 2}}, content_type="application/merge-patch+json")
    assert r.status_code == 200, r.text


def test_crd_put_without_resource_version_is_invalid(kubeapi: Any) -> None:
    _crd(kubeapi)
    body = copy.deepcopy(CRD)
    body["spec"]["names"]["shortNames"] = ["cd"]
    r = kubeapi.request("PUT", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ciscodevices.cisco.vk", body)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(
        'customresourcedefinitions.apiextensions.k8s.io "ciscodevices.cisco.vk" is invalid: '
        "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    )


def test_built_in_put_without_resource_version_stays_unconditional(kubeapi: Any) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    assert kubeapi.request("POST", "/api/v1/namespaces/default/configmaps", cm).status_code == 201
    cm["data"]["a"] = "2"
    r = kubeapi.request("PUT", "/api/v1/namespaces/default/configmaps/c", cm)
    assert r.status_code == 200, r.text


def test_marking_for_deletion_bumps_generation(kubeapi: Any) -> None:
    # rest.BeforeDelete / markAsDeleting: setting deletionTimestamp increments a non-zero generation.
    _crd(kubeapi)
    assert kubeapi.request("POST", CR_BASE, _device("d1", finalizers=["cisco.vk/cleanup"])).status_code == 201
    r = kubeapi.request("DELETE", CR_BASE + "/d1")
    assert r.status_code == 200, r.text
    live = kubeapi.request("GET", CR_BASE + "/d1").json()
    assert live["metadata"]["deletionTimestamp"]
    assert live["metadata"]["generation"] == 2
    # A second delete of a terminating object does not bump it again.
    kubeapi.request("DELETE", CR_BASE + "/d1")
    assert kubeapi.request("GET", CR_BASE + "/d1").json()["metadata"]["generation"] == 2


def test_graceful_pod_deletion_bumps_generation(kubeapi: Any) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1.36"}]},
    }
    created = kubeapi.request("POST", PODS, pod).json()
    gen = created["metadata"]["generation"]
    assert kubeapi.request("DELETE", PODS + "/p").status_code == 200
    terminating = kubeapi.request("GET", PODS + "/p").json()
    assert terminating["metadata"]["generation"] == gen + 1
    # Shortening the grace period is no new deletion: the generation stays.
    assert kubeapi.request("DELETE", PODS + "/p", {"gracePeriodSeconds": 5}).status_code == 200
    shortened = kubeapi.request("GET", PODS + "/p").json()
    assert shortened["metadata"]["deletionGracePeriodSeconds"] == 5
    assert shortened["metadata"]["generation"] == gen + 1


def test_pod_status_write_keeps_owner_references(kubeapi: Any) -> None:
    # podStatusStrategy.PrepareForUpdate: old kubelets corrupt ownerReferences, so pods/status keeps
    # the stored ones (labels and annotations may still change there).
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "b"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1.36"}]},
    }
    live = kubeapi.request("POST", PODS, pod).json()
    live["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u1"}]
    live["metadata"]["labels"] = {"a": "c"}
    live["status"]["phase"] = "Running"
    r = kubeapi.request("PUT", PODS + "/p/status", live)
    assert r.status_code == 200, r.text
    out = r.json()
    assert "ownerReferences" not in out["metadata"]
    assert out["metadata"]["labels"] == {"a": "c"}
    assert out["status"]["phase"] == "Running"


def _deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
            },
        },
    }


def test_deployment_status_write_keeps_labels(kubeapi: Any) -> None:
    # deploymentStatusStrategy.PrepareForUpdate resets spec and metadata.labels.
    assert kubeapi.request("POST", DEPLOYMENTS, _deployment("d")).status_code == 201
    r = kubeapi.request(
        "PATCH",
        DEPLOYMENTS + "/d/status",
        {"metadata": {"labels": {"app": "d", "extra": "x"}}, "status": {"observedGeneration": 1}},
        content_type="application/merge-patch+json",
    )
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["labels"] == {"app": "d"}
    assert r.json()["status"]["observedGeneration"] == 1


def test_deployment_annotation_change_bumps_generation(kubeapi: Any) -> None:
    # deploymentStrategy.PrepareForUpdate: annotations are copied to replica sets, so they bump it.
    created = kubeapi.request("POST", DEPLOYMENTS, _deployment("d")).json()
    assert created["metadata"]["generation"] == 1
    r = kubeapi.request(
        "PATCH",
        DEPLOYMENTS + "/d",
        {"metadata": {"annotations": {"team": "net"}}},
        content_type="application/merge-patch+json",
    )
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["generation"] == 2
    # Labels are not copied: no bump.
    r = kubeapi.request(
        "PATCH",
        DEPLOYMENTS + "/d",
        {"metadata": {"labels": {"app": "d", "tier": "x"}}},
        content_type="application/merge-patch+json",
    )
    assert r.json()["metadata"]["generation"] == 2
