"""YANG validation of RESTCONF payloads against Cisco's IOS-XE models (yangson).

The models live outside the checkout (``CVK_YANG_DIR``, default ``../shared/yang`` beside it). yangson
needs an RFC 7895 ``ietf-yang-library:modules-state`` document listing every module, import and
submodule; :func:`yang_library` builds it by scanning the ``.yang`` files, so nothing is vendored.

Public API:

- :func:`validate` ``(module_path_or_root, data, kind="config") -> list[str]``: the errors of one
  payload, empty when it is valid. ``module_path_or_root`` names the data node that *contains* the
  top-level members of ``data`` (a RESTCONF path such as
  ``Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps``, with or without ``/restconf/data/``;
  ``""`` or ``"/"`` for the datastore root), or for ``kind="rpc-input"`` the RPC
  (``Cisco-IOS-XE-rpc:app-hosting``; ``data`` is the input with or without the
  ``Cisco-IOS-XE-rpc:input`` wrapper).
- :func:`check` does the same and returns :class:`Problem` objects (path, message, error-tag) for
  servers that must answer with an ``ietf-restconf:errors`` document.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from yangson import DataModel
from yangson import exceptions as yex
from yangson.enumerations import ContentType
from yangson.schemanode import (
    ListNode,
    RpcActionNode,
    SchemaNode,
)

Kind = Literal["config", "nonconfig", "all", "rpc-input", "rpc-output"]

#: Modules the IOS-XE simulator and the XE driver use.
DEFAULT_MODULES: tuple[str, ...] = (
    "Cisco-IOS-XE-app-hosting-cfg",
    "Cisco-IOS-XE-app-hosting-oper",
    "Cisco-IOS-XE-rpc",
    "Cisco-IOS-XE-arp-oper",
    "Cisco-IOS-XE-device-hardware-oper",
)


def yang_dir() -> Path:
    """The folder of YANG models: ``$CVK_YANG_DIR`` or ``<checkout>/../shared/yang``."""
    env = os.environ.get("CVK_YANG_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "yang"


@dataclass(frozen=True)
class ModuleFile:
    """What yangson's library needs to know about one ``.yang`` file."""

    name: str
    revision: str
    path: Path
    is_submodule: bool
    namespace: str = ""
    imports: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One validation failure: where (RFC 8040 error-path style), what, and the RESTCONF error-tag."""

    path: str
    message: str
    tag: str = "invalid-value"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class YangSetupError(RuntimeError):
    """The YANG folder is missing or a module cannot be found/parsed."""


_HEAD = re.compile(r"^\s*(module|submodule)\s+([A-Za-z0-9_.-]+)", re.M)
_REV = re.compile(r"^\s*revision\s+\"?(\d{4}-\d{2}-\d{2})", re.M)
_NS = re.compile(r"^\s*namespace\s+\"([^\"]+)\"", re.M)
_IMPORT = re.compile(r"^\s*import\s+([A-Za-z0-9_.-]+)", re.M)
_INCLUDE = re.compile(r"^\s*include\s+([A-Za-z0-9_.-]+)", re.M)


def _parse_file(path: Path) -> ModuleFile | None:
    text = path.read_text(encoding="utf-8", errors="replace")
    head = _HEAD.search(text)
    if head is None:
        return None
    revs = _REV.findall(text)
    ns = _NS.search(text)
    return ModuleFile(
        name=head.group(2),
        revision=max(revs) if revs else "",
        path=path,
        is_submodule=head.group(1) == "submodule",
        namespace=ns.group(1) if ns else "",
        imports=tuple(_IMPORT.findall(text)),
        includes=tuple(_INCLUDE.findall(text)),
    )


@functools.lru_cache(maxsize=8)
def scan(dirs: tuple[str, ...]) -> dict[str, ModuleFile]:
    """Index the ``.yang`` files of ``dirs`` (not recursive); the first directory wins on duplicates."""
    found: dict[str, ModuleFile] = {}
    for d in dirs:
        p = Path(d)
        if not p.is_dir():
            raise YangSetupError(f"YANG folder {p} does not exist; set CVK_YANG_DIR to the models' folder")
        for f in sorted(p.glob("*.yang")):
            info = _parse_file(f)
            if info is not None and info.name not in found:
                found[info.name] = info
    return found


def yang_library(modules: Iterable[str], dirs: Iterable[str]) -> dict[str, Any]:
    """An RFC 7895 ``modules-state`` document implementing ``modules`` with their whole import closure."""
    index = scan(tuple(dirs))
    implement = list(dict.fromkeys(modules))
    entries: dict[str, dict[str, Any]] = {}
    todo = [(m, "implement") for m in implement]
    while todo:
        name, conformance = todo.pop()
        if name in entries:
            if conformance == "implement":
                entries[name]["conformance-type"] = "implement"
            continue
        info = index.get(name)
        if info is None or info.is_submodule:
            raise YangSetupError(f"YANG module {name} not found in {list(dirs)}")
        subs: list[dict[str, str]] = []
        sub_imports: list[str] = []
        pending = list(info.includes)
        while pending:
            sname = pending.pop()
            if any(s["name"] == sname for s in subs):
                continue
            sinfo = index.get(sname)
            if sinfo is None:
                raise YangSetupError(f"YANG submodule {sname} (included by {name}) not found")
            subs.append({"name": sname, "revision": sinfo.revision})
            sub_imports.extend(sinfo.imports)
            pending.extend(sinfo.includes)
        entry: dict[str, Any] = {
            "name": name,
            "revision": info.revision,
            "namespace": info.namespace,
            "conformance-type": conformance,
        }
        if subs:
            entry["submodule"] = subs
        entries[name] = entry
        for imp in (*info.imports, *sub_imports):
            todo.append((imp, "import"))
    return {
        "ietf-yang-library:modules-state": {
            "module-set-id": "cvk-" + "-".join(sorted(f"{e['name']}@{e['revision']}" for e in entries.values())),
            "module": list(entries.values()),
        }
    }


def data_model(modules: tuple[str, ...] = DEFAULT_MODULES, dirs: tuple[str, ...] | None = None) -> Any:
    """A cached yangson ``DataModel`` for ``modules`` (parsing the Cisco models takes a second or two)."""
    return _data_model(tuple(modules), dirs if dirs is not None else (str(yang_dir()),))


@functools.lru_cache(maxsize=4)
def _data_model(modules: tuple[str, ...], search: tuple[str, ...]) -> Any:
    lib = yang_library(modules, search)
    try:
        return DataModel(json.dumps(lib), list(search))
    except yex.YangsonException as e:
        raise YangSetupError(f"cannot load YANG modules {modules}: {type(e).__name__}: {e}") from e


# ----------------------------------------------------------------------------- paths


@dataclass
class Segment:
    module: str | None
    name: str
    keys: list[str] = field(default_factory=list)
    has_keys: bool = False


def split_path(path: str) -> list[Segment]:
    """Parse an RFC 8040 data-resource path (``mod:a/b/c=k1,k2``) into segments (keys unquoted)."""
    p = path.split("?", 1)[0].strip()
    for prefix in ("/restconf/data", "restconf/data", "/restconf/operations", "restconf/operations"):
        if p.startswith(prefix):
            p = p[len(prefix) :]
            break
    p = p.strip("/")
    if not p:
        return []
    segs: list[Segment] = []
    for raw in p.split("/"):
        ident, eq, keys = raw.partition("=")
        mod, colon, name = ident.partition(":")
        seg = Segment(module=mod if colon else None, name=name if colon else mod)
        if eq:
            seg.has_keys = True
            seg.keys = [unquote(k) for k in keys.split(",")]
        segs.append(seg)
    return segs


def _child(node: Any, seg: Segment, module: str | None) -> Any:
    mod = seg.module or module
    child = node.get_data_child(seg.name, mod) if mod else None
    if child is None:
        raise LookupError(f"no data node {mod}:{seg.name} under {node.qual_name or '/'}")
    return child


def raw_key(leaf: Any, text: str) -> Any:
    value = leaf.type.parse_value(text)
    if value is None:
        raise ValueError(f"invalid key value {text!r} for {leaf.name}")
    return leaf.type.to_raw(value)


def resolve(dm: Any, path: str) -> tuple[Any, list[tuple[Any, Segment]]]:
    """Walk ``path`` in the schema; returns the target schema node and the chain of (node, segment)."""
    node: SchemaNode = dm.schema
    chain: list[tuple[Any, Segment]] = []
    module: str | None = None
    for seg in split_path(path):
        node = _child(node, seg, module)
        module = node.ns
        chain.append((node, seg))
    return node, chain


def _wrap(chain: list[tuple[Any, Segment]], inner: dict[str, Any]) -> dict[str, Any]:
    """Embed ``inner`` (members of the last node) into a full tree from the datastore root."""
    body: dict[str, Any] = inner
    for node, seg in reversed(chain):
        qname = f"{node.ns}:{node.name}"
        if isinstance(node, ListNode):
            entry = dict(body)
            if seg.has_keys:
                if len(seg.keys) != len(node.keys):
                    raise ValueError(f"list {node.name} needs {len(node.keys)} key value(s)")
                for (kname, kns), text in zip(node.keys, seg.keys, strict=True):
                    leaf = node.get_child(kname, kns)
                    entry[kname if kns == node.ns else f"{kns}:{kname}"] = raw_key(leaf, text)
            body = {qname: [entry]}
        else:
            body = {qname: body}
    return body


def _qualify(members: dict[str, Any], module: str | None) -> dict[str, Any]:
    """Top-level members must be module-qualified in the wrapped tree; qualify bare names."""
    out: dict[str, Any] = {}
    for k, v in members.items():
        out[k if (":" in k or module is None) else f"{module}:{k}"] = v
    return out


def normalise_path(path: str) -> str:
    """RFC 8040 style: module prefix only where the module changes (``/m:a/m:b=k`` -> ``/m:a/b=k``)."""
    out: list[str] = []
    module = ""
    for seg in path.strip("/").split("/"):
        if not seg:
            continue
        ident, eq, keys = seg.partition("=")
        mod, colon, name = ident.partition(":")
        if colon and mod == module:
            seg = name + eq + keys
        elif colon:
            module = mod
        out.append(seg)
    return "/" + "/".join(out)


def _route(err: BaseException) -> str:
    inst = getattr(err, "instance", None)
    if inst is not None:
        route = re.sub(
            r"\[([^\]]*)\]",
            lambda m: "=" + ",".join(v for v in re.findall(r'="([^"]*)"', m.group(1))),
            str(inst.instance_route()),
        )
        return normalise_path(route)
    return normalise_path(str(getattr(err, "path", "")))


def _message(err: BaseException) -> str:
    if isinstance(err, yex.RawMemberError):
        return "unknown element (not in the YANG model)"
    if isinstance(err, yex.RawTypeError):
        return str(err.message)
    if isinstance(err, yex.YangTypeError):
        value = getattr(err.instance, "value", None)
        msg = f"invalid value {value!r}: {err.message or err.tag}"
        ytype = getattr(getattr(err.instance, "schema_node", None), "type", None)
        allowed = getattr(ytype, "range", None) or getattr(ytype, "length", None)
        if allowed is not None and err.message in ("not in range", "invalid length"):
            msg += f" (allowed {'length ' if err.message == 'invalid length' else ''}{allowed})"
        return msg
    if isinstance(err, yex.ValidationError):
        return f"{err.tag}: {err.message}" if err.message else str(err.tag)
    return f"{type(err).__name__}: {err}"


def _tag(err: BaseException) -> str:
    if isinstance(err, yex.RawMemberError):
        return "unknown-element"
    if isinstance(err, yex.SchemaError) and err.tag in {"missing-data", "data-missing"}:
        return "data-missing"
    return "invalid-value"


def check(
    module_path_or_root: str,
    data: Any,
    kind: Kind = "config",
    *,
    modules: tuple[str, ...] = DEFAULT_MODULES,
) -> list[Problem]:
    """Validate ``data`` (see the module doc); returns the problems found, empty when valid."""
    dm = data_model(modules)
    if not isinstance(data, dict):
        return [Problem("/", f"payload must be a JSON object, got {type(data).__name__}", "malformed-message")]
    try:
        if kind in ("rpc-input", "rpc-output"):
            segs = split_path(module_path_or_root)
            if len(segs) != 1 or segs[0].module is None:
                raise LookupError("an RPC is named module:rpc, e.g. Cisco-IOS-XE-rpc:app-hosting")
            target = dm.schema.get_child(segs[0].name, segs[0].module)
            if target is None:
                raise LookupError(f"no RPC {segs[0].module}:{segs[0].name}")
            chain: list[tuple[Any, Segment]] = []
        else:
            target, chain = resolve(dm, module_path_or_root)
    except (LookupError, ValueError, yex.YangsonException) as e:
        return [Problem(module_path_or_root, f"invalid path: {e}", "invalid-value")]
    try:
        if kind in ("rpc-input", "rpc-output"):
            return _check_rpc(dm, target, data, kind)
        module = getattr(target, "ns", None) if chain else None
        tree = _wrap(chain, _qualify(copy.deepcopy(data), module))
        inst = dm.from_raw(tree)
        ctype = {"config": ContentType.config, "nonconfig": ContentType.all, "all": ContentType.all}[kind]
        inst.validate(ctype=ctype)
    except (yex.YangsonException, ValueError) as e:
        return [Problem(_route(e), _message(e), _tag(e))]
    return []


def _check_rpc(dm: Any, target: Any, data: dict[str, Any], kind: str) -> list[Problem]:
    if not isinstance(target, RpcActionNode):
        return [Problem("/", f"{target.ns}:{target.name} is not an RPC or action", "invalid-value")]
    part = "input" if kind == "rpc-input" else "output"
    wrapper = f"{target.ns}:{part}"
    body = data[wrapper] if set(data) == {wrapper} else data
    if not isinstance(body, dict):
        return [Problem("/", f"{wrapper} must be a JSON object", "malformed-message")]
    inst = dm.from_raw({wrapper: body}, f"{target.ns}:{target.name}")
    try:
        inst.validate(ctype=ContentType.all)
    except TypeError:
        # yangson fails this way when a mandatory choice has no case present.
        return [Problem(f"/{wrapper}", "a mandatory choice is missing (no operation given)", "data-missing")]
    return []


def validate(
    module_path_or_root: str,
    data: Any,
    kind: Kind = "config",
    *,
    modules: tuple[str, ...] = DEFAULT_MODULES,
) -> list[str]:
    """Validate ``data`` against the YANG models; returns ``path: message`` strings, empty if valid."""
    return [str(p) for p in check(module_path_or_root, data, kind, modules=modules)]
