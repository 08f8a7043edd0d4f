"""PATCH semantics of the API server: JSON merge patch, JSON patch, strategic merge patch, server-side apply.

All functions are pure: they never modify their arguments and return a new object.

- ``json_merge_patch``: RFC 7386 (``application/merge-patch+json``).
- ``json_patch``: RFC 6902 (``application/json-patch+json``): add, remove, replace, move, copy, test,
  ``~0``/``~1`` escapes, ``-`` to append; failures carry evanphx/json-patch's wording.
- ``strategic_merge_patch``: ``application/strategic-merge-patch+json`` with the patch strategies of
  the real Go types (``patchStrategy``/``patchMergeKey`` struct tags) for the kinds in
  ``STRATEGIC_KINDS``; the directives ``$patch: delete|replace``, ``$retainKeys``,
  ``$setElementOrder/<list>`` and ``$deleteFromPrimitiveList/<list>``; ``null`` deletes a key; list
  order follows the apimachinery rules (patch order, server-only items kept in place). Lists without
  a strategy are atomic (replaced), exactly like the real server: that includes ``spec.tolerations``,
  ``status.containerStatuses`` and Node ``spec.taints``. Kinds without a table fall back to JSON merge
  patch (the server answers 415 for custom resources before calling this).
- ``server_side_apply``: ``application/apply-patch+yaml``, see its docstring.
- ``track_update``: the ``managedFields`` a create/update/patch leaves behind (operation Update), so
  that appliers conflict with other writers as on a real server.

``PatchError.status`` is the HTTP status the real server uses for the failure (400 for a malformed
patch document, 422 when a well-formed patch cannot be applied).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "STRATEGIC_KINDS",
    "ApplyConflict",
    "PatchError",
    "json_merge_patch",
    "json_patch",
    "server_side_apply",
    "strategic_merge_patch",
    "track_update",
]

JSON = Any


class PatchError(Exception):
    """A patch that is malformed (``status`` 400) or cannot be applied (``status`` 422)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ApplyConflict(Exception):
    """Server-side apply would change fields owned by other managers; ``fields`` lists them.

    The server answers 409 Conflict with one ``FieldManagerConflict`` cause per entry of ``causes``
    (``(manager, field)`` pairs; ``field`` is written like ``.spec.replicas``).
    """

    def __init__(self, message: str, fields: list[str], causes: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields
        self.causes = causes or []


def json_equal(a: JSON, b: JSON) -> bool:
    """Equality of JSON values: 1 == 1.0, but booleans never equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _dump(value: JSON) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------------
# RFC 7386 JSON merge patch


def _merge(target: JSON, patch: JSON) -> JSON:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, JSON] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def json_merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply an RFC 7386 merge patch: objects merge recursively, ``null`` deletes, the rest replaces."""
    if not isinstance(patch, dict):
        raise PatchError("a merge patch for an object must be a JSON object", status=400)
    result = _merge(copy.deepcopy(target), patch)
    assert isinstance(result, dict)
    return result


# ---------------------------------------------------------------------------------------------------
# RFC 6902 JSON patch (failure texts are evanphx/json-patch v4's, which the real server returns)

_MISSING_VALUE = "missing value"
_INVALID_INDEX = "invalid index referenced"


def _pointer(path: Any, what: str = "path") -> list[str]:
    if not isinstance(path, str):
        raise PatchError(f"operation missing or invalid {what!r} (a JSON pointer string)", status=400)
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"JSON pointer must be empty or start with a \"/\": {path!r}", status=400)
    return [tok.replace("~1", "/").replace("~0", "~") for tok in path[1:].split("/")]


def _array_index(token: str) -> int | None:
    """strconv.Atoi as evanphx uses it (leading zeros and a sign are accepted)."""
    body = token[1:] if token[:1] in "+-" else token
    return int(token) if body.isdigit() else None


def _find_parent(doc: JSON, tokens: list[str]) -> JSON:
    """findObject: the container holding the last token, or None."""
    cur = doc
    for tok in tokens[:-1]:
        if isinstance(cur, dict):
            if tok not in cur:
                return None
            cur = cur[tok]
        elif isinstance(cur, list):
            idx = _array_index(tok)
            if idx is None or not 0 <= idx < len(cur):
                return None
            cur = cur[idx]
        else:
            return None
    return cur if isinstance(cur, (dict, list)) else None


def _container_get(parent: JSON, key: str) -> JSON:
    if isinstance(parent, dict):
        return parent.get(key, _MISSING_JP)
    idx = _array_index(key)
    if idx is None or not 0 <= idx < len(parent):
        return _MISSING_JP
    return parent[idx]


_MISSING_JP: Any = object()


def _jp_add(doc: JSON, path: str, value: JSON, op: str = "add") -> JSON:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _find_parent(doc, tokens)
    if parent is None:
        raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": {_MISSING_VALUE}')
    key = tokens[-1]
    if isinstance(parent, dict):
        parent[key] = value
        return doc
    if key == "-":
        parent.append(value)
        return doc
    idx = _array_index(key)
    if idx is None:
        raise PatchError(f"error in {op} for path: '{path}': value was not a proper array index: '{key}'")
    if idx < 0:
        idx += len(parent) + 1
    if not 0 <= idx <= len(parent):
        raise PatchError(f"error in {op} for path: '{path}': Unable to access invalid index: {key}: {_INVALID_INDEX}")
    parent.insert(idx, value)
    return doc


def _jp_remove(doc: JSON, path: str, op: str = "remove") -> JSON:
    """Remove and return the value at ``path`` (the path must exist)."""
    tokens = _pointer(path)
    parent = _find_parent(doc, tokens) if tokens else None
    if parent is None:
        raise PatchError(f'{op} operation does not apply: doc is missing path: "{path}": {_MISSING_VALUE}')
    key = tokens[-1]
    if isinstance(parent, dict):
        if key not in parent:
            raise PatchError(f"error in {op} for path: '{path}': Unable to remove nonexistent key: {key}: "
                             f"{_MISSING_VALUE}")
        return parent.pop(key)
    idx = _array_index(key)
    if idx is not None and idx < 0:
        idx += len(parent)
    if idx is None or not 0 <= idx < len(parent):
        raise PatchError(f"error in {op} for path: '{path}': Unable to access invalid index: {key}: {_INVALID_INDEX}")
    return parent.pop(idx)


def _jp_get(doc: JSON, path: str) -> JSON:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _find_parent(doc, tokens)
    return _MISSING_JP if parent is None else _container_get(parent, tokens[-1])


def json_patch(target: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """Apply an RFC 6902 JSON patch (a list of operations) to a copy of ``target``."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a JSON array of operations", status=400)
    doc: JSON = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError(f"JSON patch operation must be an object, got {_dump(op)}", status=400)
        kind: Any = op.get("op")
        path: Any = op.get("path")
        tokens = _pointer(path)
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{kind} operation missing 'value' (path {path!r})", status=400)
        if kind == "add":
            doc = _jp_add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _jp_remove(doc, path)
        elif kind == "replace":
            if tokens:
                parent = _find_parent(doc, tokens)
                if parent is None:
                    raise PatchError(f"replace operation does not apply: doc is missing path: {path}: "
                                     f"{_MISSING_VALUE}")
                if _container_get(parent, tokens[-1]) is _MISSING_JP:
                    raise PatchError(f"replace operation does not apply: doc is missing key: {path}: "
                                     f"{_MISSING_VALUE}")
                _jp_remove(doc, path, "replace")
            doc = _jp_add(doc, path, copy.deepcopy(op["value"]), "replace")
        elif kind in ("move", "copy"):
            src: Any = op.get("from")
            src_tokens = _pointer(src, "from")
            if src_tokens and _find_parent(doc, src_tokens) is None:
                raise PatchError(f"{kind} operation does not apply: doc is missing from path: {src}: "
                                 f"{_MISSING_VALUE}")
            value = _jp_get(doc, src)
            if value is _MISSING_JP:
                raise PatchError(f"error in {kind} for path: '{src}': Unable to remove nonexistent key: "
                                 f"{src_tokens[-1]}: {_MISSING_VALUE}")
            if kind == "move":
                if src == path:
                    continue
                if path.startswith(src + "/"):
                    raise PatchError(f'move operation cannot move "{src}" into its own child "{path}"')
                value = _jp_remove(doc, src, "move")
            else:
                value = copy.deepcopy(value)
            doc = _jp_add(doc, path, value, kind)
        elif kind == "test":
            if tokens and _find_parent(doc, tokens) is None:
                raise PatchError(f"test operation does not apply: is missing path: {path}: {_MISSING_VALUE}")
            have = _jp_get(doc, path)
            if have is _MISSING_JP:
                if op["value"] is None:
                    continue
                raise PatchError(f"testing value {path} failed: test failed")
            if not json_equal(have, op["value"]):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}", status=400)
    if not isinstance(doc, dict):
        raise PatchError("the patched document is not a JSON object", status=400)
    return doc


# ---------------------------------------------------------------------------------------------------
# Strategic merge patch: the patch strategies of the Go types.


@dataclasses.dataclass(frozen=True)
class ListStrategy:
    """``patchStrategy:"merge"`` on a list: ``key`` is ``patchMergeKey`` (None for a list of scalars)."""

    key: str | None
    item: Mapping[str, Any] | None = None  # field table of the items (for lists of objects)


# A field table maps a JSON field name to a nested field table (an object) or a ListStrategy.
# Fields not listed: objects merge key by key, lists are atomic (replaced as a whole).
FieldTable = Mapping[str, Any]

OBJECT_META: FieldTable = {"ownerReferences": ListStrategy("uid"), "finalizers": ListStrategy(None)}
CONTAINER: FieldTable = {
    "ports": ListStrategy("containerPort"),
    "env": ListStrategy("name"),
    "volumeMounts": ListStrategy("mountPath"),
    "volumeDevices": ListStrategy("devicePath"),
}
POD_SPEC: FieldTable = {
    "containers": ListStrategy("name", CONTAINER),
    "initContainers": ListStrategy("name", CONTAINER),
    "ephemeralContainers": ListStrategy("name", CONTAINER),
    "volumes": ListStrategy("name"),
    "imagePullSecrets": ListStrategy("name"),
    "hostAliases": ListStrategy("ip"),
    "topologySpreadConstraints": ListStrategy("topologyKey"),
    "resourceClaims": ListStrategy("name"),
    "schedulingGates": ListStrategy("name"),
}
POD_STATUS: FieldTable = {
    "conditions": ListStrategy("type"),
    "podIPs": ListStrategy("ip"),
    "hostIPs": ListStrategy("ip"),
    "resourceClaimStatuses": ListStrategy("name"),
}
POD_TEMPLATE_SPEC: FieldTable = {"metadata": OBJECT_META, "spec": POD_SPEC}
_CONDITIONS: FieldTable = {"conditions": ListStrategy("type")}

STRATEGIC_KINDS: Mapping[str, FieldTable] = {
    "Pod": {"metadata": OBJECT_META, "spec": POD_SPEC, "status": POD_STATUS},
    "PodTemplate": {"metadata": OBJECT_META, "template": POD_TEMPLATE_SPEC},
    "Node": {
        "metadata": OBJECT_META,
        "spec": {"podCIDRs": ListStrategy(None)},
        "status": {"conditions": ListStrategy("type"), "addresses": ListStrategy("type")},
    },
    "Deployment": {"metadata": OBJECT_META, "spec": {"template": POD_TEMPLATE_SPEC}, "status": _CONDITIONS},
    "ReplicaSet": {"metadata": OBJECT_META, "spec": {"template": POD_TEMPLATE_SPEC}, "status": _CONDITIONS},
    "StatefulSet": {"metadata": OBJECT_META, "spec": {"template": POD_TEMPLATE_SPEC}, "status": _CONDITIONS},
    "DaemonSet": {"metadata": OBJECT_META, "spec": {"template": POD_TEMPLATE_SPEC}, "status": _CONDITIONS},
    "Job": {"metadata": OBJECT_META, "spec": {"template": POD_TEMPLATE_SPEC}, "status": _CONDITIONS},
    "Namespace": {"metadata": OBJECT_META, "status": _CONDITIONS},
    "Service": {"metadata": OBJECT_META, "spec": {"ports": ListStrategy("port")}, "status": _CONDITIONS},
    "ServiceAccount": {"metadata": OBJECT_META, "secrets": ListStrategy("name")},
    "ConfigMap": {"metadata": OBJECT_META},
    "Secret": {"metadata": OBJECT_META},
    "Event": {"metadata": OBJECT_META},
    "Lease": {"metadata": OBJECT_META},
    "Endpoints": {"metadata": OBJECT_META},
    "CustomResourceDefinition": {"metadata": OBJECT_META, "status": _CONDITIONS},
}

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_SET_ORDER = "$setElementOrder/"


def _go_map(value: Mapping[str, Any]) -> str:
    return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]"


def _is_scalar(v: JSON) -> bool:
    return not isinstance(v, (dict, list))


def _sub_table(table: FieldTable | None, key: str) -> FieldTable | None:
    if table is None:
        return None
    sub = table.get(key)
    return sub if isinstance(sub, Mapping) else None


def _list_strategy(table: FieldTable | None, key: str) -> ListStrategy | None:
    if table is None:
        return None
    sub = table.get(key)
    return sub if isinstance(sub, ListStrategy) else None


def _fresh(value: JSON, table: FieldTable | None, strategy: ListStrategy | None) -> JSON:
    """A patch value for a field the original lacks: directives and nulls processed against nothing."""
    if isinstance(value, dict):
        return _merge_map({}, value, table)
    if isinstance(value, list):
        return _merge_list([], value, strategy, None)
    return copy.deepcopy(value)


def _apply_retain_keys(original: dict[str, JSON], patch: dict[str, JSON]) -> None:
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise PatchError("invalid patch format of retainKeys", status=400)
    keep = {k for k in retain if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_PRIMITIVE, _SET_ORDER)):
            continue
        if key not in keep:
            raise PatchError("invalid patch format of retainKeys", status=400)
    for key in list(original):
        if key not in keep:
            del original[key]


def _merge_map(
    original: dict[str, JSON], patch: dict[str, JSON], table: FieldTable | None
) -> dict[str, JSON]:
    patch = dict(patch)
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            del patch[_DIRECTIVE]
            return _merge_map({}, patch, table)
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type: {directive} in map: {_go_map(patch)}", status=400)
    result = dict(original)
    if _RETAIN_KEYS in patch:
        _apply_retain_keys(result, patch)
    orders: dict[str, list[JSON]] = {}
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            if not isinstance(value, list) or not all(_is_scalar(v) for v in value):
                raise PatchError("invalid patch format of primitive list", status=400)
            have = result.get(field)
            if isinstance(have, list):
                result[field] = [x for x in have if not any(json_equal(x, v) for v in value)]
        elif key.startswith(_SET_ORDER):
            if not isinstance(value, list):
                raise PatchError("invalid patch format of setElementOrder list", status=400)
            orders[key[len(_SET_ORDER):]] = value
    for key, value in patch.items():
        if key.startswith((_DELETE_PRIMITIVE, _SET_ORDER)):
            continue
        strategy = _list_strategy(table, key)
        sub = _sub_table(table, key)
        if value is None:
            result.pop(key, None)
            continue
        have = result.get(key)
        if isinstance(value, dict) and isinstance(have, dict):
            result[key] = _merge_map(have, value, sub)
        elif isinstance(value, list) and isinstance(have, list):
            result[key] = _merge_list(have, value, strategy, orders.get(key))
        elif isinstance(value, list):
            result[key] = _merge_list([], value, strategy, orders.get(key))
        else:
            result[key] = _fresh(value, sub, strategy)
    for key, order in orders.items():
        if key in patch:
            continue
        have = result.get(key)
        if isinstance(have, list) and _list_strategy(table, key) is not None:
            result[key] = _merge_list(have, [], _list_strategy(table, key), order)
    return result


def _element_kind(items: Iterable[JSON]) -> str:
    kinds = set()
    for item in items:
        if isinstance(item, list):
            raise PatchError("lists of lists are not supported")
        kinds.add("map" if isinstance(item, dict) else "scalar")
    if len(kinds) > 1:
        raise PatchError("a list mixes objects and scalar values and cannot be merged")
    return kinds.pop() if kinds else "scalar"


def _key_of(item: JSON, key: str | None) -> JSON:
    return item.get(key) if isinstance(item, dict) and key is not None else item


def _index_in(items: list[JSON], item: JSON, key: str | None) -> int:
    want = _key_of(item, key)
    for i, other in enumerate(items):
        if (key is None or isinstance(other, dict)) and json_equal(_key_of(other, key), want):
            return i
    return -1


def _merge_list(
    original: list[JSON], patch: list[JSON], strategy: ListStrategy | None, order: list[JSON] | None
) -> list[JSON]:
    if strategy is None:
        return copy.deepcopy(patch)
    if not original and not patch:
        return []
    kind = _element_kind([*original, *patch])
    key = strategy.key
    if kind == "scalar":
        merged: list[JSON] = []
        for item in [*original, *patch]:
            if not any(json_equal(item, m) for m in merged):
                merged.append(copy.deepcopy(item))
        mkey: str | None = None
    else:
        if key is None:
            raise PatchError("cannot merge lists of objects without a merge key")
        original, patch = _special_elements(original, patch, key)
        merged = [copy.deepcopy(x) for x in original]
        for item in patch:
            if key not in item:
                raise PatchError(f"map: {_go_map(item)} does not contain declared merge key: {key}")
            i = _index_in(merged, item, key)
            if i >= 0:
                merged[i] = _merge_map(merged[i], item, strategy.item)
            else:
                merged.append(_merge_map({}, item, strategy.item))
        mkey = key
    patch_order = order if order is not None else patch
    if order is not None and mkey is not None:
        for entry in order:
            if not isinstance(entry, dict) or mkey not in entry:
                raise PatchError("invalid patch format of setElementOrder list", status=400)
    in_patch: list[JSON] = []
    server_only: list[JSON] = []
    for item in merged:
        from_patch = _index_in(patch, item, mkey) >= 0 or _index_in(patch_order, item, mkey) >= 0
        (in_patch if from_patch else server_only).append(item)
    return _normalize(in_patch, server_only, patch_order, original, mkey)


def _special_elements(
    original: list[JSON], patch: list[JSON], key: str
) -> tuple[list[JSON], list[JSON]]:
    plain: list[JSON] = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if key not in item:
                raise PatchError(f"map: {_go_map(item)} does not contain declared merge key: {key}")
            original = [o for o in original if not json_equal(_key_of(o, key), item[key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch", status=400)
        else:
            raise PatchError(f"unknown patch type: {directive} in map: {_go_map(item)}", status=400)
    if replace:
        return plain, []
    return original, plain


def _sorted_by(items: list[JSON], order: list[JSON], key: str | None) -> list[JSON]:
    known = [(i, _index_in(order, it, key), it) for i, it in enumerate(items)]
    found = sorted((x for x in known if x[1] >= 0), key=lambda x: x[1])
    missing = [x for x in known if x[1] < 0]
    return [x[2] for x in found] + [x[2] for x in missing]


def _normalize(
    patch_items: list[JSON], server_only: list[JSON], patch_order: list[JSON], server_order: list[JSON],
    key: str | None,
) -> list[JSON]:
    """apimachinery normalizeElementOrder + mergeSortedSlice: interleave server-only items in place."""
    right = _sorted_by(patch_items, patch_order, key)
    left = _sorted_by(server_only, server_order, key)
    out: list[JSON] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index_in(server_order, left[i], key)
            ri = _index_in(server_order, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any], kind: str) -> dict[str, Any]:
    """Apply a strategic merge patch for ``kind``; kinds without a strategy table get a JSON merge patch."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object", status=400)
    table = STRATEGIC_KINDS.get(kind)
    if table is None:
        return json_merge_patch(target, patch)
    return _merge_map(copy.deepcopy(target), patch, table)


# ---------------------------------------------------------------------------------------------------
# Server-side apply

_IDENTITY_FIELDS = frozenset({"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                              "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"})
BEFORE_FIRST_APPLY = "before-first-apply"

FieldPath = tuple[str, ...]  # FieldsV1 keys: ("f:spec", 'k:{"name":"a"}', "f:image")


def _json_key(value: JSON) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _field_set(value: JSON, table: FieldTable | None, strategy: ListStrategy | None, prefix: FieldPath,
               out: set[FieldPath], root: bool = False, subresource: str | None = None) -> None:
    """The FieldsV1 leaves of an applied configuration (what the applier owns)."""
    if isinstance(value, dict) and strategy is None:
        if not value and not root:
            out.add(prefix)
            return
        for k, v in value.items():
            if root and k in ("apiVersion", "kind"):
                continue
            if root and (k == "status") != (subresource == "status"):
                continue
            if prefix == ("f:metadata",) and k in _IDENTITY_FIELDS:
                continue
            if v is None:
                continue
            path = (*prefix, f"f:{k}")
            meta_table = OBJECT_META if root and k == "metadata" else None
            _field_set(v, meta_table or _sub_table(table, k), _list_strategy(table, k), path, out)
        if prefix == ("f:metadata",) and not any(p[:1] == prefix and len(p) > 1 for p in out):
            out.discard(prefix)
        return
    if isinstance(value, list) and strategy is not None:
        for item in value:
            if strategy.key is not None and isinstance(item, dict) and strategy.key in item:
                elem = (*prefix, f"k:{_json_key({strategy.key: item[strategy.key]})}")
                out.add((*elem, "."))
                _field_set(item, strategy.item, None, elem, out)
            elif strategy.key is None and _is_scalar(item):
                out.add((*prefix, f"v:{_json_key(item)}"))
            else:
                out.add(prefix)
        return
    out.add(prefix)


def _fields_to_v1(paths: set[FieldPath]) -> dict[str, Any]:
    """A set of paths as a FieldsV1 trie; a field owned itself and through children gets ``.: {}``."""
    trie: dict[str, Any] = {}
    for path in sorted(paths):
        node = trie
        for part in path:
            node = node.setdefault(part, {})
    for path in paths:
        if path and path[-1] != ".":
            node = trie
            for part in path:
                node = node[part]
            if node and "." not in node:
                node["."] = {}
    return trie


def _fields_from_v1(trie: Any, prefix: FieldPath = ()) -> set[FieldPath]:
    """FieldsV1 as paths. ``.`` under a field means the field itself; under a list element it stays."""
    out: set[FieldPath] = set()
    if not isinstance(trie, dict) or not trie:
        if prefix:
            out.add(prefix)
        return out
    for key, sub in trie.items():
        if key == "." and prefix and prefix[-1].startswith("f:"):
            out.add(prefix)
        else:
            out |= _fields_from_v1(sub, (*prefix, key))
    return out


def _find_element(items: list[JSON], part: str) -> int:
    if part.startswith("k:"):
        key = json.loads(part[2:])
        for i, item in enumerate(items):
            if isinstance(item, dict) and all(json_equal(item.get(k), v) for k, v in key.items()):
                return i
    elif part.startswith("v:"):
        want = json.loads(part[2:])
        for i, item in enumerate(items):
            if json_equal(item, want):
                return i
    elif part.startswith("i:"):
        idx = int(part[2:])
        return idx if idx < len(items) else -1
    return -1


_MISSING: Any = object()


def _value_at(obj: JSON, path: FieldPath) -> JSON:
    cur = obj
    for part in path:
        if part == ".":
            continue
        if part.startswith("f:"):
            if not isinstance(cur, dict) or part[2:] not in cur:
                return _MISSING
            cur = cur[part[2:]]
        elif isinstance(cur, list):
            i = _find_element(cur, part)
            if i < 0:
                return _MISSING
            cur = cur[i]
        else:
            return _MISSING
    return cur


def _remove_path(obj: JSON, path: FieldPath) -> None:
    if not path:
        return
    last = path[-1]
    if last == ".":
        path, last = path[:-1], path[-2]
    parent = _value_at(obj, path[:-1])
    if last.startswith("f:"):
        if isinstance(parent, dict):
            parent.pop(last[2:], None)
    elif isinstance(parent, list):
        i = _find_element(parent, last)
        if i >= 0:
            del parent[i]


def _apply_merge(live: JSON, applied: JSON, table: FieldTable | None, strategy: ListStrategy | None) -> JSON:
    if isinstance(live, dict) and isinstance(applied, dict) and strategy is None:
        out = dict(live)
        for k, v in applied.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = _apply_merge(out[k], v, _sub_table(table, k), _list_strategy(table, k))
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(live, list) and isinstance(applied, list) and strategy is not None:
        merged = list(live)
        for item in applied:
            if strategy.key is not None and isinstance(item, dict) and strategy.key in item:
                part = f"k:{_json_key({strategy.key: item[strategy.key]})}"
                i = _find_element(merged, part)
                if i >= 0:
                    merged[i] = _apply_merge(merged[i], item, strategy.item, None)
                    continue
            elif strategy.key is None and any(json_equal(item, m) for m in merged):
                continue
            merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(applied)


def _go_path(path: FieldPath) -> str:
    """fieldpath.Path.String(): ``.spec.containers[name="a"].image``, ``.metadata.finalizers[="x"]``."""
    out = ""
    for part in path:
        if part == ".":
            continue
        if part.startswith("f:"):
            out += "." + part[2:]
        elif part.startswith("k:"):
            key = json.loads(part[2:])
            out += "[" + ",".join(f"{k}={_json_key(v)}" for k, v in sorted(key.items())) + "]"
        elif part.startswith("v:"):
            out += f"[={part[2:]}]"
        elif part.startswith("i:"):
            out += f"[{part[2:]}]"
    return out


@dataclasses.dataclass
class _Manager:
    entry: dict[str, Any]
    fields: set[FieldPath]

    @property
    def ident(self) -> tuple[str, str, str]:
        return (str(self.entry.get("manager", "")), str(self.entry.get("operation", "")),
                str(self.entry.get("subresource", "")))

    def describe(self) -> str:
        text = json.dumps(self.entry.get("manager", ""))
        if self.entry.get("subresource"):
            text += f" with subresource {json.dumps(self.entry['subresource'])}"
        if self.entry.get("operation") == "Update":
            text += f" using {self.entry.get('apiVersion', '')}"
            if self.entry.get("time"):
                text += f" at {self.entry['time']}"
        return text


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _live_managers(live: dict[str, Any], table: FieldTable | None, subresource: str | None) -> list[_Manager]:
    entries = (live.get("metadata") or {}).get("managedFields")
    if not entries:
        # Objects written without field tracking are owned by "before-first-apply", as on a real server.
        fields: set[FieldPath] = set()
        _field_set(live, table, None, (), fields, root=True, subresource=subresource)
        if not fields:
            return []
        entry = {"manager": BEFORE_FIRST_APPLY, "operation": "Update", "apiVersion": live.get("apiVersion", ""),
                 "fieldsType": "FieldsV1"}
        return [_Manager(entry, fields)]
    out: list[_Manager] = []
    for entry in entries:
        if isinstance(entry, dict):
            out.append(_Manager(dict(entry), _fields_from_v1(entry.get("fieldsV1") or {})))
    return out


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    force: bool,
    kind: str,
    *,
    subresource: str | None = None,
) -> dict[str, Any]:
    """Apply ``applied`` (an ``application/apply-patch+yaml`` body) for ``manager``; returns the new object.

    - ``live`` None: the object is created from ``applied``.
    - The fields of ``applied`` become ``manager``'s (a ``managedFields`` entry with operation Apply,
      fieldsType FieldsV1); lists follow the kind's strategy table (``STRATEGIC_KINDS``): keyed lists
      are granular per element, scalar merge lists are sets, other lists are atomic. Unknown kinds
      (custom resources) have atomic lists.
    - A field another manager owns whose live value differs from the applied one is a conflict:
      ``ApplyConflict`` unless ``force``, which takes the field over.
    - Fields ``manager`` applied before and now omits are removed unless another manager owns them.
    - A live object without ``managedFields`` is owned by ``before-first-apply`` (operation Update).
    - ``subresource="status"`` applies the status only; otherwise status is neither applied nor owned.
    """
    if not isinstance(applied, dict):
        raise PatchError("apply patch must be a JSON or YAML object", status=400)
    if not manager:
        raise PatchError("fieldManager: Required value: is required for apply patch", status=400)
    table = STRATEGIC_KINDS.get(kind)
    body = copy.deepcopy(applied)
    if subresource == "status":
        scoped = {k: v for k, v in body.items() if k in ("apiVersion", "kind", "status")}
    else:
        scoped = {k: v for k, v in body.items() if k != "status"}
    new_fields: set[FieldPath] = set()
    _field_set(scoped, table, None, (), new_fields, root=True, subresource=subresource)
    me = (manager, "Apply", subresource or "")
    entry: dict[str, Any] = {"manager": manager, "operation": "Apply",
                             "apiVersion": str(body.get("apiVersion", "")), "time": _now(),
                             "fieldsType": "FieldsV1", "fieldsV1": _fields_to_v1(new_fields)}
    if subresource:
        entry["subresource"] = subresource
    if live is None:
        result = copy.deepcopy(body)
        result.setdefault("metadata", {})["managedFields"] = [entry]
        return result

    managers = _live_managers(live, table, subresource)
    mine = next((m for m in managers if m.ident == me), None)
    others = [m for m in managers if m.ident != me]
    conflicts: list[tuple[_Manager, FieldPath]] = []
    for other in others:
        for path in sorted(other.fields & new_fields):
            if path and path[-1] == ".":
                continue
            have, want = _value_at(live, path), _value_at(scoped, path)
            if have is not _MISSING and not json_equal(have, want):
                conflicts.append((other, path))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    if force:
        for other, path in conflicts:
            other.fields.discard(path)

    result = _apply_merge(live, scoped, table, None)
    assert isinstance(result, dict)
    if mine is not None:
        kept: set[FieldPath] = new_fields.union(*(m.fields for m in others))
        _remove_stale(result, mine.fields - kept, kept)

    entries = []
    for m in others:
        if not m.fields:
            continue
        if m.entry.get("manager") == BEFORE_FIRST_APPLY and "fieldsV1" not in m.entry:
            m.entry["time"] = _now()
        m.entry["fieldsV1"] = _fields_to_v1(m.fields)
        entries.append(m.entry)
    entries.append(entry)
    result.setdefault("metadata", {})["managedFields"] = entries
    return result


def _remove_stale(obj: dict[str, Any], stale: set[FieldPath], kept: set[FieldPath]) -> None:
    """Remove fields the applier no longer sets, keeping anything another owner (or the applier) still uses."""

    def used_below(path: FieldPath) -> bool:
        return any(q[: len(path)] == path and q != path for q in kept)

    for path in sorted((p for p in stale if p and p[-1] == "."), key=len):
        if path[:-1] not in kept and not used_below(path[:-1]):
            _remove_path(obj, path)
    for path in sorted((p for p in stale if p and p[-1] != "."), key=len, reverse=True):
        if used_below(path):
            continue
        if len(path) >= 2 and path[-2].startswith("k:") and path[-1][2:] in json.loads(path[-2][2:]):
            continue  # the key of an element that stays
        _remove_path(obj, path)


def _conflict_error(conflicts: list[tuple[_Manager, FieldPath]]) -> ApplyConflict:
    fields = [_go_path(p) for _, p in conflicts]
    causes = [(str(m.entry.get("manager", "")), _go_path(p)) for m, p in conflicts]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {m.describe()}: {_go_path(p)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for m, p in conflicts:
            by_manager.setdefault(m.describe(), []).append(_go_path(p))
        lines = []
        for desc in sorted(by_manager):
            lines.append(f"conflicts with {desc}:")
            lines.extend(f"- {p}" for p in by_manager[desc])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApplyConflict(message, fields, causes)


def track_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    kind: str,
    *,
    subresource: str | None = None,
) -> list[dict[str, Any]]:
    """The ``managedFields`` after a create, update or non-apply patch by ``manager``, as the real server
    records them, so that a later server-side apply sees who owns what:

    - ``manager`` (operation Update, this apiVersion and subresource) gains every field it added or
      changed, and those fields leave the other managers (an update never conflicts);
    - fields the write removed leave every manager; managers left with nothing are dropped;
    - on create (``old`` None) ``manager`` owns every field it set.

    ``old``'s managedFields are the starting point (none: ``before-first-apply`` owns ``old``'s fields).
    Status fields count only for ``subresource="status"``. ``new`` is not modified.
    """
    table = STRATEGIC_KINDS.get(kind)
    new_fields: set[FieldPath] = set()
    _field_set(new, table, None, (), new_fields, root=True, subresource=subresource)
    managers = _live_managers(old, table, subresource) if old is not None else []
    if old is None:
        changed = set(new_fields)
        removed: set[FieldPath] = set()
    else:
        old_fields: set[FieldPath] = set()
        _field_set(old, table, None, (), old_fields, root=True, subresource=subresource)
        changed = set()
        for path in new_fields:
            have = _value_at(old, path)
            if have is _MISSING or not json_equal(have, _value_at(new, path)):
                changed.add(path)
        removed = old_fields - new_fields
    api_version = str(new.get("apiVersion") or (old or {}).get("apiVersion") or "")
    me = {"manager": manager, "operation": "Update", "apiVersion": api_version}
    if subresource:
        me["subresource"] = subresource

    def is_me(entry: dict[str, Any]) -> bool:
        return all(entry.get(k, "") == v for k, v in me.items()) and (
            subresource is not None or not entry.get("subresource"))

    mine: set[FieldPath] = set()
    out: list[dict[str, Any]] = []
    for m in managers:
        if is_me(m.entry):
            mine = m.fields
            continue
        m.fields -= changed | removed
        if m.fields:
            m.entry["fieldsV1"] = _fields_to_v1(m.fields)
            out.append(m.entry)
    mine = (mine - removed) | changed
    if mine:
        out.append({**me, "time": _now(), "fieldsType": "FieldsV1", "fieldsV1": _fields_to_v1(mine)})
    return out
