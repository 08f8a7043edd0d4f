"""Server-side apply: managedFields, conflicts, force, removal of fields the applier dropped."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hack.kubeapi.patch import ApplyConflict, PatchError, server_side_apply, track_update


def _deployment(replicas: int = 2, containers: list[dict[str, Any]] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", **meta},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers or [{"name": "app", "image": "app:1"}]},
            },
        },
    }


def _entry(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    entries = [e for e in obj["metadata"]["managedFields"] if e["manager"] == manager]
    assert len(entries) == 1, obj["metadata"]["managedFields"]
    return entries[0]


def test_create_records_the_appliers_fields() -> None:
    applied = _deployment(labels={"tier": "fe"}, finalizers=["example.com/x"])
    before = copy.deepcopy(applied)
    obj = server_side_apply(None, applied, "kubectl", False, "Deployment")
    assert applied == before
    assert obj["spec"] == applied["spec"]
    [entry] = obj["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl"
    assert entry["operation"] == "Apply"
    assert entry["apiVersion"] == "apps/v1"
    assert entry["fieldsType"] == "FieldsV1"
    assert entry["time"].endswith("Z")
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:finalizers": {'v:"example.com/x"': {}}, "f:labels": {"f:tier": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {"f:matchLabels": {"f:app": {}}},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:image": {}, "f:name": {}}}},
            },
        },
    }


def test_reapply_changes_values_and_removes_dropped_fields() -> None:
    first = _deployment(
        containers=[{"name": "app", "image": "app:1"}, {"name": "side", "image": "s:1"}],
        labels={"tier": "fe", "keep": "yes"},
    )
    live = server_side_apply(None, first, "kubectl", False, "Deployment")
    live["metadata"]["uid"] = "u1"
    live["status"] = {"replicas": 2}
    second = _deployment(replicas=3, containers=[{"name": "app", "image": "app:2"}], labels={"keep": "yes"})
    obj = server_side_apply(live, second, "kubectl", False, "Deployment")
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "app:2"}]
    assert obj["metadata"]["labels"] == {"keep": "yes"}
    assert obj["metadata"]["uid"] == "u1"
    assert obj["status"] == {"replicas": 2}  # not the applier's
    assert len(obj["metadata"]["managedFields"]) == 1
    containers = _entry(obj, "kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(containers) == ['k:{"name":"app"}']


def test_conflict_with_another_applier_and_force() -> None:
    live = server_side_apply(None, _deployment(replicas=2), "kubectl", False, "Deployment")
    scale = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 5}}
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(live, scale, "autoscaler", False, "Deployment")
    assert info.value.message == 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'
    assert info.value.fields == [".spec.replicas"]
    assert info.value.causes == [("kubectl", ".spec.replicas")]

    forced = server_side_apply(live, scale, "autoscaler", True, "Deployment")
    assert forced["spec"]["replicas"] == 5
    assert forced["spec"]["template"] == live["spec"]["template"]
    assert "f:replicas" not in _entry(forced, "kubectl")["fieldsV1"]["f:spec"]
    assert _entry(forced, "autoscaler")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}

    # kubectl no longer owns replicas: its next apply without replicas leaves the autoscaler's value alone.
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(forced, _deployment(replicas=2), "kubectl", False, "Deployment")
    assert info.value.causes == [("autoscaler", ".spec.replicas")]
    no_replicas = _deployment()
    del no_replicas["spec"]["replicas"]
    kept = server_side_apply(forced, no_replicas, "kubectl", False, "Deployment")
    assert kept["spec"]["replicas"] == 5


def test_same_value_is_shared_not_a_conflict() -> None:
    live = server_side_apply(None, _deployment(replicas=2), "a", False, "Deployment")
    shared = server_side_apply(live, _deployment(replicas=2), "b", False, "Deployment")
    assert {e["manager"] for e in shared["metadata"]["managedFields"]} == {"a", "b"}
    without = _deployment()
    del without["spec"]["replicas"]
    obj = server_side_apply(shared, without, "a", False, "Deployment")
    assert obj["spec"]["replicas"] == 2  # b still owns it


def test_objects_without_managed_fields_belong_to_before_first_apply() -> None:
    live = _deployment(replicas=1)
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(live, _deployment(replicas=4), "kubectl", False, "Deployment")
    assert info.value.message == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas'
    )
    obj = server_side_apply(live, _deployment(replicas=1), "kubectl", False, "Deployment")
    assert {e["manager"] for e in obj["metadata"]["managedFields"]} == {"before-first-apply", "kubectl"}


def test_several_conflicts_grouped_by_manager() -> None:
    live = _deployment(replicas=1)
    live["metadata"]["managedFields"] = [
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": "2026-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        },
        {
            "manager": "helm",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:spec": {
                    "f:template": {
                        "f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:image": {}, "f:name": {}}}}
                    }
                }
            },
        },
    ]
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(
            live,
            _deployment(replicas=3, containers=[{"name": "app", "image": "app:9"}]),
            "kubectl",
            False,
            "Deployment",
        )
    assert info.value.message == (
        "Apply failed with 2 conflicts: "
        'conflicts with "helm":\n- .spec.template.spec.containers[name="app"].image\n'
        'conflicts with "kube-controller-manager" using apps/v1 at 2026-01-01T00:00:00Z:\n- .spec.replicas'
    )
    assert sorted(info.value.fields) == [".spec.replicas", '.spec.template.spec.containers[name="app"].image']


def test_status_is_applied_only_through_the_status_subresource() -> None:
    live = server_side_apply(None, _deployment(), "kubectl", False, "Deployment")
    with_status = {**_deployment(), "status": {"replicas": 9}}
    main = server_side_apply(live, with_status, "kubectl", False, "Deployment")
    assert "status" not in main
    status = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
    }
    obj = server_side_apply(main, status, "ctrl", False, "Deployment", subresource="status")
    assert obj["status"]["replicas"] == 2
    entry = _entry(obj, "ctrl")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {
        "f:status": {
            "f:conditions": {'k:{"type":"Available"}': {".": {}, "f:status": {}, "f:type": {}}},
            "f:replicas": {},
        }
    }
    assert obj["spec"] == live["spec"]


def test_custom_resources_have_atomic_lists() -> None:
    device = {
        "apiVersion": "cisco.vk/v1alpha1",
        "kind": "CiscoDevice",
        "metadata": {"name": "sw1"},
        "spec": {"driver": "XE", "taints": [{"key": "a", "effect": "NoSchedule"}]},
    }
    obj = server_side_apply(None, device, "kubectl", False, "CiscoDevice")
    assert _entry(obj, "kubectl")["fieldsV1"] == {"f:spec": {"f:driver": {}, "f:taints": {}}}
    changed = copy.deepcopy(device)
    changed["spec"]["taints"] = [{"key": "b", "effect": "NoExecute"}]
    obj2 = server_side_apply(obj, changed, "kubectl", False, "CiscoDevice")
    assert obj2["spec"]["taints"] == [{"key": "b", "effect": "NoExecute"}]
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(obj2, changed | {"spec": {"taints": []}}, "other", False, "CiscoDevice")
    assert info.value.fields == [".spec.taints"]


def test_finalizers_are_a_set_per_manager() -> None:
    live = server_side_apply(None, _deployment(finalizers=["a/x"]), "one", False, "Deployment")
    both = server_side_apply(live, _deployment(finalizers=["b/y"]), "two", False, "Deployment")
    assert both["metadata"]["finalizers"] == ["a/x", "b/y"]
    dropped = server_side_apply(both, _deployment(), "one", False, "Deployment")
    assert dropped["metadata"]["finalizers"] == ["b/y"]


@pytest.mark.parametrize(
    ("applied", "manager", "message"),
    [
        (["not", "an", "object"], "kubectl", "apply patch must be a JSON or YAML object"),
        ({"apiVersion": "v1", "kind": "Pod"}, "", "fieldManager: Required value: is required for apply patch"),
    ],
)
def test_bad_apply_input(applied: Any, manager: str, message: str) -> None:
    with pytest.raises(PatchError) as info:
        server_side_apply(None, applied, manager, False, "Pod")
    assert info.value.message == message
    assert info.value.status == 400


def test_applied_empty_map_survives_a_dot_entry_from_the_live_object() -> None:
    # kubectl's client-side-apply migration writes ".: {}" for maps it owns together with their children.
    live = {
        "apiVersion": "cisco.vk/v1alpha1",
        "kind": "CiscoDevice",
        "metadata": {
            "name": "sw1",
            "managedFields": [
                {
                    "manager": "kubectl",
                    "operation": "Apply",
                    "apiVersion": "cisco.vk/v1alpha1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:vpg": {".": {}, "f:dhcp": {}}, "f:driver": {}}},
                }
            ],
        },
        "spec": {"driver": "XE", "vpg": {"dhcp": True}},
    }
    applied = {
        "apiVersion": "cisco.vk/v1alpha1",
        "kind": "CiscoDevice",
        "metadata": {"name": "sw1"},
        "spec": {"driver": "XE", "vpg": {}},
    }
    obj = server_side_apply(live, applied, "kubectl", False, "CiscoDevice")
    assert obj["spec"] == {"driver": "XE", "vpg": {}}
    assert _entry(obj, "kubectl")["fieldsV1"] == {"f:spec": {"f:driver": {}, "f:vpg": {}}}


def test_track_update_gives_changed_fields_to_the_writer() -> None:
    created = _deployment(replicas=1)
    created["metadata"]["managedFields"] = track_update(None, created, "kubectl-create", "Deployment")
    [entry] = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("kubectl-create", "Update", "apps/v1")
    assert entry["fieldsV1"]["f:spec"]["f:replicas"] == {}

    scaled = copy.deepcopy(created)
    scaled["spec"]["replicas"] = 3
    del scaled["spec"]["template"]["metadata"]
    scaled["metadata"]["managedFields"] = track_update(created, scaled, "kubectl-scale", "Deployment")
    create_entry = _entry(scaled, "kubectl-create")
    assert "f:replicas" not in create_entry["fieldsV1"]["f:spec"]
    assert "f:metadata" not in create_entry["fieldsV1"]["f:spec"]["f:template"]
    assert _entry(scaled, "kubectl-scale")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}

    # A later apply of a different replicas value conflicts with the writer, as on a real server.
    with pytest.raises(ApplyConflict) as info:
        server_side_apply(scaled, _deployment(replicas=1), "kubectl", False, "Deployment")
    assert ("kubectl-scale", ".spec.replicas") in info.value.causes
    assert 'conflict with "kubectl-scale" using apps/v1' in info.value.message

    status = copy.deepcopy(scaled)
    status["status"] = {"replicas": 3}
    fields = track_update(scaled, status, "kube-controller-manager", "Deployment", subresource="status")
    ctrl = [e for e in fields if e["manager"] == "kube-controller-manager"]
    assert ctrl[0]["subresource"] == "status"
    assert ctrl[0]["fieldsV1"] == {"f:status": {"f:replicas": {}}}
    assert len(fields) == 3


def test_track_update_drops_managers_left_with_nothing() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    obj["metadata"]["managedFields"] = track_update(None, obj, "one", "ConfigMap")
    new = copy.deepcopy(obj)
    new["data"] = {"a": "2"}
    fields = track_update(obj, new, "two", "ConfigMap")
    assert [e["manager"] for e in fields] == ["two"]
    assert fields[0]["fieldsV1"] == {"f:data": {"f:a": {}}}
