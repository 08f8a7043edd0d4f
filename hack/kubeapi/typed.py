"""Typed decoding of built-in kinds: unknown fields and JSON type mismatches, as the real server's
Go structs see them.

The structure comes from the official Python client's generated models (``openapi_types`` and
``attribute_map``), which mirror the Go types field for field.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import kubernetes.client as k8s

from .errors import ApiError, bad_request

# kind -> model class name, per group/version.
_MODELS: dict[tuple[str, str, str], str] = {
    ("", "v1", "Namespace"): "V1Namespace",
    ("", "v1", "Node"): "V1Node",
    ("", "v1", "Pod"): "V1Pod",
    ("", "v1", "ConfigMap"): "V1ConfigMap",
    ("", "v1", "Secret"): "V1Secret",
    ("", "v1", "Service"): "V1Service",
    ("", "v1", "ServiceAccount"): "V1ServiceAccount",
    ("", "v1", "Endpoints"): "V1Endpoints",
    ("", "v1", "Event"): "CoreV1Event",
    ("", "v1", "ResourceQuota"): "V1ResourceQuota",
    ("", "v1", "LimitRange"): "V1LimitRange",
    ("", "v1", "Binding"): "V1Binding",
    ("apps", "v1", "Deployment"): "V1Deployment",
    ("apps", "v1", "ReplicaSet"): "V1ReplicaSet",
    ("autoscaling", "v1", "Scale"): "V1Scale",
    ("coordination.k8s.io", "v1", "Lease"): "V1Lease",
    ("rbac.authorization.k8s.io", "v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("rbac.authorization.k8s.io", "v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"): "V1RoleBinding",
    ("events.k8s.io", "v1", "Event"): "EventsV1Event",
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"): "V1CustomResourceDefinition",
    ("authentication.k8s.io", "v1", "TokenReview"): "V1TokenReview",
    ("authorization.k8s.io", "v1", "SubjectAccessReview"): "V1SubjectAccessReview",
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview"): "V1SelfSubjectAccessReview",
}

# String fields that also accept JSON numbers (resource.Quantity).
_QUANTITY_MAPS = frozenset(
    {
        "limits",
        "requests",
        "capacity",
        "allocatable",
        "hard",
        "used",
        "overhead",
        "min",
        "max",
        "default",
        "defaultRequest",
        "maxLimitRequestRatio",
    }
)
_QUANTITY_FIELDS = frozenset({"sizeLimit"})

_LIST_RE = re.compile(r"^List\[(.*)\]$")
_DICT_RE = re.compile(r"^Dict\[str, (.*)\]$")


def model_for(group: str, version: str, kind: str) -> str | None:
    return _MODELS.get((group, version, kind))


@functools.cache
def _fields(model: str) -> dict[str, str]:
    """JSON field name -> python type string."""
    cls = getattr(k8s, model)
    return {cls.attribute_map[attr]: typ for attr, typ in cls.openapi_types.items()}


def go_type(typ: str) -> str:
    m = _LIST_RE.match(typ)
    if m:
        return "[]" + go_type(m.group(1))
    m = _DICT_RE.match(typ)
    if m:
        return "map[string]" + go_type(m.group(1))
    simple = {
        "str": "string",
        "int": "int64",
        "bool": "bool",
        "float": "float64",
        "datetime": "v1.Time",
        "bytes": "[]uint8",
        "object": "interface {}",
    }
    if typ in simple:
        return simple[typ]
    return "v1." + re.sub(r"^(V\d+(beta\d+|alpha\d+)?|CoreV1|EventsV1)", "", typ)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class _Walker:
    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.type_error: str | None = None

    def _mismatch(self, value: Any, struct: str, path: str, typ: str) -> None:
        if self.type_error is None:
            field_path = re.sub(r"\[\d+\]", "", path)
            self.type_error = (
                f"json: cannot unmarshal {_json_kind(value)} into Go struct field {struct}.{field_path}"
                f" of type {go_type(typ)}"
            )

    def value(self, value: Any, typ: str, path: str, struct: str, field: str) -> Any:
        if value is None:
            return None
        m = _LIST_RE.match(typ)
        if m:
            if not isinstance(value, list):
                self._mismatch(value, struct, path, typ)
                return value
            return [self.value(v, m.group(1), f"{path}[{i}]", struct, field) for i, v in enumerate(value)]
        m = _DICT_RE.match(typ)
        if m:
            if not isinstance(value, dict):
                self._mismatch(value, struct, path, typ)
                return value
            inner = m.group(1)
            if inner == "str" and field in _QUANTITY_MAPS:
                inner = "quantity"
            return {k: self.value(v, inner, f"{path}.{k}", struct, field) for k, v in value.items()}
        if typ == "quantity" or (typ == "str" and field in _QUANTITY_FIELDS):
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                self._mismatch(value, struct, path, "str")
            return value
        if typ in ("str", "datetime", "date", "bytes"):
            if not isinstance(value, str):
                self._mismatch(value, struct, path, typ)
            return value
        if typ == "int":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (isinstance(value, float) and not value.is_integer())
            ):
                self._mismatch(value, struct, path, typ)
                return value
            return int(value)
        if typ == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self._mismatch(value, struct, path, typ)
            return value
        if typ == "bool":
            if not isinstance(value, bool):
                self._mismatch(value, struct, path, typ)
            return value
        if typ == "object":
            return value
        # a model
        if not isinstance(value, dict):
            self._mismatch(value, struct, path, typ)
            return value
        return self.model(value, typ, path)

    def model(self, obj: dict[str, Any], model: str, path: str) -> dict[str, Any]:
        fields = _fields(model)
        struct = go_type(model).removeprefix("v1.")
        out: dict[str, Any] = {}
        for k, v in obj.items():
            sub = f"{path}.{k}" if path else k
            typ = fields.get(k)
            if typ is None:
                self.unknown.append(sub)
                continue
            if v is None:
                continue  # Go: a nil pointer/slice/map is omitted
            value = self.value(v, typ, sub, struct, k)
            if value in ({}, []) and (typ.startswith("List[") or typ.startswith("Dict[")):
                continue  # Go: omitempty drops empty slices and maps
            out[k] = value
        return out


def decode(obj: dict[str, Any], group: str, version: str, kind: str, mode: str) -> tuple[dict[str, Any], list[str]]:
    """Check obj against the Go type of kind. Returns (obj without unknown fields, warnings).

    mode is the fieldValidation parameter: Strict (unknown field -> 400), Warn (warning), Ignore.
    A JSON type mismatch is always a 400, as in the real server's decoder.
    """
    model = model_for(group, version, kind)
    if model is None:
        return obj, []
    w = _Walker()
    out = w.model(obj, model, "")
    gv = f"{group}/{version}" if group else version
    prefix = f'{kind} in version "{gv}" cannot be handled as a {kind}: '
    if w.type_error:
        raise bad_request(prefix + w.type_error)
    if w.unknown:
        msgs = [f'unknown field "{u}"' for u in w.unknown]
        if mode == "Strict":
            raise bad_request(prefix + "strict decoding error: " + ", ".join(msgs))
        if mode == "Warn":
            return out, msgs
    return out, []


def check_mode(mode: str | None) -> str:
    if mode in (None, ""):
        return "Warn"
    if mode not in ("Strict", "Warn", "Ignore"):
        raise ApiError(
            400,
            "BadRequest",
            f'fieldValidation: Unsupported value: "{mode}": supported values: "Ignore", "Strict", "Warn"',
        )
    return mode
