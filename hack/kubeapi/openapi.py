"""OpenAPI documents. kubectl reads /openapi/v3 to learn that the server validates fields itself
(fieldValidation on PATCH operations), and `kubectl explain` reads the schemas.

Built-in schemas are derived from the official Python client's models; CRD schemas are the CRD's
openAPIV3Schema. Strategic merge patch is not advertised in the documents, so kubectl computes
client-side apply patches from its compiled-in types (as it does without OpenAPI).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from typing import Any

import kubernetes.client as k8s

from .resources import Registry, ResourceType
from .typed import model_for

Obj = dict[str, Any]

_LIST_RE = re.compile(r"^List\[(.*)\]$")
_DICT_RE = re.compile(r"^Dict\[str, (.*)\]$")
_SIMPLE: dict[str, Obj] = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "bytes": {"type": "string", "format": "byte"},
    "object": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
}


def _ref(typ: str, seen: dict[str, Obj]) -> Obj:
    m = _LIST_RE.match(typ)
    if m:
        return {"type": "array", "items": _ref(m.group(1), seen)}
    m = _DICT_RE.match(typ)
    if m:
        return {"type": "object", "additionalProperties": _ref(m.group(1), seen)}
    if typ in _SIMPLE:
        return dict(_SIMPLE[typ])
    _model_schema(typ, seen)
    return {"$ref": f"#/components/schemas/{typ}"}


def _model_schema(model: str, seen: dict[str, Obj]) -> None:
    if model in seen:
        return
    cls = getattr(k8s, model, None)
    if cls is None:
        seen[model] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return
    schema: Obj = {"type": "object", "properties": {}}
    seen[model] = schema
    for attr, typ in cls.openapi_types.items():
        schema["properties"][cls.attribute_map[attr]] = _ref(typ, seen)


@functools.cache
def _builtin_components(models: tuple[str, ...]) -> str:
    seen: dict[str, Obj] = {}
    for m in models:
        _model_schema(m, seen)
    return json.dumps(seen)


def _params() -> list[Obj]:
    return [
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    ]


def _op(action: str, rt: ResourceType, ref: str, op_id: str) -> Obj:
    op: Obj = {
        "operationId": op_id,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
    }
    if action in ("post", "put", "patch"):
        op["parameters"] = _params() + (
            [{"name": "force", "in": "query", "schema": {"type": "boolean"}}] if action == "patch" else []
        )
    if action in ("post", "put"):
        op["requestBody"] = {"content": {"*/*": {"schema": {"$ref": ref}}}, "required": True}
    if action == "patch":
        patch_schema = {"schema": {"type": "object"}}
        op["requestBody"] = {
            "content": {
                "application/json-patch+json": patch_schema,
                "application/merge-patch+json": patch_schema,
                "application/apply-patch+yaml": patch_schema,
            },
            "required": True,
        }
    return op


def _camel(rt: ResourceType) -> str:
    g = "".join(p.capitalize() for p in re.split(r"[.\-]", rt.group.split(".")[0])) if rt.group else "Core"
    return f"{g}{rt.version.capitalize()}"


def _paths(rt: ResourceType, ref: str) -> Obj:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else "/api/v1"
    coll = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
    item = coll + "/{name}"
    scope = "Namespaced" if rt.namespaced else ""
    name = f"{_camel(rt)}{scope}{rt.kind}"
    paths: Obj = {}
    if "create" in rt.verbs or "list" in rt.verbs:
        ops: Obj = {}
        if "list" in rt.verbs:
            ops["get"] = _op("list", rt, ref, f"list{name}")
        if "create" in rt.verbs:
            ops["post"] = _op("post", rt, ref, f"create{name}")
        paths[coll] = ops
    if rt.stored:
        paths[item] = {
            "get": _op("get", rt, ref, f"read{name}"),
            "put": _op("put", rt, ref, f"replace{name}"),
            "patch": _op("patch", rt, ref, f"patch{name}"),
            "delete": _op("delete", rt, ref, f"delete{name}"),
        }
        if rt.has_status:
            paths[item + "/status"] = {
                "get": _op("get", rt, ref, f"read{name}Status"),
                "put": _op("put", rt, ref, f"replace{name}Status"),
                "patch": _op("patch", rt, ref, f"patch{name}Status"),
            }
    return paths


def _custom_schema(rt: ResourceType) -> Obj:
    schema = copy.deepcopy(rt.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    props = schema.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props["metadata"] = {"$ref": "#/components/schemas/V1ObjectMeta"}
    return schema


def group_version_doc(registry: Registry, group: str, version: str, server_version: str) -> Obj | None:
    rts = registry.in_group_version(group, version)
    if not rts:
        return None
    paths: Obj = {}
    models = []
    custom: Obj = {}
    for rt in sorted(rts, key=lambda r: r.plural):
        model = model_for(rt.group, rt.version, rt.kind)
        if rt.custom:
            name = f"{'.'.join(reversed(rt.group.split('.')))}.{rt.version}.{rt.kind}"
            custom[name] = _custom_schema(rt)
            custom[name]["x-kubernetes-group-version-kind"] = [
                {"group": rt.group, "version": rt.version, "kind": rt.kind}
            ]
            ref = f"#/components/schemas/{name}"
        elif model:
            models.append(model)
            ref = f"#/components/schemas/{model}"
        else:
            ref = "#/components/schemas/Object"
            custom["Object"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        paths.update(_paths(rt, ref))
    if custom:
        models.append("V1ObjectMeta")
    schemas: Obj = json.loads(_builtin_components(tuple(sorted(models))))
    for rt in rts:
        model = model_for(rt.group, rt.version, rt.kind)
        if model and model in schemas:
            schemas[model]["x-kubernetes-group-version-kind"] = [
                {"group": rt.group, "version": rt.version, "kind": rt.kind}
            ]
    schemas.update(custom)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": server_version},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else "api/v1"


def root_doc(registry: Registry, server_version: str) -> Obj:
    out: Obj = {}
    seen: set[tuple[str, str]] = set()
    for rt in registry.all():
        key = (rt.group, rt.version)
        if key in seen:
            continue
        seen.add(key)
        doc = group_version_doc(registry, rt.group, rt.version, server_version)
        digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()
        path = gv_path(rt.group, rt.version)
        out[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": dict(sorted(out.items()))}


def v2_doc(registry: Registry, server_version: str) -> Obj:
    """Swagger 2.0 document (JSON): paths and definitions of every served kind."""
    paths: Obj = {}
    definitions: Obj = {}
    for rt in registry.all():
        doc = group_version_doc(registry, rt.group, rt.version, server_version) or {}
        for p, ops in doc.get("paths", {}).items():
            paths[p] = {
                m: {k: v for k, v in op.items() if k not in ("requestBody", "responses")}
                | {"responses": {"200": {"description": "OK"}}}
                for m, op in ops.items()
            }
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            definitions[name] = json.loads(json.dumps(schema).replace("#/components/schemas/", "#/definitions/"))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": server_version},
        "paths": paths,
        "definitions": definitions,
    }
