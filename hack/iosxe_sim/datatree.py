"""Schema-aware navigation and editing of RFC 7951 JSON trees, plus the GET query filters.

Trees keep module-qualified names only where the module changes (RFC 7951), so a stored tree looks
exactly like what a device returns. Schema nodes come from yangson (``hack.yang.validate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yangson.schemanode import LeafNode, ListNode

from hack.iosxe_sim.errors import RestconfError
from hack.yang.validate import Segment, raw_key


def member_name(node: Any, parent_ns: str | None) -> str:
    return node.name if node.ns == parent_ns else f"{node.ns}:{node.name}"


def strip_ns(obj: Any, ns: str | None) -> Any:
    """Drop ``ns:`` prefixes that repeat the parent's module; recurse with the member's module."""
    if isinstance(obj, list):
        return [strip_ns(x, ns) for x in obj]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for k, v in obj.items():
        mod, colon, name = k.partition(":")
        if colon and mod == ns:
            out[name] = strip_ns(v, ns)
        elif colon:
            out[k] = strip_ns(v, mod)
        else:
            out[k] = strip_ns(v, ns)
    return out


def key_values(node: Any, seg: Segment) -> dict[str, Any]:
    """The raw JSON key values of a list segment ``app=X``, typed per the key leaves."""
    if len(seg.keys) != len(node.keys):
        raise RestconfError(
            400,
            "malformed-message",
            f"list {node.name} needs {len(node.keys)} key value(s) in the URI, got {len(seg.keys)}",
        )
    out = {}
    for (kname, kns), text in zip(node.keys, seg.keys, strict=True):
        try:
            out[kname] = raw_key(node.get_child(kname, kns), text)
        except (ValueError, TypeError) as e:
            raise RestconfError(400, "invalid-value", f"invalid key {kname}={text!r}: {e}") from e
    return out


def entry_matches(entry: dict[str, Any], keys: dict[str, Any]) -> bool:
    return all(str(entry.get(k)) == str(v) for k, v in keys.items())


@dataclass
class Location:
    """Where a target lives in a tree: ``holder[name]`` (and ``[index]`` for a list entry)."""

    holder: dict[str, Any] | None
    name: str
    index: int | None
    value: Any
    exists: bool


def locate(tree: dict[str, Any], chain: list[tuple[Any, Segment]], *, create: bool = False) -> Location:
    """Follow ``chain`` in ``tree``; with ``create`` the missing ancestors (not the target) are made."""
    cur: Any = tree
    parent_ns: str | None = None
    loc = Location(None, "", None, tree, True)
    for depth, (node, seg) in enumerate(chain):
        last = depth == len(chain) - 1
        name = member_name(node, parent_ns)
        parent_ns = node.ns
        if not isinstance(cur, dict):
            return Location(None, name, None, None, False)
        if isinstance(node, ListNode):
            lst = cur.get(name)
            if not seg.has_keys:
                loc = Location(cur, name, None, lst, lst is not None)
                if not last:
                    raise RestconfError(400, "malformed-message", f"list {node.name} needs its key in the URI")
                return loc
            keys = key_values(node, seg)
            idx = next((i for i, e in enumerate(lst or []) if isinstance(e, dict) and entry_matches(e, keys)), None)
            if idx is None:
                if create and not last:
                    cur.setdefault(name, []).append(dict(keys))
                    idx = len(cur[name]) - 1
                else:
                    return Location(cur, name, None, None, False)
            loc = Location(cur, name, idx, cur[name][idx], True)
            cur = cur[name][idx]
        else:
            if name not in cur:
                if create and not last and not isinstance(node, LeafNode):
                    cur[name] = {}
                else:
                    return Location(cur, name, None, None, False)
            loc = Location(cur, name, None, cur[name], True)
            cur = cur[name]
    return loc


def merge(dst: Any, src: Any, node: Any) -> Any:
    """RFC 8040 plain PATCH merge: containers merge, list entries merge by key, leaves replace."""
    if isinstance(dst, dict) and isinstance(src, dict):
        out = dict(dst)
        for k, v in src.items():
            child = _schema_child(node, k)
            out[k] = merge(dst[k], v, child) if k in dst and child is not None else v
        return out
    if isinstance(dst, list) and isinstance(src, list) and isinstance(node, ListNode):
        out_l = list(dst)
        keys = [k for k, _ in node.keys]
        for entry in src:
            want = {k: entry.get(k) for k in keys}
            idx = next((i for i, e in enumerate(out_l) if entry_matches(e, want)), None)
            if idx is None:
                out_l.append(entry)
            else:
                out_l[idx] = merge(out_l[idx], entry, node)
        return out_l
    return src


def _schema_child(node: Any, member: str) -> Any:
    if node is None:
        return None
    mod, colon, name = member.partition(":")
    ns = mod if colon else node.ns
    return node.get_data_child(name if colon else mod, ns)


# ----------------------------------------------------------------------------- query filters


def parse_fields(expr: str) -> dict[str, Any]:
    """RFC 8040 ``fields``: ``a;b/c;d(e;f)`` -> ``{"a": None, "b": {"c": None}, "d": {"e": None, "f": None}}``."""
    pos = 0

    def parse_expr() -> dict[str, Any]:
        nonlocal pos
        out: dict[str, Any] = {}
        while True:
            start = pos
            while pos < len(expr) and expr[pos] not in "();":
                pos += 1
            path = expr[start:pos]
            if not path:
                raise ValueError(f"empty node name at offset {start} in fields={expr!r}")
            names = path.split("/")
            cur = out
            for n in names[:-1]:
                nxt = cur.get(n)
                if not isinstance(nxt, dict):
                    nxt = cur[n] = {}
                cur = nxt
            leaf = names[-1]
            if pos < len(expr) and expr[pos] == "(":
                pos += 1
                sub = parse_expr()
                if pos >= len(expr) or expr[pos] != ")":
                    raise ValueError(f"missing ')' in fields={expr!r}")
                pos += 1
                prev = cur.get(leaf)
                cur[leaf] = {**prev, **sub} if isinstance(prev, dict) else sub
            elif leaf not in cur:
                cur[leaf] = None
            if pos < len(expr) and expr[pos] == ";":
                pos += 1
                continue
            return out

    result = parse_expr()
    if pos != len(expr):
        raise ValueError(f"unexpected {expr[pos]!r} at offset {pos} in fields={expr!r}")
    return result


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def select_fields(value: Any, spec: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [select_fields(v, spec) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for want, sub in spec.items():
        for k, v in value.items():
            if k == want or _local(k) == _local(want):
                out[k] = v if sub is None else select_fields(v, sub)
    return out


def prune_depth(value: Any, depth: int, node: Any = None) -> Any:
    """Keep ``depth`` levels below (and counting) the target; list entries keep their keys."""
    if isinstance(value, list):
        return [prune_depth(v, depth, node) for v in value]
    if not isinstance(value, dict):
        return value
    keys = {k for k, _ in node.keys} if isinstance(node, ListNode) else set()
    out: dict[str, Any] = {}
    for k, v in value.items():
        child = _schema_child(node, k)
        if not isinstance(v, dict | list) or (isinstance(v, list) and v and not isinstance(v[0], dict)):
            if depth >= 2 or k in keys:
                out[k] = v
        elif depth >= 2:
            out[k] = prune_depth(v, depth - 1, child)
    return out
