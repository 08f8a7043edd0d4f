"""Strict, generic conversion between JSON-shaped data and the DeviceSpec dataclasses.

Keys are the camelCase form of the dataclass attribute (with a few acronyms, ``podCIDR``,
``defaultCPU``...). Anything unexpected is a ``ConfigError`` naming the dotted field path: an unknown
key (with a "did you mean" hint), a missing required field, or a value of the wrong type. Value
rules beyond types (ranges, unions, formats) live in ``cvk.config.validate``.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import types
import typing
from typing import Any

from cvk.errors import ConfigError

_ACRONYMS = {"pod_cidr": "podCIDR", "default_cpu": "defaultCPU", "max_cpu": "maxCPU"}

# Fields that also accept an integer, converted to a string (YAML readers write ``interface: 0``).
# Fields the CRD declares int-or-string (a YAML number is fine there): VirtualPortGroup numbers and
# Kubernetes quantities (`maxCPU: 2`).
_INT_AS_STRING = {
    ("VirtualPortGroupIf", "interface"),
    *(("ResourceLimits", f) for f in ("default_cpu", "default_memory", "default_storage",
                                      "max_cpu", "max_memory", "max_storage")),
    *(("FakeConfig", f) for f in ("cpu", "memory", "storage")),
}


def camel(attr: str) -> str:
    if attr in _ACRONYMS:
        return _ACRONYMS[attr]
    first, *rest = attr.split("_")
    return first + "".join(p[:1].upper() + p[1:] for p in rest)


@functools.cache
def fields_of(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """camelCase key -> (dataclass field, resolved type)."""
    hints = typing.get_type_hints(cls)
    return {camel(f.name): (f, hints[f.name]) for f in dataclasses.fields(cls)}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def hint(word: str, choices: list[str]) -> str:
    """'; did you mean "x"?' when ``word`` is close to one of ``choices``, else ''."""
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f'; did you mean "{lowered[word.lower()]}"? (names are case-sensitive)'
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _block_hint(cls: type, data: Any, path: str) -> str:
    """What a block looks like, for a scalar or list written where the block belongs."""
    known = fields_of(cls)
    names = list(known) if len(known) <= 8 else [k for k, (f, _) in known.items() if _required(f)] + ["..."]
    shape = f"a mapping with fields {', '.join(names)}"
    if isinstance(data, bool) and "enabled" in known:
        key = path.rsplit(".", 1)[-1]
        return f"{shape}, e.g. {key}: {{enabled: {'true' if data else 'false'}}}"
    return shape


def _unquote_hint(value: Any, tp: Any) -> str:
    """'; remove the quotes' when a quoted string holds a valid value of ``tp``."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if tp is bool:
        ok = text in ("true", "false")
    elif tp is int:
        ok = text.lstrip("+-").isdigit()
    else:
        try:
            float(text)
            ok = True
        except ValueError:
            ok = False
    return "; remove the quotes" if ok else ""


def parse_dataclass(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        shown = "" if isinstance(data, bool | dict | list) or data is None else f" {data!r}"
        raise ConfigError(path, f"must be {_block_hint(cls, data, path)}; got {_type_name(data)}{shown}")
    known = fields_of(cls)
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(path, f"field names must be strings, got {key!r}")
        if key not in known:
            raise ConfigError(f"{path}.{key}", "unknown field" + hint(key, list(known))
                              + f" (known fields: {', '.join(known)})")
    values: dict[str, Any] = {}
    for key, (f, tp) in known.items():
        value = data.get(key)
        if value is None:
            if _required(f):
                raise ConfigError(f"{path}.{key}", f"required field is missing; add {key}: <value>")
            continue
        if (cls.__name__, f.name) in _INT_AS_STRING and isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        values[f.name] = convert(value, tp, f"{path}.{key}")
    return cls(**values)


def convert(value: Any, tp: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        if len(args) != 1:  # pragma: no cover - the spec has no such union
            raise TypeError(f"unsupported type {tp} at {path}")
        return convert(value, args[0], path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"must be true or false, got {_type_name(value)} {value!r}"
                              f"{_unquote_hint(value, tp)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"must be an integer, got {_type_name(value)} {value!r}"
                              f"{_unquote_hint(value, tp)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(path, f"must be a number, got {_type_name(value)} {value!r}"
                              f"{_unquote_hint(value, tp)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"must be a string, got {_type_name(value)} {value!r}; quote it")
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        allowed = [str(m.value) for m in tp]
        if not isinstance(value, str) or value not in allowed:
            suggestion = hint(value, allowed) if isinstance(value, str) else ""
            raise ConfigError(path, f"must be one of {', '.join(allowed)}, got {value!r}{suggestion}")
        return tp(value)
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(path, f"must be a mapping, got {_type_name(value)}")
        return {convert(k, key_t, path): convert(v, val_t, f"{path}.{k}") for k, v in value.items()}
    if origin is list:
        (item_t,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(path, f"must be a list, got {_type_name(value)}")
        return [convert(v, item_t, f"{path}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return parse_dataclass(tp, value, path)
    raise TypeError(f"unsupported type {tp} at {path}")  # pragma: no cover


def to_data(obj: Any, skip: frozenset[str] = frozenset()) -> Any:
    """The JSON shape of a spec object: camelCase keys, enums as strings, None and empty maps or
    lists left out. ``skip`` names attributes of the top-level object to leave out."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for key, (f, _tp) in fields_of(type(obj)).items():
            if f.name in skip:
                continue
            raw = getattr(obj, f.name)
            if raw is None or (isinstance(raw, dict | list) and not raw):
                continue
            out[key] = to_data(raw)
        return out
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {k: to_data(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_data(v) for v in obj]
    return obj
