"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hack.kubeapi.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch

# RFC 7386 appendix A (the cases whose target and patch are objects).
MERGE_CASES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    # kubectl patch --type merge on a pod
    (
        {"metadata": {"labels": {"app": "web", "x": "1"}}, "spec": {"containers": [{"name": "a"}]}},
        {"metadata": {"labels": {"x": None, "y": "2"}}, "spec": {"containers": [{"name": "b"}]}},
        {"metadata": {"labels": {"app": "web", "y": "2"}}, "spec": {"containers": [{"name": "b"}]}},
    ),
]


@pytest.mark.parametrize(("target", "patch", "expected"), MERGE_CASES)
def test_json_merge_patch(target: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(target)
    assert json_merge_patch(target, patch) == expected
    assert target == before


def test_json_merge_patch_rejects_non_object() -> None:
    with pytest.raises(PatchError) as info:
        json_merge_patch({}, ["a"])  # type: ignore[arg-type]
    assert info.value.status == 400


# RFC 6902 appendix A, plus the kubectl patch --type json shapes.
JSON_PATCH_CASES = [
    # evanphx/json-patch (the real server's) accepts leading zeros in indexes and a null test of a missing key
    ({"foo": [1]}, [{"op": "add", "path": "/foo/01", "value": 2}], {"foo": [1, 2]}),
    ({"a": {}}, [{"op": "test", "path": "/a/b", "value": None}], {"a": {}}),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    (
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    (
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    (
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": 1}, "c": {"b": 1}}),
    (
        {"metadata": {"labels": {"app.kubernetes.io/name": "x"}}},
        [{"op": "remove", "path": "/metadata/labels/app.kubernetes.io~1name"}],
        {"metadata": {"labels": {}}},
    ),
    ({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}], {"a": 1}),
    ({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
    (
        {"spec": {"taints": [{"key": "a"}]}},
        [{"op": "add", "path": "/spec/taints/0", "value": {"key": "b"}}],
        {"spec": {"taints": [{"key": "b"}, {"key": "a"}]}},
    ),
]


@pytest.mark.parametrize(("target", "ops", "expected"), JSON_PATCH_CASES)
def test_json_patch(target: dict[str, Any], ops: list[Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(target)
    assert json_patch(target, ops) == expected
    assert target == before


JSON_PATCH_ERRORS = [
    (
        {"a": {}},
        [{"op": "remove", "path": "/a/b/c"}],
        'remove operation does not apply: doc is missing path: "/a/b/c": missing value',
        422,
    ),
    (
        {"a": {}},
        [{"op": "replace", "path": "/x/y", "value": 1}],
        "replace operation does not apply: doc is missing path: /x/y: missing value",
        422,
    ),
    (
        {"a": {}},
        [{"op": "copy", "from": "/x/y", "path": "/b"}],
        "copy operation does not apply: doc is missing from path: /x/y: missing value",
        422,
    ),
    (
        {"a": {}},
        [{"op": "test", "path": "/x/y", "value": 1}],
        "test operation does not apply: is missing path: /x/y: missing value",
        422,
    ),
    (
        {"a": [1]},
        [{"op": "remove", "path": "/a/3"}],
        "error in remove for path: '/a/3': Unable to access invalid index: 3: invalid index referenced",
        422,
    ),
    (
        {"baz": "qux"},
        [{"op": "test", "path": "/baz", "value": "bar"}],
        "testing value /baz failed: test failed",
        422,
    ),
    (
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": "10"}],
        "testing value /~01 failed: test failed",
        422,
    ),
    ({"a": True}, [{"op": "test", "path": "/a", "value": 1}], "testing value /a failed: test failed", 422),
    ({"a": 1}, [{"op": "test", "path": "/b", "value": 1}], "testing value /b failed: test failed", 422),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/baz/bat", "value": "qux"}],
        'add operation does not apply: doc is missing path: "/baz/bat": missing value',
        422,
    ),
    (
        {"foo": "bar"},
        [{"op": "remove", "path": "/nope"}],
        "error in remove for path: '/nope': Unable to remove nonexistent key: nope: missing value",
        422,
    ),
    (
        {"foo": "bar"},
        [{"op": "replace", "path": "/nope", "value": 1}],
        "replace operation does not apply: doc is missing key: /nope: missing value",
        422,
    ),
    (
        {"foo": "bar"},
        [{"op": "move", "from": "/nope", "path": "/x"}],
        "error in move for path: '/nope': Unable to remove nonexistent key: nope: missing value",
        422,
    ),
    (
        {"foo": [1]},
        [{"op": "add", "path": "/foo/5", "value": 2}],
        "error in add for path: '/foo/5': Unable to access invalid index: 5: invalid index referenced",
        422,
    ),
    (
        {"foo": [1]},
        [{"op": "add", "path": "/foo/x", "value": 2}],
        "error in add for path: '/foo/x': value was not a proper array index: 'x'",
        422,
    ),
    (
        {"a": {}},
        [{"op": "move", "from": "/a", "path": "/a/b"}],
        'move operation cannot move "/a" into its own child "/a/b"',
        422,
    ),
    ({}, [{"op": "frobnicate", "path": "/a"}], "Unexpected kind: frobnicate", 400),
    (
        {},
        [{"op": "add", "path": "a", "value": 1}],
        "JSON pointer must be empty or start with a \"/\": 'a'",
        400,
    ),
    ({}, [{"op": "add", "path": "/a"}], "add operation missing 'value' (path '/a')", 400),
    ({}, ["add"], 'JSON patch operation must be an object, got "add"', 400),
]


@pytest.mark.parametrize(("target", "ops", "message", "status"), JSON_PATCH_ERRORS)
def test_json_patch_errors(target: dict[str, Any], ops: list[Any], message: str, status: int) -> None:
    with pytest.raises(PatchError) as info:
        json_patch(target, ops)
    assert info.value.message == message
    assert info.value.status == status


def test_json_patch_failed_op_leaves_target_untouched() -> None:
    target = {"a": [1, 2]}
    with pytest.raises(PatchError):
        json_patch(target, [{"op": "remove", "path": "/a/0"}, {"op": "test", "path": "/a/0", "value": 1}])
    assert target == {"a": [1, 2]}


def _pod(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": spec,
    }


POD = {
    "metadata": {
        "name": "p",
        "labels": {"app": "web", "tier": "fe"},
        "finalizers": ["a.io/x", "b.io/y"],
        "ownerReferences": [{"uid": "u1", "kind": "ReplicaSet", "name": "rs1", "controller": True}],
    },
    "spec": {
        "nodeName": "sw1",
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            },
            {"name": "side", "image": "side:1"},
        ],
        "initContainers": [{"name": "init", "image": "init:1"}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}],
        "securityContext": {"runAsUser": 1000, "fsGroup": 2000},
    },
    "status": {
        "phase": "Pending",
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
        ],
        "containerStatuses": [
            {"name": "app", "ready": False, "state": {"waiting": {"reason": "ContainerCreating"}}},
            {"name": "side", "ready": False, "state": {"waiting": {"reason": "ContainerCreating"}}},
        ],
    },
}


def _at(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


SMP_POD_CASES = [
    (
        "container merged by name, env by name (order kept, new appended)",
        {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "app:2",
                        "env": [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}],
                    }
                ]
            }
        },
        "spec.containers",
        [
            {
                "name": "app",
                "image": "app:2",
                "env": [
                    {"name": "X", "value": "1"},
                    {"name": "Y", "value": "3"},
                    {"name": "Z", "value": "4"},
                ],
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            },
            {"name": "side", "image": "side:1"},
        ],
    ),
    (
        "$patch: delete removes a container by merge key",
        {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
        "spec.containers.0.name",
        "app",
    ),
    (
        "$patch: delete element count",
        {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
        "spec.containers.__len__",
        1,
    ),
    (
        "$patch: replace replaces the list",
        {"spec": {"containers": [{"name": "new", "image": "n:1"}, {"$patch": "replace"}]}},
        "spec.containers",
        [{"name": "new", "image": "n:1"}],
    ),
    (
        "ports merged by containerPort",
        {
            "spec": {
                "containers": [
                    {"name": "app", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]}
                ]
            }
        },
        "spec.containers.0.ports",
        [{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}],
    ),
    (
        "volumeMounts merged by mountPath",
        {"spec": {"containers": [{"name": "app", "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]}},
        "spec.containers.0.volumeMounts",
        [{"name": "data", "mountPath": "/data", "readOnly": True}],
    ),
    (
        # apimachinery's mergeSortedSlice: a new item not in the live list goes before server-only items
        "volumes merged by name (new item first, as the real server orders it)",
        {"spec": {"volumes": [{"name": "cfg", "configMap": {"name": "c"}}]}},
        "spec.volumes",
        [{"name": "cfg", "configMap": {"name": "c"}}, {"name": "data", "emptyDir": {}}],
    ),
    (
        "initContainers merged by name",
        {"spec": {"initContainers": [{"name": "init", "image": "init:2"}]}},
        "spec.initContainers",
        [{"name": "init", "image": "init:2"}],
    ),
    (
        "tolerations are atomic",
        {"spec": {"tolerations": [{"key": "c", "operator": "Exists"}]}},
        "spec.tolerations",
        [{"key": "c", "operator": "Exists"}],
    ),
    (
        "status conditions merged by type",
        {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": None}]}},
        "status.conditions",
        [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
    ),
    (
        "containerStatuses are atomic like the real server (a state change does not leave 'waiting')",
        {"status": {"containerStatuses": [{"name": "app", "ready": True, "state": {"running": {}}}]}},
        "status.containerStatuses",
        [{"name": "app", "ready": True, "state": {"running": {}}}],
    ),
    (
        "null deletes a key",
        {"metadata": {"labels": {"tier": None}}, "spec": {"nodeName": None}},
        "metadata.labels",
        {"app": "web"},
    ),
    (
        "finalizers merge as a set",
        {"metadata": {"finalizers": ["b.io/y", "c.io/z"]}},
        "metadata.finalizers",
        ["a.io/x", "b.io/y", "c.io/z"],
    ),
    (
        "$deleteFromPrimitiveList/finalizers",
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.io/x"]}},
        "metadata.finalizers",
        ["b.io/y"],
    ),
    (
        "ownerReferences merged by uid",
        {
            "metadata": {
                "ownerReferences": [
                    {"uid": "u2", "kind": "Node", "name": "n"},
                    {"uid": "u1", "blockOwnerDeletion": True},
                ]
            }
        },
        "metadata.ownerReferences",
        [
            {"uid": "u2", "kind": "Node", "name": "n"},
            {
                "uid": "u1",
                "kind": "ReplicaSet",
                "name": "rs1",
                "controller": True,
                "blockOwnerDeletion": True,
            },
        ],
    ),
    (
        "$patch: delete on a map empties it",
        {"spec": {"securityContext": {"$patch": "delete"}}},
        "spec.securityContext",
        {},
    ),
    (
        "$patch: replace on a map replaces it",
        {"spec": {"securityContext": {"$patch": "replace", "runAsUser": 5}}},
        "spec.securityContext",
        {"runAsUser": 5},
    ),
    (
        "$setElementOrder reorders containers",
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                "containers": [{"name": "side", "image": "side:2"}],
            }
        },
        "spec.containers.__names__",
        ["side", "app"],
    ),
    (
        "$setElementOrder alone reorders",
        {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "app"}]}},
        "spec.containers.__names__",
        ["side", "app"],
    ),
    (
        "a new list is cleaned of directives",
        {
            "spec": {
                "ephemeralContainers": [
                    {"name": "dbg", "image": "busybox"},
                    {"name": "x", "$patch": "delete"},
                ]
            }
        },
        "spec.ephemeralContainers",
        [{"name": "dbg", "image": "busybox"}],
    ),
    (
        "new map values drop nulls",
        {"spec": {"affinity": {"nodeAffinity": {"x": None, "y": 1}}}},
        "spec.affinity",
        {"nodeAffinity": {"y": 1}},
    ),
]


def _pick(obj: dict[str, Any], path: str) -> Any:
    if path.endswith(".__len__"):
        return len(_at(obj, path[: -len(".__len__")]))
    if path.endswith(".__names__"):
        return [c["name"] for c in _at(obj, path[: -len(".__names__")])]
    return _at(obj, path)


@pytest.mark.parametrize(("name", "patch", "path", "expected"), SMP_POD_CASES, ids=[c[0] for c in SMP_POD_CASES])
def test_strategic_merge_patch_pod(name: str, patch: dict[str, Any], path: str, expected: Any) -> None:
    before = copy.deepcopy(POD)
    patch_before = copy.deepcopy(patch)
    result = strategic_merge_patch(POD, patch, "Pod")
    assert _pick(result, path) == expected
    assert before == POD
    assert patch == patch_before


def test_smp_null_deletes_nodename() -> None:
    result = strategic_merge_patch(POD, {"spec": {"nodeName": None}}, "Pod")
    assert "nodeName" not in result["spec"]


NODE = {
    "metadata": {"name": "sw1"},
    "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}], "podCIDRs": ["10.0.0.0/24"]},
    "status": {
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "MemoryPressure", "status": "False"}],
        "addresses": [{"type": "InternalIP", "address": "10.1.1.1"}, {"type": "Hostname", "address": "sw1"}],
        "images": [{"names": ["a:1"]}],
        "capacity": {"cpu": "4", "pods": "16"},
    },
}


def test_smp_node_status_as_the_node_controller_sends_it() -> None:
    patch = {
        "status": {
            "$setElementOrder/conditions": [{"type": "Ready"}, {"type": "MemoryPressure"}],
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"}],
            "addresses": [{"type": "InternalIP", "address": "10.1.1.2"}],
            "images": [{"names": ["b:1"]}],
            "capacity": {"cpu": "8"},
        }
    }
    result = strategic_merge_patch(NODE, patch, "Node")
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"},
        {"type": "MemoryPressure", "status": "False"},
    ]
    assert result["status"]["addresses"] == [
        {"type": "InternalIP", "address": "10.1.1.2"},
        {"type": "Hostname", "address": "sw1"},
    ]
    assert result["status"]["images"] == [{"names": ["b:1"]}]
    assert result["status"]["capacity"] == {"cpu": "8", "pods": "16"}


def test_smp_node_taints_are_atomic_and_podcidrs_a_set() -> None:
    result = strategic_merge_patch(
        NODE, {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}], "podCIDRs": ["10.0.1.0/24"]}}, "Node"
    )
    assert result["spec"]["taints"] == [{"key": "b", "effect": "NoExecute"}]
    assert result["spec"]["podCIDRs"] == ["10.0.1.0/24", "10.0.0.0/24"]


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "d", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
    "spec": {
        "replicas": 1,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "template": {
            "metadata": {"labels": {"app": "d"}},
            "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]},
        },
    },
}


def test_smp_kubectl_apply_style_deployment_patch() -> None:
    # What kubectl apply (client side) sends after editing the manifest: new image, Recreate strategy.
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"new":1}'}},
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                    "containers": [{"image": "a:2", "name": "a"}],
                }
            },
        },
    }
    result = strategic_merge_patch(DEPLOYMENT, patch, "Deployment")
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "a", "image": "a:2"},
        {"name": "b", "image": "b:1"},
    ]
    assert result["spec"]["replicas"] == 1


def test_smp_replicaset_template_containers() -> None:
    rs = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a:1", "env": [{"name": "E"}]}]}}}}
    result = strategic_merge_patch(
        rs,
        {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "F"}]}]}}}},
        "ReplicaSet",
    )
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "a", "image": "a:1", "env": [{"name": "F"}, {"name": "E"}]}
    ]


def test_smp_unknown_kind_is_merge_patch() -> None:
    obj = {"spec": {"taints": [{"key": "a"}], "labels": {"x": "1"}}}
    patch = {"spec": {"taints": [{"key": "b"}], "labels": {"x": None}}}
    assert strategic_merge_patch(obj, patch, "CiscoDevice") == {"spec": {"taints": [{"key": "b"}], "labels": {}}}


SMP_ERRORS = [
    (
        {"spec": {"containers": [{"image": "x"}]}},
        "map: map[image:x] does not contain declared merge key: name",
        422,
    ),
    (
        {"spec": {"containers": [{"$patch": "delete"}]}},
        "map: map[$patch:delete] does not contain declared merge key: name",
        422,
    ),
    (
        {"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}},
        "unknown patch type: bogus in map: map[$patch:bogus name:a]",
        400,
    ),
    (
        {"spec": {"securityContext": {"$patch": "bogus"}}},
        "unknown patch type: bogus in map: map[$patch:bogus]",
        400,
    ),
    (
        {"spec": {"securityContext": {"$retainKeys": ["a"], "runAsUser": 1}}},
        "invalid patch format of retainKeys",
        400,
    ),
    ({"spec": {"securityContext": {"$retainKeys": "a"}}}, "invalid patch format of retainKeys", 400),
    (
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
        "invalid patch format of primitive list",
        400,
    ),
    (
        {"spec": {"$setElementOrder/containers": [{"image": "x"}]}},
        "invalid patch format of setElementOrder list",
        400,
    ),
    ({"spec": {"containers": [["a"]]}}, "lists of lists are not supported", 422),
]


@pytest.mark.parametrize(("patch", "message", "status"), SMP_ERRORS)
def test_smp_errors(patch: dict[str, Any], message: str, status: int) -> None:
    with pytest.raises(PatchError) as info:
        strategic_merge_patch(POD, patch, "Pod")
    assert info.value.message == message
    assert info.value.status == status


def test_smp_service_ports_by_port() -> None:
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    result = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, "Service")
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_smp_top_level_fields_untouched() -> None:
    result = strategic_merge_patch(_pod(nodeName="a"), {"metadata": {"labels": {"a": "b"}}}, "Pod")
    assert result["spec"] == {"nodeName": "a"}
    assert result["metadata"]["labels"] == {"a": "b"}
