"""Object semantics through the official kubernetes client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from hack.kubeapi.fixtures import wait_for


def _pod(name: str, node: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def _status(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


@pytest.fixture
def core(kubeapi: Any) -> client.CoreV1Api:
    return client.CoreV1Api(kubeapi.client())


def test_namespaces_create_get_list_conflict(core: client.CoreV1Api) -> None:
    created = core.create_namespace({"metadata": {"name": "team-a"}})
    assert created.metadata.uid and created.metadata.creation_timestamp and created.metadata.resource_version
    assert created.status.phase == "Active"
    assert created.metadata.labels["kubernetes.io/metadata.name"] == "team-a"
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system", "kube-node-lease", "kube-public", "team-a"} <= names
    with pytest.raises(ApiException) as exc:
        core.create_namespace({"metadata": {"name": "team-a"}})
    assert exc.value.status == 409
    assert _status(exc.value)["reason"] == "AlreadyExists"
    assert _status(exc.value)["message"] == 'namespaces "team-a" already exists'


def test_create_answers_201_and_not_found_is_a_status(kubeapi: Any, core: client.CoreV1Api) -> None:
    r = kubeapi.request(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "b"}},
    )
    assert r.status_code == 201
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("missing", "default")
    body = _status(exc.value)
    assert exc.value.status == 404
    assert body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "missing" not found'
    assert body["details"] == {"name": "missing", "kind": "configmaps"}


def test_create_in_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("nope", {"metadata": {"name": "x"}})
    assert exc.value.status == 404
    assert _status(exc.value)["message"] == 'namespaces "nope" not found'


def test_invalid_object_is_422_naming_the_field(core: client.CoreV1Api) -> None:
    bad = _pod("p")
    del bad["spec"]["containers"][0]["image"]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod("default", bad)
    body = _status(exc.value)
    assert exc.value.status == 422 and body["reason"] == "Invalid"
    assert body["message"] == 'Pod "p" is invalid: spec.containers[0].image: Required value'
    assert body["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}
    ]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod("default", _pod("Bad_Name"))
    assert exc.value.status == 422
    assert 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' in _status(exc.value)["message"]


def test_stale_resource_version_update_is_409(core: client.CoreV1Api) -> None:
    cm = core.create_namespaced_config_map("default", {"metadata": {"name": "cm"}, "data": {"k": "1"}})
    stale_rv = cm.metadata.resource_version
    cm.data = {"k": "2"}
    updated = core.replace_namespaced_config_map("cm", "default", cm)
    assert int(updated.metadata.resource_version) > int(stale_rv)
    cm.data = {"k": "3"}
    cm.metadata.resource_version = stale_rv
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("cm", "default", cm)
    assert exc.value.status == 409
    body = _status(exc.value)
    assert body["reason"] == "Conflict"
    assert "the object has been modified; please apply your changes to the latest version" in body["message"]
    # A merge patch carrying the stale resourceVersion is checked too.
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "cm", "default", {"metadata": {"resourceVersion": stale_rv}, "data": {"k": "4"}}
        )
    assert exc.value.status == 409
    assert core.read_namespaced_config_map("cm", "default").data == {"k": "2"}


def test_resource_versions_increase_across_the_store(core: client.CoreV1Api) -> None:
    a = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    b = core.create_namespace({"metadata": {"name": "b"}})
    c = core.patch_namespaced_config_map("a", "default", {"data": {"x": "y"}})
    assert int(a.metadata.resource_version) < int(b.metadata.resource_version) < int(c.metadata.resource_version)
    # A no-op write keeps the version.
    d = core.patch_namespaced_config_map("a", "default", {"data": {"x": "y"}})
    assert d.metadata.resource_version == c.metadata.resource_version


def test_status_subresource_and_generation(kubeapi: Any, core: client.CoreV1Api) -> None:
    pod = core.create_namespaced_pod("default", _pod("p", node="n1"))
    assert pod.metadata.generation == 1
    assert pod.status.phase == "Pending"
    # Main-resource writes ignore status.
    patched = core.patch_namespaced_pod(
        "p", "default", {"metadata": {"labels": {"a": "b"}}, "status": {"phase": "Running"}}
    )
    assert patched.status.phase == "Pending" and patched.metadata.labels == {"a": "b"}
    assert patched.metadata.generation == 1
    # Status writes ignore spec but keep metadata changes.
    st = core.patch_namespaced_pod_status(
        "p",
        "default",
        {"metadata": {"annotations": {"x": "y"}}, "spec": {"activeDeadlineSeconds": 5}, "status": {"phase": "Running"}},
    )
    assert st.status.phase == "Running"
    assert st.spec.active_deadline_seconds is None
    assert st.metadata.annotations == {"x": "y"}
    # A spec change bumps generation.
    img = core.patch_namespaced_pod("p", "default", {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}})
    assert img.metadata.generation == 2
    assert img.spec.containers[0].image == "busybox:1.37"


def test_pod_spec_is_immutable_except_images(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("default", _pod("p"))
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_pod("p", "default", {"spec": {"restartPolicy": "Never"}})
    assert exc.value.status == 422
    assert "spec: Forbidden: pod updates may not change fields other than" in _status(exc.value)["message"]


def test_unknown_fields_strict_and_warn(kubeapi: Any) -> None:
    body = _pod("p")
    body["spec"]["containers"][0]["bogus"] = 1
    r = kubeapi.request("POST", "/api/v1/namespaces/default/pods", body, params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert r.json()["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.containers[0].bogus"'
    )
    r = kubeapi.request("POST", "/api/v1/namespaces/default/pods", body)
    assert r.status_code == 201
    assert r.headers["Warning"] == '299 - "unknown field \\"spec.containers[0].bogus\\""'
    assert "bogus" not in r.json()["spec"]["containers"][0]


def test_wrong_json_type_is_400(core: client.CoreV1Api, kubeapi: Any) -> None:
    body = _pod("p")
    body["spec"]["containers"][0]["env"] = [{"name": "PORT", "value": 8080}]
    r = kubeapi.request("POST", "/api/v1/namespaces/default/pods", body)
    assert r.status_code == 400
    assert (
        "cannot unmarshal number into Go struct field EnvVar.spec.containers.env.value of type string"
        in r.json()["message"]
    )


def test_label_and_field_selectors(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("default", _pod("a", node="n1", labels={"app": "web", "tier": "fe"}))
    core.create_namespaced_pod("default", _pod("b", node="n2", labels={"app": "web"}))
    core.create_namespaced_pod("default", _pod("c", labels={"app": "db"}))
    core.patch_namespaced_pod_status("b", "default", {"status": {"phase": "Running"}})

    def names(**kw: Any) -> list[str]:
        return [p.metadata.name for p in core.list_namespaced_pod("default", **kw).items]

    assert names(label_selector="app=web") == ["a", "b"]
    assert names(label_selector="app==web,tier=fe") == ["a"]
    assert names(label_selector="app!=web") == ["c"]
    assert names(label_selector="app in (db, cache)") == ["c"]
    assert names(label_selector="app notin (db)") == ["a", "b"]
    assert names(label_selector="tier") == ["a"]
    assert names(label_selector="!tier") == ["b", "c"]
    assert names(field_selector="spec.nodeName=n1") == ["a"]
    assert names(field_selector="spec.nodeName=") == ["c"]
    assert names(field_selector="status.phase=Running") == ["b"]
    assert names(field_selector="metadata.name!=a,status.phase!=Running") == ["c"]
    assert [
        p.metadata.name for p in core.list_pod_for_all_namespaces(field_selector="metadata.namespace=default").items
    ] == ["a", "b", "c"]
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod("default", field_selector="spec.image=x")
    assert exc.value.status == 400
    assert "field label not supported: spec.image" in _status(exc.value)["message"]
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod("default", label_selector="app in (")
    assert exc.value.status == 400


def test_event_field_selectors(core: client.CoreV1Api) -> None:
    for name, kind, obj in (("e1", "Pod", "p1"), ("e2", "Node", "n1")):
        core.create_namespaced_event(
            "default",
            {
                "metadata": {"name": name},
                "involvedObject": {"kind": kind, "name": obj, "namespace": "default"},
                "reason": "Started",
                "type": "Normal",
                "source": {"component": "cisco-vk"},
            },
        )
    got = core.list_namespaced_event("default", field_selector="involvedObject.kind=Pod,involvedObject.name=p1")
    assert [e.metadata.name for e in got.items] == ["e1"]
    assert len(core.list_namespaced_event("default", field_selector="source=cisco-vk").items) == 2


def test_limit_and_continue(core: client.CoreV1Api) -> None:
    for i in range(5):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{i}"}})
    first = core.list_namespaced_config_map("default", limit=2)
    assert [c.metadata.name for c in first.items] == ["cm-0", "cm-1"]
    assert first.metadata.remaining_item_count == 3
    second = core.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    assert [c.metadata.name for c in second.items] == ["cm-2", "cm-3"]
    third = core.list_namespaced_config_map("default", limit=2, _continue=second.metadata._continue)
    assert [c.metadata.name for c in third.items] == ["cm-4"]
    assert not third.metadata._continue


def test_generate_name(core: client.CoreV1Api) -> None:
    cm = core.create_namespaced_config_map("default", {"metadata": {"generateName": "cfg-"}})
    assert cm.metadata.name.startswith("cfg-") and len(cm.metadata.name) == 9


def test_secret_string_data_is_encoded(core: client.CoreV1Api) -> None:
    s = core.create_namespaced_secret("default", {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}})
    assert s.data == {"password": "aHVudGVyMg=="} and s.type == "Opaque"


def test_direct_store_access(kubeapi: Any, core: client.CoreV1Api) -> None:
    kubeapi.server.create_object(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "direct", "namespace": "default"}}
    )
    assert core.read_namespaced_config_map("direct", "default").metadata.uid
    assert kubeapi.server.get_object("configmaps", "direct", "default")["metadata"]["name"] == "direct"
    assert [c["metadata"]["name"] for c in kubeapi.server.list_objects("configmaps", "default")] == ["direct"]
    wait_for(lambda: kubeapi.server.get_object("namespaces", "default") is not None)


def test_unauthenticated_request_is_401(kubeapi: Any) -> None:
    r = kubeapi.request("GET", "/api/v1/namespaces", token="wrong")
    assert r.status_code == 401
    assert r.json()["reason"] == "Unauthorized"
    assert kubeapi.request("GET", "/api/v1/namespaces").status_code == 200


def test_event_validation(kubeapi: Any, core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_event(
            "default", {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "other"}}
        )
    assert exc.value.status == 422
    assert (
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace'
        in _status(exc.value)["message"]
    )
    events = client.EventsV1Api(kubeapi.client())
    r = kubeapi.request(
        "POST",
        "/apis/events.k8s.io/v1/namespaces/default/events",
        {
            "metadata": {"name": "e2"},
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
            "type": "Normal",
        },
    )
    assert r.status_code == 422
    msg = r.json()["message"]
    assert "eventTime: Required value" in msg
    ok = events.create_namespaced_event(
        "default",
        {
            "metadata": {"name": "e3"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reportingController": "cisco.vk/kubelet",
            "reportingInstance": "sw1",
            "action": "Started",
            "reason": "Started",
            "type": "Normal",
            "note": "started",
        },
    )
    assert ok.metadata.uid
    listed = events.list_namespaced_event(
        "default", field_selector="regarding.name=p,reportingController=cisco.vk/kubelet"
    )
    assert [e.metadata.name for e in listed.items] == ["e3"]


def test_pod_status_rules(core: client.CoreV1Api) -> None:
    pod = _pod("p", node="n1")
    pod["spec"]["restartPolicy"] = "Never"
    core.create_namespaced_pod("default", pod)
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_pod_status("p", "default", {"status": {"podIP": "not-an-ip"}})
    assert exc.value.status == 422
    assert 'status.podIP: Invalid value: "not-an-ip": must be a valid IP address' in _status(exc.value)["message"]
    terminated = {"terminated": {"exitCode": 1, "reason": "Error"}}
    core.patch_namespaced_pod_status(
        "p",
        "default",
        {
            "status": {
                "phase": "Failed",
                "containerStatuses": [
                    {"name": "c", "image": "x", "imageID": "", "ready": False, "restartCount": 0, "state": terminated}
                ],
            }
        },
    )
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_pod_status("p", "default", {"status": {"phase": "Running"}})
    assert exc.value.status == 422
    assert "status.phase: Forbidden: may not be transitioned to non-terminal state" in _status(exc.value)["message"]


def test_immutable_configmap(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True}
    )
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map("frozen", "default", {"data": {"a": "2"}})
    assert exc.value.status == 422
    assert "data: Forbidden: field is immutable when `immutable` is set" in _status(exc.value)["message"]
    core.patch_namespaced_config_map("frozen", "default", {"metadata": {"labels": {"ok": "yes"}}})


def test_owner_reference_validation(core: client.CoreV1Api) -> None:
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": ""}
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("default", {"metadata": {"name": "d", "ownerReferences": [ref]}})
    assert exc.value.status == 422
    assert 'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty' in _status(exc.value)["message"]
    two = [{**ref, "uid": "1", "controller": True}, {**ref, "name": "p", "uid": "2", "controller": True}]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("default", {"metadata": {"name": "d", "ownerReferences": two}})
    assert "Only one reference can have Controller set to true" in _status(exc.value)["message"]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("default", {"metadata": {"name": "d", "annotations": {"big": "x" * 300_000}}})
    assert "metadata.annotations: Too long: must have at most 262144 bytes" in _status(exc.value)["message"]
