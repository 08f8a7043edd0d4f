"""CRD structural-schema semantics: pruning, defaulting, OpenAPI validation and CEL rules.

``validate_and_default(obj, schema, old)`` does to a custom object what the real API server does
with a CRD version's ``openAPIV3Schema``, in the same order:

1. prune unknown fields (kept under ``x-kubernetes-preserve-unknown-fields: true`` or a schema'd
   ``additionalProperties``; ``apiVersion``, ``kind`` and ``metadata`` at the root and in
   ``x-kubernetes-embedded-resource`` objects are always kept, ``metadata`` is left to the server);
2. drop ``null`` values of non-nullable fields that have no default;
3. apply ``default`` values, also nested, also inside defaults, for every object present;
4. validate: ``type`` (integer vs number, ``nullable``), ``x-kubernetes-int-or-string``, ``enum``,
   ``required``, ``minimum``/``maximum`` (and ``exclusive*``), ``multipleOf``,
   ``minLength``/``maxLength``, ``pattern``, ``format`` (int32, int64, byte, date, date-time, uuid,
   ipv4, ipv6, cidr, mac), ``minItems``/``maxItems``, ``uniqueItems``,
   ``minProperties``/``maxProperties``, ``additionalProperties``, ``allOf``/``anyOf``/``oneOf``/``not``,
   and ``x-kubernetes-list-type`` set/map uniqueness;
5. evaluate ``x-kubernetes-validations`` rules (``rule``, ``message``, ``messageExpression``,
   ``reason``, ``fieldPath``) with ``hack.kubeapi.cel``, transition rules (``oldSelf``) only where an
   old value exists (properties, map keys and ``x-kubernetes-list-type: map`` items correlate). As in
   the real server, rules are skipped when a type error was found, with the server's note saying so.

Errors are ``FieldError`` values worded like the server's ``field.Error`` (``str(err)`` is the
``<field>: <message>`` line of a 422 Status; ``message`` and ``type`` go into its causes).

``check_rules(schema, path)`` compiles every rule of a schema, for CRD creation: the real server
refuses a CRD whose rules do not compile.

Known approximations: regex ``pattern`` uses Python ``re`` (ECMA-262 and RE2 differ in corner cases);
an int-or-string type error is one error (the server reports its anyOf branches); no CEL cost budget.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime
import decimal
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from hack.kubeapi.cel import CelError, CelEvalError, Program, compile_expression, unescape_field_name
from hack.kubeapi.patch import json_equal

__all__ = ["FieldError", "check_rules", "go_value", "validate_and_default"]

Schema = Mapping[str, Any]

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
TYPE_INVALID = "FieldValueTypeInvalid"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
FORBIDDEN = "FieldValueForbidden"
DUPLICATE = "FieldValueDuplicate"

ROOT = "<nil>"  # how field.Path prints the path of the object itself

_RULES_SKIPPED = (
    "some validation rules were not checked because the object was invalid; correct the existing errors "
    "to complete validation"
)


@dataclasses.dataclass(frozen=True)
class FieldError:
    """One invalid field. ``field`` is ``spec.taints[0].key`` (``<nil>`` for the object itself, as the
    real server's StatusCause says),
    ``type`` the StatusCause reason (``FieldValueInvalid``...), ``message`` the server's text without
    the field (``Unsupported value: "BAD": supported values: "XE", "FAKE"``), ``detail`` its last part.
    """

    field: str
    type: str
    message: str
    detail: str = ""
    value: Any = None

    def __str__(self) -> str:
        return f"{self.field or ROOT}: {self.message}"


# ---------------------------------------------------------------------------------------------------
# Go-style value printing (field.Error.ErrorBody uses %v for numbers and %q for strings)


def go_float(f: float) -> str:
    """Go's ``%v`` for a float64 (shortest digits; exponent form from 1e+06 and below 1e-04)."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "0"
    sign, digits, exponent = decimal.Decimal(repr(f)).normalize().as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(str(d) for d in digits)
    exp = len(ds) + exponent - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{prefix}{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    text = format(decimal.Decimal(repr(abs(f))).normalize(), "f")
    return prefix + text


def go_quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def go_value(v: Any) -> str:
    """How ``ErrorBody`` prints a bad value."""
    if v is None:
        return '"null"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str):
        return go_quote(v)
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _num(v: Any) -> str:
    """A schema bound as kube-openapi prints it (``%v`` of a float64)."""
    return go_float(float(v))


def _invalid(field: str, value: Any, detail: str, type_: str = INVALID) -> FieldError:
    return FieldError(field, type_, f"Invalid value: {go_value(value)}: {detail}", detail, value)


def _required(field: str, detail: str = "") -> FieldError:
    return FieldError(field, REQUIRED, "Required value" + (f": {detail}" if detail else ""), detail)


def _forbidden(field: str, detail: str) -> FieldError:
    return FieldError(field, FORBIDDEN, "Forbidden" + (f": {detail}" if detail else ""), detail)


def _not_supported(field: str, value: Any, allowed: list[Any]) -> FieldError:
    quoted = [go_quote(a if isinstance(a, str) else json.dumps(a)) for a in allowed]
    detail = "supported values: " + ", ".join(quoted) if quoted else ""
    msg = f"Unsupported value: {go_value(value)}" + (f": {detail}" if detail else "")
    return FieldError(field, NOT_SUPPORTED, msg, detail, value)


def _too_long(field: str, value: Any, max_len: int) -> FieldError:
    detail = f"may not be longer than {max_len}"
    return FieldError(field, TOO_LONG, f"Too long: {detail}", detail, value)


def _too_many(field: str, actual: int, max_items: int) -> FieldError:
    detail = f"must have at most {max_items} items"
    return FieldError(field, TOO_MANY, f"Too many: {actual}: {detail}", detail, actual)


def _go_map(key: Mapping[str, Any]) -> str:
    def item(v: Any) -> str:
        return go_quote(v) if isinstance(v, str) else go_value(v)

    return "map[string]interface {}{" + ", ".join(f"{go_quote(k)}:{item(v)}" for k, v in sorted(key.items())) + "}"


def _duplicate(field: str, value: Any) -> FieldError:
    shown = _go_map(value) if isinstance(value, dict) else go_value(value)
    return FieldError(field, DUPLICATE, f"Duplicate value: {shown}", "", value)


# ---------------------------------------------------------------------------------------------------
# Paths: kube-openapi names ("spec.labels.key") and field.Path strings ("spec.labels[key]")


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def _key(path: str, key: str) -> str:
    return f"{path}[{key}]"


# ---------------------------------------------------------------------------------------------------
# 1-3: pruning, null pruning, defaulting

_ROOT_KEEP = ("apiVersion", "kind", "metadata")


def _prune(value: Any, schema: Schema, keep_meta: bool) -> None:
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        for k in list(value):
            if keep_meta and k in _ROOT_KEEP:
                if k != "metadata" and k in props:
                    _prune(value[k], props[k], False)
                continue
            if k in props:
                _prune(value[k], props[k], props[k].get("x-kubernetes-embedded-resource") is True)
            elif isinstance(addl, Mapping):
                _prune(value[k], addl, addl.get("x-kubernetes-embedded-resource") is True)
            elif not (preserve or addl is True):
                del value[k]
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for x in value:
                _prune(x, items, items.get("x-kubernetes-embedded-resource") is True)


def _prune_nulls(value: Any, schema: Schema, root: bool) -> None:
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for k in list(value):
            if root and k == "metadata":
                continue
            sub = props.get(k) if k in props else (addl if isinstance(addl, Mapping) else None)
            if sub is None:
                continue
            if value[k] is None and "default" not in sub and not sub.get("nullable"):
                del value[k]
            else:
                _prune_nulls(value[k], sub, False)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for x in value:
                _prune_nulls(x, items, False)


def _default(value: Any, schema: Schema, root: bool) -> None:
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        for k, sub in props.items():
            if "default" in sub and (k not in value or (value[k] is None and not sub.get("nullable"))):
                value[k] = copy.deepcopy(sub["default"])
        addl = schema.get("additionalProperties")
        for k, v in value.items():
            if root and k == "metadata":
                continue
            if k in props:
                _default(v, props[k], False)
            elif isinstance(addl, Mapping):
                _default(v, addl, False)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for x in value:
                _default(x, items, False)


# ---------------------------------------------------------------------------------------------------
# 4: OpenAPI validation


def _data_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _type_ok(v: Any, t: str) -> bool:
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    return True


_DATE_TIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_MAC_RE = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$")


def _format_ok(fmt: str, v: str) -> bool:
    try:
        if fmt == "byte":
            base64.b64decode(v, validate=True)
        elif fmt == "date":
            datetime.date.fromisoformat(v)
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v))
        elif fmt in ("date-time", "datetime"):
            if not _DATE_TIME_RE.match(v):
                return False
            datetime.datetime.fromisoformat(v.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
        elif fmt == "uuid":
            uuid.UUID(v)
            return bool(re.fullmatch(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", v))
        elif fmt == "ipv4":
            ipaddress.IPv4Address(v)
        elif fmt == "ipv6":
            ipaddress.IPv6Address(v)
        elif fmt == "cidr":
            ipaddress.ip_network(v, strict=False)
            return "/" in v
        elif fmt == "mac":
            return bool(_MAC_RE.match(v))
    except ValueError:
        return False
    return True


_PATTERN_CACHE: dict[str, re.Pattern[str] | None] = {}


def _pattern(p: str) -> re.Pattern[str] | None:
    if p not in _PATTERN_CACHE:
        try:
            _PATTERN_CACHE[p] = re.compile(p)
        except re.error:
            _PATTERN_CACHE[p] = None
    return _PATTERN_CACHE[p]


def _validate(v: Any, s: Schema, name: str, errs: list[FieldError]) -> None:
    """kube-openapi validation of one value; ``name`` is its path ("spec.port")."""
    field = disp = name
    if v is None and s.get("nullable") is True:
        return
    if s.get("x-kubernetes-int-or-string") is True and not (_type_ok(v, "integer") or isinstance(v, str)):
        dt = _data_type(v)
        errs.append(_invalid(field, dt, f"{disp} in body must be of type integer,string: {go_quote(dt)}",
                             TYPE_INVALID))
        return
    t = s.get("type")
    if isinstance(t, str) and t and not _type_ok(v, t):
        dt = _data_type(v)
        errs.append(_invalid(field, dt, f"{disp} in body must be of type {t}: {go_quote(dt)}", TYPE_INVALID))
        return
    if isinstance(v, str):
        _validate_string(v, s, field, errs)
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        _validate_number(v, s, field, errs)
    elif isinstance(v, list):
        _validate_array(v, s, field, errs)
    elif isinstance(v, dict):
        _validate_object(v, s, field, errs)
    enum = s.get("enum")
    if isinstance(enum, list) and not any(json_equal(v, e) for e in enum):
        errs.append(_not_supported(field, v, enum))
    for key in ("allOf", "anyOf", "oneOf", "not"):
        if key in s:
            _validate_composition(v, s, key, field, errs)


def _validate_composition(v: Any, s: Schema, key: str, field: str, errs: list[FieldError]) -> None:
    def ok(sub: Schema) -> list[FieldError]:
        out: list[FieldError] = []
        _validate(v, sub, field, out)
        return out

    subs = s[key] if key != "not" else [s[key]]
    if not isinstance(subs, list):
        return
    results = [ok(sub) for sub in subs if isinstance(sub, Mapping)]
    if key == "allOf":
        for r in results:
            errs.extend(r)
    elif key == "anyOf" and results and all(results):
        errs.append(_invalid(field, "", f"{field} must validate at least one schema (anyOf)"))
    elif key == "oneOf" and sum(1 for r in results if not r) != 1:
        errs.append(_invalid(field, "", f"{field} must validate one and only one schema (oneOf)"))
    elif key == "not" and results and not results[0]:
        errs.append(_invalid(field, "", f"{field} must not validate the schema (not)"))


def _validate_string(v: str, s: Schema, field: str, errs: list[FieldError]) -> None:
    n = len(v)
    if isinstance(s.get("maxLength"), int) and n > s["maxLength"]:
        errs.append(_too_long(field, v, s["maxLength"]))
    if isinstance(s.get("minLength"), int) and n < s["minLength"]:
        errs.append(_invalid(field, v, f"{field} in body should be at least {s['minLength']} chars long"))
    pattern = s.get("pattern")
    if isinstance(pattern, str):
        rx = _pattern(pattern)
        if rx is not None and not rx.search(v):
            errs.append(_invalid(field, v, f"{field} in body should match '{pattern}'"))
    fmt = s.get("format")
    if isinstance(fmt, str) and not _format_ok(fmt, v):
        errs.append(_invalid(field, v, f"{field} in body must be of type {fmt}: {go_quote(v)}", TYPE_INVALID))


_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _validate_number(v: float, s: Schema, field: str, errs: list[FieldError]) -> None:
    mult = s.get("multipleOf")
    if isinstance(mult, (int, float)) and not isinstance(mult, bool) and mult > 0:
        if isinstance(v, int) and isinstance(mult, int):
            bad = v % mult != 0
        else:
            q = v / mult
            bad = abs(q - round(q)) > 1e-9
        if bad:
            errs.append(_invalid(field, v, f"{field} in body should be a multiple of {_num(mult)}"))
    mx = s.get("maximum")
    if isinstance(mx, (int, float)) and not isinstance(mx, bool):
        if s.get("exclusiveMaximum") is True and v >= mx:
            errs.append(_invalid(field, v, f"{field} in body should be less than {_num(mx)}"))
        elif v > mx:
            errs.append(_invalid(field, v, f"{field} in body should be less than or equal to {_num(mx)}"))
    mn = s.get("minimum")
    if isinstance(mn, (int, float)) and not isinstance(mn, bool):
        if s.get("exclusiveMinimum") is True and v <= mn:
            errs.append(_invalid(field, v, f"{field} in body should be greater than {_num(mn)}"))
        elif v < mn:
            errs.append(_invalid(field, v, f"{field} in body should be greater than or equal to {_num(mn)}"))
    fmt = s.get("format")
    if fmt in _INT_RANGES:
        lo, hi = _INT_RANGES[fmt]
        if not lo <= v <= hi:
            errs.append(_invalid(field, v, f"{field} in body must be of type {fmt}: {go_quote(go_value(v))}"))


def _validate_array(v: list[Any], s: Schema, field: str, errs: list[FieldError]) -> None:
    if isinstance(s.get("maxItems"), int) and len(v) > s["maxItems"]:
        errs.append(_too_many(field, len(v), s["maxItems"]))
    if isinstance(s.get("minItems"), int) and len(v) < s["minItems"]:
        errs.append(_invalid(field, len(v), f"{field} in body should have at least {s['minItems']} items"))
    if s.get("uniqueItems") is True:
        for i, x in enumerate(v):
            if any(json_equal(x, y) for y in v[:i]):
                errs.append(_invalid(field, v, f"{field} in body shouldn't contain duplicates"))
                break
    items = s.get("items")
    if isinstance(items, Mapping):
        for i, x in enumerate(v):
            _validate(x, items, _index(field, i), errs)


def _validate_object(v: dict[str, Any], s: Schema, field: str, errs: list[FieldError]) -> None:
    if isinstance(s.get("maxProperties"), int) and len(v) > s["maxProperties"]:
        errs.append(_too_many(field, len(v), s["maxProperties"]))
    if isinstance(s.get("minProperties"), int) and len(v) < s["minProperties"]:
        errs.append(_invalid(field, len(v), f"{field} in body should have at least {s['minProperties']} properties"))
    for req in s.get("required") or []:
        if isinstance(req, str) and req not in v:
            errs.append(_required(_child(field, req)))
    props: Mapping[str, Any] = s.get("properties") or {}
    addl = s.get("additionalProperties")
    for k, x in v.items():
        if not field and k == "metadata":
            # ObjectMeta is validated by the server; a CRD schema may only restrict name and generateName.
            meta_props = (props.get("metadata") or {}).get("properties") or {}
            if isinstance(x, dict):
                for mk in ("name", "generateName"):
                    if mk in meta_props and mk in x:
                        _validate(x[mk], meta_props[mk], f"metadata.{mk}", errs)
            continue
        if k in props:
            _validate(x, props[k], _child(field, k), errs)
        elif isinstance(addl, Mapping):
            _validate(x, addl, _child(field, k), errs)


def _list_type_errors(v: Any, s: Schema, field: str, errs: list[FieldError]) -> None:
    """structurallisttype.ValidateListSetsAndMaps: uniqueness of set items and map keys."""
    if isinstance(v, list):
        list_type = s.get("x-kubernetes-list-type")
        if list_type == "set":
            for i, x in enumerate(v):
                if any(json_equal(x, y) for y in v[:i]):
                    errs.append(_duplicate(_index(field, i), x))
        elif list_type == "map":
            keys = [k for k in s.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
            seen: list[dict[str, Any]] = []
            for i, x in enumerate(v):
                if not isinstance(x, dict):
                    continue
                key = {k: x[k] for k in keys if k in x}
                if any(json_equal(key, other) for other in seen):
                    errs.append(_duplicate(_index(field, i), key))
                seen.append(key)
        items = s.get("items")
        if isinstance(items, Mapping):
            for i, x in enumerate(v):
                _list_type_errors(x, items, _index(field, i), errs)
    elif isinstance(v, dict):
        props: Mapping[str, Any] = s.get("properties") or {}
        addl = s.get("additionalProperties")
        for k, x in v.items():
            if k in props:
                _list_type_errors(x, props[k], _child(field, k), errs)
            elif isinstance(addl, Mapping):
                _list_type_errors(x, addl, _key(field, k), errs)


# ---------------------------------------------------------------------------------------------------
# 5: x-kubernetes-validations

_PROGRAMS: dict[str, Program | CelError] = {}


def _program(expr: str) -> Program:
    cached = _PROGRAMS.get(expr)
    if cached is None:
        try:
            cached = compile_expression(expr)
        except CelError as err:
            cached = err
        if len(_PROGRAMS) < 4096:
            _PROGRAMS[expr] = cached
    if isinstance(cached, CelError):
        raise cached
    return cached


_FIELD_PATH_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]")


def _rule_field(base: str, field_path: str) -> str:
    """Append a rule's ``fieldPath`` (``.spec.x`` or ``['key']``) to ``base`` in field.Path form."""
    out, pos = base, 0
    while pos < len(field_path):
        m = _FIELD_PATH_RE.match(field_path, pos)
        if m is None:
            return base
        out = _child(out, m.group(1)) if m.group(1) is not None else _key(out, m.group(2))
        pos = m.end()
    return out


def _rule_error(rule: Mapping[str, Any], field: str, stype: str, detail: str) -> FieldError:
    reason = rule.get("reason")
    if reason == "FieldValueForbidden":
        return _forbidden(field, detail)
    if reason == "FieldValueRequired":
        return _required(field, detail)
    if reason == "FieldValueDuplicate":
        return _duplicate(field, stype)
    return _invalid(field, stype, detail)


def _message(rule: Mapping[str, Any], variables: Mapping[str, Any]) -> str:
    expr = rule.get("messageExpression")
    if isinstance(expr, str) and expr.strip():
        try:
            msg = _program(expr).evaluate(variables)
        except CelError:
            msg = None
        if isinstance(msg, str) and msg.strip() and "\n" not in msg:
            return msg
    message = rule.get("message")
    if isinstance(message, str) and message:
        return message
    return f"failed rule: {str(rule.get('rule', '')).strip()}"


def _apply_rules(v: Any, old: Any, has_old: bool, s: Schema, field: str, errs: list[FieldError]) -> None:
    stype = str(s.get("type") or "")
    for rule in s.get("x-kubernetes-validations") or []:
        if not isinstance(rule, Mapping) or not isinstance(rule.get("rule"), str):
            continue
        text = rule["rule"]
        try:
            prog = _program(text)
        except CelError as err:
            errs.append(_invalid(field, stype, f"rule compile error: {err}"))
            continue
        if prog.uses_old_self and not has_old:
            continue
        variables: dict[str, Any] = {"self": v}
        if has_old:
            variables["oldSelf"] = old
        where = field
        if isinstance(rule.get("fieldPath"), str) and rule["fieldPath"]:
            where = _rule_field(field, rule["fieldPath"])
        try:
            result = prog.evaluate(variables)
        except CelEvalError as err:
            text_err = str(err)
            if text_err.startswith("no such overload"):
                detail = (f"'{text_err}': call arguments did not match a supported operator, function or macro "
                          f"signature for rule: {text.strip()}")
            else:
                detail = f"{text_err} evaluating rule: {text.strip()}"
            errs.append(_invalid(field, stype, detail))
            continue
        if result is True:
            continue
        if result is not False:
            errs.append(_invalid(field, stype, f"rule did not evaluate to a bool: {text.strip()}"))
            continue
        errs.append(_rule_error(rule, where, stype, _message(rule, variables)))
    _rules_children(v, old, has_old, s, field, errs)


def _rules_children(v: Any, old: Any, has_old: bool, s: Schema, field: str, errs: list[FieldError]) -> None:
    if isinstance(v, dict):
        props: Mapping[str, Any] = s.get("properties") or {}
        addl = s.get("additionalProperties")
        old_map = old if has_old and isinstance(old, dict) else None
        for k, x in v.items():
            if not field and k == "metadata":
                continue
            sub = props.get(k) if k in props else (addl if isinstance(addl, Mapping) else None)
            if sub is None:
                continue
            child = _child(field, k) if k in props else _key(field, k)
            has = old_map is not None and k in old_map
            _apply_rules(x, old_map[k] if has and old_map is not None else None, has, sub, child, errs)
    elif isinstance(v, list):
        items = s.get("items")
        if not isinstance(items, Mapping):
            return
        keys = [k for k in s.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
        correlate = s.get("x-kubernetes-list-type") == "map" and keys and has_old and isinstance(old, list)
        for i, x in enumerate(v):
            prev, has = None, False
            if correlate and isinstance(x, dict):
                for o in old:
                    if isinstance(o, dict) and all(json_equal(o.get(k), x.get(k)) for k in keys):
                        prev, has = o, True
                        break
            _apply_rules(x, prev, has, items, _index(field, i), errs)


# ---------------------------------------------------------------------------------------------------
# Public API


def validate_and_default(
    obj: dict[str, Any], schema: Schema, old: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[FieldError]]:
    """Prune, default and validate a custom object; returns the new object and its errors.

    ``old`` is the stored object on update (enables transition rules). ``obj`` is not modified.
    """
    out = copy.deepcopy(obj)
    _prune(out, schema, True)
    _prune_nulls(out, schema, True)
    _default(out, schema, True)
    errs: list[FieldError] = []
    _validate(out, schema, "", errs)
    _list_type_errors(out, schema, "", errs)
    if any(e.type == TYPE_INVALID for e in errs):
        errs.append(_invalid("", None, _RULES_SKIPPED))
    else:
        _apply_rules(out, old, old is not None, schema, "", errs)
    return out, [e if e.field else dataclasses.replace(e, field=ROOT) for e in errs]


def _undefined_field(prog: Program, schema: Schema, root: bool) -> str | None:
    """The first field a rule selects from ``self``/``oldSelf`` that the schema does not declare."""
    for var, chain in prog.field_chains():
        if var not in ("self", "oldSelf"):
            continue
        cur: Any = schema
        for depth, name in enumerate(chain):
            if root and depth == 0 and unescape_field_name(name) in ("metadata", "apiVersion", "kind"):
                break
            if not isinstance(cur, Mapping) or not (cur.get("type") == "object" or "properties" in cur):
                break  # not an object schema: nothing to check here
            props: Mapping[str, Any] = cur.get("properties") or {}
            real = unescape_field_name(name)
            if real in props:
                cur = props[real]
            elif isinstance(cur.get("additionalProperties"), Mapping):
                cur = cur["additionalProperties"]
            elif cur.get("x-kubernetes-preserve-unknown-fields") is True or cur.get("additionalProperties") is True:
                break
            else:
                return name
    return None


def check_rules(schema: Schema, path: str = "openAPIV3Schema") -> list[FieldError]:
    """Compile every ``x-kubernetes-validations`` rule and messageExpression; errors name the rule's path."""
    errs: list[FieldError] = []

    def walk(s: Any, p: str) -> None:
        if not isinstance(s, Mapping):
            return
        rules = s.get("x-kubernetes-validations")
        if isinstance(rules, list):
            for i, rule in enumerate(rules):
                rp = f"{p}.x-kubernetes-validations[{i}]"
                if not isinstance(rule, Mapping) or not isinstance(rule.get("rule"), str):
                    errs.append(_required(f"{rp}.rule"))
                    continue
                try:
                    prog = _program(rule["rule"])
                except CelError as err:
                    errs.append(_invalid(f"{rp}.rule", rule["rule"],
                                         f"compilation failed: ERROR: <input>: {err}"))
                else:
                    undefined = _undefined_field(prog, s, root=(p == path))
                    if undefined:
                        errs.append(_invalid(f"{rp}.rule", rule["rule"],
                                             f"compilation failed: ERROR: <input>: undefined field '{undefined}'"))
                expr = rule.get("messageExpression")
                if isinstance(expr, str) and expr:
                    try:
                        _program(expr)
                    except CelError as err:
                        errs.append(_invalid(f"{rp}.messageExpression", expr,
                                             f"messageExpression compilation failed: ERROR: <input>: {err}"))
                reason = rule.get("reason")
                allowed = ["FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired",
                           "FieldValueDuplicate"]
                if reason is not None and reason not in allowed:
                    errs.append(_not_supported(f"{rp}.reason", reason, allowed))
        for k, sub in (s.get("properties") or {}).items():
            walk(sub, f"{p}.properties[{k}]")
        if isinstance(s.get("additionalProperties"), Mapping):
            walk(s["additionalProperties"], f"{p}.additionalProperties")
        if isinstance(s.get("items"), Mapping):
            walk(s["items"], f"{p}.items")

    walk(schema, path)
    return errs
