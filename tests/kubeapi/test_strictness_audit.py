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


def _cm(name: str, ns: str = "default", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, **meta}}


def _cm_exists(kubeapi: Any, name: str, ns: str = "default") -> bool:
    return bool(kubeapi.request("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}").status_code == 200)


def test_garbage_collector_resolves_owners_by_coordinates_not_uid_alone(kubeapi: Any) -> None:
    # The real garbage collector looks an owner up by apiVersion/kind/name in the dependent's namespace
    # and compares the uid: a reference to an object in another namespace, or with the wrong name or
    # kind, is dangling and its dependent is collected, even though an object with that uid exists.
    other = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}
    assert kubeapi.request("POST", "/api/v1/namespaces", other).status_code == 201
    owner = kubeapi.request("POST", "/api/v1/namespaces/other/configmaps", _cm("owner", "other")).json()
    uid = owner["metadata"]["uid"]
    local = kubeapi.request("POST", "/api/v1/namespaces/default/configmaps", _cm("owner")).json()
    refs = {
        "cross-ns": {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid},
        "wrong-name": {"apiVersion": "v1", "kind": "ConfigMap", "name": "nobody", "uid": local["metadata"]["uid"]},
        "wrong-kind": {"apiVersion": "v1", "kind": "Secret", "name": "owner", "uid": local["metadata"]["uid"]},
        "good": {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": local["metadata"]["uid"]},
    }
    for name, ref in refs.items():
        r = kubeapi.request("POST", "/api/v1/namespaces/default/configmaps", _cm(name, ownerReferences=[ref]))
        assert r.status_code == 201, r.text
    for name in ("cross-ns", "wrong-name", "wrong-kind"):
        wait_for(lambda name=name: not _cm_exists(kubeapi, name), message=f"{name} collected")
    assert _cm_exists(kubeapi, "good")


def test_list_options_resource_version_match_is_validated(kubeapi: Any) -> None:
    # ValidateListOptions: answered 422 Invalid for ListOptions.meta.k8s.io, as kube-apiserver does.
    cases = {
        (("resourceVersionMatch", "NotOlderThan"),): (
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
        ),
        (("resourceVersionMatch", "Exact"), ("resourceVersion", "0")): (
            'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
        ),
        (("resourceVersionMatch", "Newest"), ("resourceVersion", "1")): (
            'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""'
        ),
    }
    for params, message in cases.items():
        r = kubeapi.request("GET", "/api/v1/namespaces/default/configmaps", params=dict(params))
        assert r.status_code == 422, (params, r.text)
        assert r.json()["message"] == f'ListOptions.meta.k8s.io "" is invalid: {message}'
    listed = kubeapi.request("GET", "/api/v1/namespaces/default/configmaps").json()
    rv = listed["metadata"]["resourceVersion"]
    r = kubeapi.request(
        "GET",
        "/api/v1/namespaces/default/configmaps",
        params={"resourceVersionMatch": "NotOlderThan", "resourceVersion": rv},
    )
    assert r.status_code == 200, r.text


def test_finalizer_names_are_validated(kubeapi: Any) -> None:
    # ValidateFinalizers: each finalizer is a qualified name; orphan and foregroundDeletion exclude each other.
    r = kubeapi.request("POST", "/api/v1/namespaces/default/configmaps", _cm("f1", finalizers=["bad finalizer"]))
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["message"].startswith(
        'ConfigMap "f1" is invalid: metadata.finalizers: Invalid value: "bad finalizer": name part must consist of'
    )
    assert status["details"]["causes"][0]["field"] == "metadata.finalizers"
    r = kubeapi.request(
        "POST", "/api/v1/namespaces/default/configmaps", _cm("f2", finalizers=["orphan", "foregroundDeletion"])
    )
    assert r.status_code == 422, r.text
    assert "finalizer orphan and foregroundDeletion cannot be both set" in r.json()["message"]
    # Updates are checked too; valid names (qualified, or the standard short ones) pass.
    ok = kubeapi.request("POST", "/api/v1/namespaces/default/configmaps", _cm("f3", finalizers=["example.com/x"]))
    assert ok.status_code == 201, ok.text
    r = kubeapi.request(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/f3",
        {"metadata": {"finalizers": ["example.com/x", "no/such/thing"]}},
        content_type="application/merge-patch+json",
    )
    assert r.status_code == 422, r.text
    assert 'metadata.finalizers: Invalid value: "no/such/thing"' in r.json()["message"]


def test_annotation_keys_are_validated(kubeapi: Any) -> None:
    # ValidateAnnotations: keys are qualified names (case-insensitive); values are free.
    r = kubeapi.request("POST", "/api/v1/namespaces/default/configmaps", _cm("a1", annotations={"bad key": "v"}))
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(
        'ConfigMap "a1" is invalid: metadata.annotations: Invalid value: "bad key": name part must consist of'
    )
    ok = kubeapi.request(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        _cm("a2", annotations={"Example.COM/Some_Key": "any value at all: {}"}),
    )
    assert ok.status_code == 201, ok.text


def test_server_side_apply_with_stale_resource_version_conflicts(kubeapi: Any) -> None:
    # A resourceVersion in the applied configuration is a precondition, as for every patch.
    _crd(kubeapi)
    path = CR_BASE + "/g"
    apply = {"content_type": "application/apply-patch+yaml", "params": {"fieldManager": "m1"}}
    first = kubeapi.request("PATCH", path, _device("g"), **apply)
    assert first.status_code == 201, first.text
    rv = first.json()["metadata"]["resourceVersion"]
    bump = kubeapi.request("PATCH", path, {"spec": {"port": 9}}, content_type="application/merge-patch+json")
    assert bump.status_code == 200, bump.text
    r = kubeapi.request("PATCH", path, _device("g", resourceVersion=rv), **apply)
    assert r.status_code == 409, r.text
    assert r.json()["reason"] == "Conflict"
    assert "the object has been modified" in r.json()["message"]
    current = bump.json()["metadata"]["resourceVersion"]
    r = kubeapi.request("PATCH", path, _device("g", resourceVersion=current), **apply)
    assert r.status_code == 200, r.text


def test_shortening_the_grace_period_moves_the_deletion_timestamp_back(kubeapi: Any, monkeypatch: Any) -> None:
    # rest.BeforeDelete: the new deletionTimestamp is the old one minus the old grace plus the new grace
    # (not "now + new grace"), so repeated deletes cannot postpone the deadline.
    import datetime

    from hack.kubeapi import storage

    clock = [datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)]
    monkeypatch.setattr(storage, "_utcnow", lambda: clock[0])

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1.36"}]},
    }
    assert kubeapi.request("POST", PODS, pod).status_code == 201
    first = kubeapi.request("DELETE", PODS + "/p", {"gracePeriodSeconds": 3600}).json()
    clock[0] += datetime.timedelta(seconds=100)
    second = kubeapi.request("DELETE", PODS + "/p", {"gracePeriodSeconds": 600}).json()

    def ts(obj: dict[str, Any]) -> datetime.datetime:
        return datetime.datetime.strptime(obj["metadata"]["deletionTimestamp"], "%Y-%m-%dT%H:%M:%SZ")

    assert second["metadata"]["deletionGracePeriodSeconds"] == 600
    assert ts(first) - ts(second) == datetime.timedelta(seconds=3000)


def test_watch_from_a_future_resource_version_skips_events_up_to_it(kubeapi: Any) -> None:
    # The watch cache's cacheWatcher only sends events newer than the requested resourceVersion.
    import json

    import requests

    base = "/api/v1/namespaces/default/configmaps"
    rv = int(kubeapi.request("POST", base, _cm("a")).json()["metadata"]["resourceVersion"])
    with requests.get(
        kubeapi.url + base,
        params={"watch": "1", "resourceVersion": str(rv + 2), "timeoutSeconds": "30"},
        headers={"Authorization": f"Bearer {kubeapi.token}"},
        verify=str(kubeapi.ca_file),
        stream=True,
        timeout=30,
    ) as stream:
        assert stream.status_code == 200
        for name in ("b", "c", "d"):
            assert kubeapi.request("POST", base, _cm(name)).status_code == 201
        seen = []
        for line in stream.iter_lines():
            ev = json.loads(line)
            seen.append((ev["type"], ev["object"]["metadata"]["name"], ev["object"]["metadata"]["resourceVersion"]))
            if ev["object"]["metadata"]["name"] == "d":
                break
    assert [s[:2] for s in seen] == [("ADDED", "d")], seen


def test_namespace_finalizers_change_only_through_finalize(kubeapi: Any) -> None:
    # namespaceStrategy.PrepareForUpdate keeps spec.finalizers and status on main writes;
    # namespaceFinalizeStrategy (the /finalize subresource) keeps status and sets spec.finalizers as sent.
    assert kubeapi.request("POST", "/api/v1/namespaces", {"metadata": {"name": "n1"}}).status_code == 201
    r = kubeapi.request(
        "PATCH",
        "/api/v1/namespaces/n1",
        {"metadata": {"labels": {"a": "b"}}, "spec": {"finalizers": ["example.com/x"]}},
        content_type="application/merge-patch+json",
    )
    assert r.status_code == 200, r.text
    assert r.json()["spec"] == {"finalizers": ["kubernetes"]}
    assert r.json()["metadata"]["labels"]["a"] == "b"
    ns = kubeapi.request("GET", "/api/v1/namespaces/n1").json()
    ns["spec"]["finalizers"] = ["kubernetes", "example.com/y"]
    ns["status"] = {"phase": "Terminating"}
    r = kubeapi.request("PUT", "/api/v1/namespaces/n1/finalize", ns)
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["finalizers"] == ["kubernetes", "example.com/y"]
    assert r.json()["status"] == {"phase": "Active"}
    ns = r.json()
    ns["spec"]["finalizers"] = []
    r = kubeapi.request("PUT", "/api/v1/namespaces/n1/finalize", ns)
    assert r.status_code == 200, r.text
    assert not r.json().get("spec", {}).get("finalizers")
    assert not kubeapi.request("GET", "/api/v1/namespaces/n1").json().get("spec", {}).get("finalizers")


def test_delete_options_are_validated_like_the_real_server(kubeapi: Any) -> None:
    # ValidateDeleteOptions, answered as DeleteOptions.meta.k8s.io 422s.
    assert kubeapi.request("POST", "/api/v1/namespaces/default/configmaps", _cm("c")).status_code == 201
    r = kubeapi.request("DELETE", "/api/v1/namespaces/default/configmaps/c", {"propagationPolicy": "Sometimes"})
    assert r.status_code == 422, r.text
    assert r.json()["message"] == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sometimes": '
        'supported values: "Foreground", "Background", "Orphan", "nil"'
    )
    r = kubeapi.request(
        "DELETE",
        "/api/v1/namespaces/default/configmaps/c",
        {"propagationPolicy": "Background", "orphanDependents": True},
    )
    assert r.status_code == 422, r.text
    assert r.json()["message"] == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Background": '
        "orphanDependents and deletionPropagation cannot be both set"
    )
    assert _cm_exists(kubeapi, "c")


def test_list_at_an_exact_resource_version_is_a_snapshot(kubeapi: Any) -> None:
    # resourceVersionMatch=Exact lists the state at that version (410 once it left the window);
    # a version ahead of the store is a 504 "Too large resource version".
    base = "/api/v1/namespaces/default/configmaps"
    assert kubeapi.request("POST", base, _cm("a", labels={"v": "1"})).status_code == 201
    rv = kubeapi.request("POST", base, _cm("b")).json()["metadata"]["resourceVersion"]
    kubeapi.request(
        "PATCH", base + "/a", {"metadata": {"labels": {"v": "2"}}}, content_type="application/merge-patch+json"
    )
    kubeapi.request("DELETE", base + "/b")
    assert kubeapi.request("POST", base, _cm("c")).status_code == 201
    r = kubeapi.request("GET", base, params={"resourceVersion": rv, "resourceVersionMatch": "Exact"})
    assert r.status_code == 200, r.text
    snap = r.json()
    assert snap["metadata"]["resourceVersion"] == rv
    assert [(o["metadata"]["name"], o["metadata"].get("labels")) for o in snap["items"]] == [
        ("a", {"v": "1"}),
        ("b", None),
    ]
    future = str(int(kubeapi.request("GET", base).json()["metadata"]["resourceVersion"]) + 100)
    for params in ({"resourceVersion": future, "resourceVersionMatch": "Exact"}, {"resourceVersion": future}):
        r = kubeapi.request("GET", base, params=params)
        assert r.status_code == 504, r.text
        assert r.json()["reason"] == "Timeout"
        assert r.json()["message"].startswith(f"Timeout: Too large resource version: {future}, current: ")
        assert r.json()["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    kubeapi.server.compact()
    r = kubeapi.request("GET", base, params={"resourceVersion": rv, "resourceVersionMatch": "Exact"})
    assert r.status_code == 410, r.text
    assert r.json()["reason"] == "Expired"
    r = kubeapi.request("GET", base, params={"resourceVersion": "abc"})
    assert r.status_code == 400, r.text


def test_continue_pages_come_from_the_first_pages_snapshot(kubeapi: Any) -> None:
    # A paged list is consistent: later pages show the objects as of the first page's resourceVersion.
    base = "/api/v1/namespaces/default/configmaps"
    for name in ("a", "b", "c"):
        assert kubeapi.request("POST", base, _cm(name)).status_code == 201
    first = kubeapi.request("GET", base, params={"limit": "1"}).json()
    assert [o["metadata"]["name"] for o in first["items"]] == ["a"]
    kubeapi.request("DELETE", base + "/b")
    assert kubeapi.request("POST", base, _cm("d")).status_code == 201
    kubeapi.request("PATCH", base + "/c", {"data": {"k": "v"}}, content_type="application/merge-patch+json")
    rest = kubeapi.request("GET", base, params={"continue": first["metadata"]["continue"]}).json()
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert [(o["metadata"]["name"], o.get("data")) for o in rest["items"]] == [("b", None), ("c", None)]
    r = kubeapi.request("GET", base, params={"continue": first["metadata"]["continue"], "resourceVersion": "5"})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "specifying resource version is not allowed when using continue"


def test_propagation_policy_replaces_the_other_gc_finalizer() -> None:
    # deletionFinalizersForGarbageCollection: orphan and foregroundDeletion are first both removed, then
    # the one the request's policy asks for is added, so an object never carries both. (Backend level:
    # the garbage collector would otherwise act between the two deletes.)
    from hack.kubeapi.resources import Registry
    from hack.kubeapi.storage import Backend
    from hack.kubeapi.store import Store

    backend = Backend(Store(window=100), Registry())
    backend.ensure_default_namespaces()
    rt = backend.rt("", "v1", "configmaps")
    backend.create(rt, "default", _cm("c", finalizers=["example.com/hold"]))
    obj, removed = backend.delete(rt, "default", "c", propagation="Orphan")
    assert not removed and obj["metadata"]["finalizers"] == ["example.com/hold", "orphan"]
    obj, _ = backend.delete(rt, "default", "c", propagation="Foreground")
    assert obj["metadata"]["finalizers"] == ["example.com/hold", "foregroundDeletion"]
    # Without a policy the finalizers stay as they are.
    obj, _ = backend.delete(rt, "default", "c")
    assert obj["metadata"]["finalizers"] == ["example.com/hold", "foregroundDeletion"]
    # The holder can still release its finalizer (no 422 for an orphan+foregroundDeletion pair).
    live = backend.store.get(rt.key, "default", "c")
    assert live is not None
    released = {**live, "metadata": {**live["metadata"], "finalizers": ["foregroundDeletion"]}}
    backend.update(rt, "default", "c", released)


def test_delete_options_dry_run_values_are_validated(kubeapi: Any) -> None:
    # ValidateDryRun: only "All" is supported; anything else is refused, not taken as a dry run.
    assert kubeapi.request("POST", "/api/v1/namespaces/default/configmaps", _cm("c")).status_code == 201
    r = kubeapi.request("DELETE", "/api/v1/namespaces/default/configmaps/c", {"dryRun": ["Sometimes"]})
    assert r.status_code == 422, r.text
    assert r.json()["message"] == (
        'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Sometimes"}: '
        'supported values: "All"'
    )
    assert _cm_exists(kubeapi, "c")
    r = kubeapi.request("DELETE", "/api/v1/namespaces/default/configmaps/c", {"dryRun": ["All"]})
    assert r.status_code == 200, r.text
    assert _cm_exists(kubeapi, "c")


def test_put_creates_only_kinds_whose_strategy_allows_create_on_update(kubeapi: Any) -> None:
    # AllowCreateOnUpdate(): true for leases, events, services, endpoints, limit ranges and RBAC
    # objects; false for the rest (a PUT to a missing ConfigMap, Pod or Node is 404).
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "l1", "resourceVersion": "12345"},
        "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40},
    }
    r = kubeapi.request("PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/l1", lease)
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["uid"] and r.json()["spec"]["holderIdentity"] == "n1"
    r = kubeapi.request("PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/l1/status", lease)
    assert r.status_code == 404
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "missing"}, "data": {"a": "1"}}
    r = kubeapi.request("PUT", "/api/v1/namespaces/default/configmaps/missing", cm)
    assert r.status_code == 404, r.text
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "missing"}}
    assert kubeapi.request("PUT", "/api/v1/nodes/missing", node).status_code == 404


def test_generation_only_on_kinds_that_have_one(kubeapi: Any) -> None:
    # Nodes, namespaces and services have a spec but no metadata.generation on a real server.
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "g1"}, "spec": {"podCIDR": "10.0.0.0/24"}}
    created = kubeapi.request("POST", "/api/v1/nodes", node).json()
    assert "generation" not in created["metadata"]
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "g1"}, "spec": {}}
    assert "generation" not in kubeapi.request("POST", "/api/v1/namespaces", ns).json()["metadata"]
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "g1"}, "spec": {"ports": [{"port": 80}]}}
    assert "generation" not in kubeapi.request("POST", "/api/v1/namespaces/default/services", svc).json()["metadata"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "g1"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    assert kubeapi.request("POST", PODS, pod).json()["metadata"]["generation"] == 1
