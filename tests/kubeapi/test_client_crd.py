"""CustomResourceDefinitions through the official client: servable kinds, schema validation,
status subresource, printer columns, discovery; server-side apply."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from .crd_fixtures import CLUSTER_CRD, CRD

GROUP, VERSION, PLURAL = "cisco.vk", "v1alpha1", "ciscodevices"


@pytest.fixture
def custom(kubeapi: Any) -> client.CustomObjectsApi:
    api = kubeapi.client()
    client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
    return client.CustomObjectsApi(api)


def _device(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CiscoDevice", "metadata": {"name": name}, "spec": spec}


def test_crd_is_established_and_discoverable(kubeapi: Any, custom: client.CustomObjectsApi) -> None:
    crd = client.ApiextensionsV1Api(kubeapi.client()).read_custom_resource_definition("ciscodevices.cisco.vk")
    conds = {c.type: c.status for c in crd.status.conditions}
    assert conds == {"NamesAccepted": "True", "Established": "True"}
    assert crd.status.accepted_names.short_names == ["cdev"]
    res = kubeapi.request("GET", f"/apis/{GROUP}/{VERSION}").json()
    entries = {r["name"]: r for r in res["resources"]}
    assert entries["ciscodevices"]["kind"] == "CiscoDevice"
    assert entries["ciscodevices"]["shortNames"] == ["cdev"]
    assert entries["ciscodevices"]["namespaced"] is True
    assert "ciscodevices/status" in entries
    groups = [g["name"] for g in kubeapi.request("GET", "/apis").json()["groups"]]
    assert GROUP in groups


def test_valid_object_is_defaulted_and_pruned(custom: client.CustomObjectsApi) -> None:
    created = custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        _device("sw1", driver="XE", address="10.0.0.1", unknown="x", options={"free": 1}),
    )
    assert created["spec"] == {"driver": "XE", "address": "10.0.0.1", "port": 830, "options": {"free": 1}}
    assert created["metadata"]["generation"] == 1 and created["metadata"]["uid"]
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert listed["kind"] == "CiscoDeviceList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["sw1"]


def test_invalid_object_is_rejected_with_the_schema_error(custom: client.CustomObjectsApi) -> None:
    with pytest.raises(ApiException) as exc:
        custom.create_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, _device("bad", driver="BAD", port=70000)
        )
    assert exc.value.status == 422
    body = json.loads(exc.value.body)
    assert body["reason"] == "Invalid"
    assert body["message"].startswith('CiscoDevice.cisco.vk "bad" is invalid: [')
    causes = {c["field"]: c for c in body["details"]["causes"]}
    assert causes["spec.driver"]["reason"] == "FieldValueNotSupported"
    assert causes["spec.driver"]["message"] == 'Unsupported value: "BAD": supported values: "XE", "FAKE"'
    assert causes["spec.port"]["reason"] == "FieldValueInvalid"
    assert "70000" in causes["spec.port"]["message"]
    with pytest.raises(ApiException) as exc:
        custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _device("norequired", port=1))
    assert "spec.driver: Required value" in json.loads(exc.value.body)["message"]


def test_cel_rule_is_evaluated(custom: client.CustomObjectsApi) -> None:
    with pytest.raises(ApiException) as exc:
        custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _device("noaddr", driver="XE"))
    assert exc.value.status == 422
    assert "XE devices need an address" in json.loads(exc.value.body)["message"]
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _device("fake", driver="FAKE"))


def test_status_subresource_and_generation(custom: client.CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _device("sw1", driver="FAKE"))
    # Main writes ignore status; status writes ignore everything else.
    obj = custom.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "sw1", {"status": {"phase": "Ready"}}
    )
    assert "status" not in obj and obj["metadata"]["generation"] == 1
    obj = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "sw1", {"spec": {"port": 22}, "status": {"phase": "Ready"}}
    )
    assert obj["status"] == {"phase": "Ready"} and obj["spec"]["port"] == 830
    assert obj["metadata"]["generation"] == 1
    obj = custom.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "sw1", {"spec": {"port": 22}})
    assert obj["metadata"]["generation"] == 2 and obj["status"] == {"phase": "Ready"}


def test_printer_columns_in_table_output(kubeapi: Any, custom: client.CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _device("sw1", driver="FAKE"))
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "sw1", {"status": {"phase": "Ready"}}
    )
    r = kubeapi.request(
        "GET",
        f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    table = r.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Driver", "Port", "Phase", "Age"]
    cells = table["rows"][0]["cells"]
    assert cells[:4] == ["sw1", "FAKE", 830, "Ready"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_cluster_scoped_crd_and_crd_deletion(kubeapi: Any) -> None:
    api = kubeapi.client()
    ext = client.ApiextensionsV1Api(api)
    ext.create_custom_resource_definition(CLUSTER_CRD)
    custom = client.CustomObjectsApi(api)
    custom.create_cluster_custom_object(
        GROUP,
        "v1",
        "sites",
        {"apiVersion": f"{GROUP}/v1", "kind": "Site", "metadata": {"name": "hq"}, "anything": {"goes": True}},
    )
    assert custom.get_cluster_custom_object(GROUP, "v1", "sites", "hq")["anything"] == {"goes": True}
    ext.delete_custom_resource_definition("sites.cisco.vk")
    assert kubeapi.request("GET", f"/apis/{GROUP}/v1/sites").status_code == 404


def test_crd_validation(kubeapi: Any) -> None:
    ext = client.ApiextensionsV1Api(kubeapi.client())
    bad = copy.deepcopy(CRD)
    bad["metadata"]["name"] = "wrong.cisco.vk"
    with pytest.raises(ApiException) as exc:
        ext.create_custom_resource_definition(bad)
    assert exc.value.status == 422
    assert (
        'metadata.name: Invalid value: "wrong.cisco.vk": must be spec.names.plural+"."+spec.group'
        in json.loads(exc.value.body)["message"]
    )
    bad = copy.deepcopy(CRD)
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
        {"rule": "self.driver =="}
    ]
    with pytest.raises(ApiException) as exc:
        ext.create_custom_resource_definition(bad)
    assert exc.value.status == 422
    assert "compilation failed" in json.loads(exc.value.body)["message"]


def test_server_side_apply_creates_updates_and_reports_conflicts(kubeapi: Any) -> None:
    path = "/api/v1/namespaces/default/configmaps/cfg"
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
    ctype = "application/apply-patch+yaml"
    r = kubeapi.request("PATCH", path, yaml.safe_dump(manifest), params={"fieldManager": "alice"}, content_type=ctype)
    assert r.status_code == 201, r.text
    assert r.json()["data"] == {"a": "1"}
    assert [m["manager"] for m in r.json()["metadata"]["managedFields"]] == ["alice"]
    manifest["data"] = {"a": "2", "b": "x"}
    r = kubeapi.request("PATCH", path, yaml.safe_dump(manifest), params={"fieldManager": "alice"}, content_type=ctype)
    assert r.status_code == 200 and r.json()["data"] == {"a": "2", "b": "x"}
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "3"}}
    r = kubeapi.request("PATCH", path, yaml.safe_dump(other), params={"fieldManager": "bob"}, content_type=ctype)
    assert r.status_code == 409
    body = r.json()
    assert body["reason"] == "Conflict"
    assert any(c["field"] == ".data.a" for c in body["details"]["causes"])
    r = kubeapi.request(
        "PATCH", path, yaml.safe_dump(other), params={"fieldManager": "bob", "force": "true"}, content_type=ctype
    )
    assert r.status_code == 200 and r.json()["data"]["a"] == "3"
    r = kubeapi.request("PATCH", path, yaml.safe_dump(other), content_type=ctype)
    assert r.status_code == 400 and "fieldManager" in r.json()["message"]


def test_strategic_merge_patch_merges_lists_by_key(kubeapi: Any, custom: client.CustomObjectsApi) -> None:
    core = client.CoreV1Api(kubeapi.client())
    core.create_node(
        {
            "metadata": {"name": "n1"},
            "status": {
                "conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "False"}]
            },
        }
    )
    node = core.patch_node_status("n1", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert {c.type: c.status for c in node.status.conditions} == {"Ready": "True", "DiskPressure": "False"}
    node = core.patch_node_status("n1", {"status": {"conditions": [{"type": "DiskPressure", "$patch": "delete"}]}})
    assert [c.type for c in node.status.conditions] == ["Ready"]
    # spec.taints is atomic (no patch strategy on the Go type): a patch replaces the list.
    core.patch_node("n1", {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}})
    node = core.patch_node("n1", {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}})
    assert [t.key for t in node.spec.taints] == ["b"]
    node = core.patch_node_status("n1", {"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}})
    node = core.patch_node_status("n1", {"status": {"addresses": [{"type": "Hostname", "address": "sw1"}]}})
    assert {a.type for a in node.status.addresses} == {"InternalIP", "Hostname"}
    apps = client.AppsV1Api(kubeapi.client())
    containers = [{"name": "a", "image": "x:1", "env": [{"name": "A", "value": "1"}]}, {"name": "b", "image": "y:1"}]
    apps.create_namespaced_deployment(
        "default",
        {
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": containers}},
            },
        },
    )
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "a", "image": "x:2", "env": [{"name": "B", "value": "2"}]}]}}
        }
    }
    dep = apps.patch_namespaced_deployment("d", "default", patch)
    got = dep.spec.template.spec.containers
    assert [(c.name, c.image) for c in got] == [("a", "x:2"), ("b", "y:1")]
    assert sorted((e.name, e.value) for e in got[0].env) == [("A", "1"), ("B", "2")]
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _device("x", driver="FAKE"))
    # Custom resources do not support strategic merge patch (as on a real server).
    r = kubeapi.request(
        "PATCH",
        f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}/x",
        {"spec": {}},
        content_type="application/strategic-merge-patch+json",
    )
    assert r.status_code == 415
    assert r.json()["reason"] == "UnsupportedMediaType"


@pytest.mark.parametrize("version", ["v2", "v2beta1"])
def test_aggregated_discovery(kubeapi: Any, custom: client.CustomObjectsApi, version: str) -> None:
    accept = f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList,application/json"
    r = kubeapi.request("GET", "/apis", headers={"Accept": accept})
    assert r.headers["Content-Type"] == f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
    doc = r.json()
    assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == f"apidiscovery.k8s.io/{version}"
    groups = {g["metadata"]["name"]: g for g in doc["items"]}
    devices = {r["resource"]: r for r in groups[GROUP]["versions"][0]["resources"]}["ciscodevices"]
    assert devices["responseKind"] == {"group": GROUP, "version": VERSION, "kind": "CiscoDevice"}
    assert devices["scope"] == "Namespaced" and devices["shortNames"] == ["cdev"]
    assert [s["subresource"] for s in devices["subresources"]] == ["status"]
    core = kubeapi.request("GET", "/api", headers={"Accept": accept}).json()
    pods = {r["resource"]: r for r in core["items"][0]["versions"][0]["resources"]}["pods"]
    assert {"log", "exec", "status"} <= {s["subresource"] for s in pods["subresources"]}
    # Without the aggregated type in Accept, the legacy documents are served.
    assert kubeapi.request("GET", "/apis").json()["kind"] == "APIGroupList"


def test_reset_forgets_objects_and_crds(kubeapi: Any, custom: client.CustomObjectsApi) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _device("sw1", driver="FAKE"))
    core = client.CoreV1Api(kubeapi.client())
    core.create_namespace({"metadata": {"name": "extra"}})
    kubeapi.server.deny("admin:list:pods")
    kubeapi.server.reset()
    assert sorted(n.metadata.name for n in core.list_namespace().items) == [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]
    assert kubeapi.request("GET", f"/apis/{GROUP}/{VERSION}").status_code == 404
    assert kubeapi.request("GET", "/api/v1/pods").status_code == 200


def test_updates_record_managed_fields_so_apply_conflicts(kubeapi: Any) -> None:
    """A plain write owns the fields it set (operation Update): a later apply of them conflicts."""
    core = client.CoreV1Api(kubeapi.client())
    core.create_namespaced_config_map("default", {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    r = kubeapi.request(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/cm",
        {"data": {"a": "2"}},
        params={"fieldManager": "editor"},
        content_type="application/merge-patch+json",
    )
    managers = {(m["manager"], m["operation"]) for m in r.json()["metadata"]["managedFields"]}
    assert ("editor", "Update") in managers
    applied = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: '3'}\n"
    r = kubeapi.request(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/cm",
        applied,
        params={"fieldManager": "gitops"},
        content_type="application/apply-patch+yaml",
    )
    assert r.status_code == 409, r.text
    assert '"editor"' in r.json()["details"]["causes"][0]["message"]
