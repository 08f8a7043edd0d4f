"""RFC 8040 RESTCONF front end of the simulator (data resources and operations).

Data: ``Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data`` is the only writable tree (running
config); the oper trees (app-hosting, ARP, device hardware) are built from the device state on each
GET. Every request body is validated against the YANG models before anything changes.

IOS-XE quirks modelled: GET of an existing container with no data answers ``204 No Content``; a
missing resource is ``404`` with error-tag ``invalid-value`` and "uri keypath not found"; the
``Cisco-IOS-XE-rpc`` exec operations answer ``200`` with the CLI text in ``output/result`` even when
the command failed (``% Error: ...``), unless the control endpoint switches ``rpc_error_mode`` to
``http`` (then ``400 operation-failed``).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from yangson.schemanode import ContainerNode, LeafNode, ListNode

from hack.iosxe_sim import oper
from hack.iosxe_sim.datatree import (
    entry_matches,
    key_values,
    locate,
    member_name,
    merge,
    parse_fields,
    prune_depth,
    select_fields,
    strip_ns,
)
from hack.iosxe_sim.errors import JSON_TYPE, RestconfError, not_found
from hack.iosxe_sim.state import DEVICE_PREFIXES, DeviceState, OperationFailed, normalise_file
from hack.yang.validate import Problem, check, data_model, resolve, split_path

log = logging.getLogger("iosxe_sim.restconf")

CFG_MODULE = "Cisco-IOS-XE-app-hosting-cfg"
CFG_TOP = f"{CFG_MODULE}:app-hosting-cfg-data"
RPC_MODULE = "Cisco-IOS-XE-rpc"
OPER_TREES: dict[str, Callable[[DeviceState], dict[str, Any]]] = {
    oper.APP_OPER: oper.app_hosting_oper,
    oper.ARP_OPER: oper.arp_data,
    oper.HW_OPER: oper.device_hardware,
}
SUPPORTED_RPCS = ("app-hosting", "copy", "delete")
GET_PARAMS = {"depth", "fields", "content", "with-defaults"}


def problem_error(p: Problem, status: int = 400) -> RestconfError:
    tag = "malformed-message" if p.tag == "unknown-element" else "invalid-value"
    return RestconfError(status, tag, p.message, path=p.path)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(body, indent=2).encode(), content_type=JSON_TYPE, headers=headers
    )


def resource_path(request: web.Request, prefix: str) -> str:
    """The undecoded path after ``/restconf/data`` (keys stay percent-encoded until split)."""
    raw = request.raw_path.split("?", 1)[0]
    return raw[len(prefix) :].strip("/") if raw.startswith(prefix) else ""


async def read_body(request: web.Request) -> Any:
    ctype = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if ctype.endswith("+xml") or ctype in ("application/xml", "text/xml"):
        raise RestconfError(
            415, "invalid-value", "this simulator accepts only application/yang-data+json request bodies"
        )
    if ctype not in ("application/yang-data+json", "application/json", ""):
        raise RestconfError(415, "invalid-value", f"unsupported media type {ctype!r}")
    text = await request.text()
    if not text.strip():
        raise RestconfError(400, "malformed-message", "request body is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RestconfError(400, "malformed-message", f"invalid JSON: {e}") from e


class Restconf:
    """Handlers for ``/restconf``; ``rpc_error_mode`` is ``result`` (device-like) or ``http``."""

    def __init__(self, state: DeviceState) -> None:
        self.state = state
        self.dm = data_model()
        self.rpc_error_mode = "result"

    # ------------------------------------------------------------------ running config

    def config_tree(self) -> dict[str, Any]:
        with self.state.lock:
            apps = [copy.deepcopy(a.config) for _, a in sorted(self.state.apps.items()) if a.config is not None]
            body: dict[str, Any] = {}
            if apps:
                body["apps"] = {"app": apps}
            if self.state.controls is not None:
                body["controls"] = copy.deepcopy(self.state.controls)
        return {CFG_TOP: body} if body else {}

    def commit(self, tree: dict[str, Any], *, validate: bool = True) -> None:
        """Make ``tree`` the running config: refuse first, then apply app by app.

        ``validate=False`` is for deletions: this model has no mandatory nodes or min-elements, so
        removing data cannot make a valid tree invalid (and whole-tree validation costs ~1 ms/app).
        """
        if validate:
            problems = check("", tree, "config")
            if problems:
                raise problem_error(problems[0])
        body = tree.get(CFG_TOP, {})
        wanted = {e["application-name"]: e for e in body.get("apps", {}).get("app", [])}
        with self.state.lock:
            current = {k for k, a in self.state.apps.items() if a.config is not None}
            gone = sorted(current - wanted.keys())
            for app_id in gone:
                try:
                    self.state.check_config_delete(app_id)
                except OperationFailed as e:
                    raise RestconfError(409, "in-use", str(e), path=f"/{CFG_TOP}/apps/app={app_id}") from e
            for app_id in gone:
                self.state.set_app_config(app_id, None)
            for app_id, cfg in wanted.items():
                app = self.state.apps.get(app_id)
                if app is None or app.config != cfg:
                    self.state.set_app_config(app_id, cfg)
            self.state.controls = copy.deepcopy(body.get("controls")) if "controls" in body else None

    # ------------------------------------------------------------------ routing helpers

    def _resolve(self, path: str) -> tuple[Any, list[tuple[Any, Any]]]:
        segs = split_path(path)
        if segs and segs[0].module is None:
            raise RestconfError(
                400, "malformed-message", f"the first path segment {segs[0].name!r} needs a module prefix"
            )
        try:
            node, chain = resolve(self.dm, path)
        except LookupError as e:
            raise not_found("/" + path) from e
        if chain:
            top = f"{chain[0][0].ns}:{chain[0][0].name}"
            if top != CFG_TOP and top not in OPER_TREES:
                raise not_found("/" + path)
        return node, chain

    def _tree_for(self, chain: list[tuple[Any, Any]]) -> tuple[dict[str, Any], bool]:
        top = f"{chain[0][0].ns}:{chain[0][0].name}"
        if top == CFG_TOP:
            return self.config_tree(), True
        return OPER_TREES[top](self.state), False

    # ------------------------------------------------------------------ GET

    async def get_data(self, request: web.Request) -> web.Response:
        for p in request.query:
            if p not in GET_PARAMS:
                raise RestconfError(400, "invalid-value", f"unknown query parameter {p!r}")
        content = request.query.get("content", "all")
        if content not in ("all", "config", "nonconfig"):
            raise RestconfError(400, "invalid-value", "content must be config, nonconfig or all")
        depth = self._depth(request.query.get("depth", "unbounded"))
        fields = None
        if "fields" in request.query:
            try:
                fields = parse_fields(request.query["fields"])
            except ValueError as e:
                raise RestconfError(400, "invalid-value", str(e)) from e
        path = resource_path(request, "/restconf/data")
        if not path:
            return self._get_root(content, depth, fields)
        node, chain = self._resolve(path)
        tree, is_config = self._tree_for(chain)
        if (content == "config" and not is_config) or (content == "nonconfig" and is_config):
            return web.Response(status=204)
        loc = locate(tree, chain)
        if not loc.exists:
            if isinstance(node, ContainerNode) or (isinstance(node, ListNode) and not chain[-1][1].has_keys):
                return web.Response(status=204)
            raise not_found("/" + path)
        value = [loc.value] if loc.index is not None else loc.value
        if fields is not None:
            value = select_fields(value, fields)
        if depth is not None:
            value = prune_depth(value, depth, node) if isinstance(value, dict | list) else value
        return json_response({f"{node.ns}:{node.name}": value})

    def _depth(self, text: str) -> int | None:
        if text == "unbounded":
            return None
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise RestconfError(400, "invalid-value", "depth must be 1..65535 or unbounded")
        return int(text)

    def _get_root(self, content: str, depth: int | None, fields: dict[str, Any] | None) -> web.Response:
        body: dict[str, Any] = {}
        if content in ("all", "config"):
            body.update(self.config_tree())
        if content in ("all", "nonconfig"):
            for build in OPER_TREES.values():
                body.update(build(self.state))
        if fields is not None:
            body = select_fields(body, fields)
        if depth is not None:
            body = {k: prune_depth(v, depth - 1, None) if depth > 1 else {} for k, v in body.items()}
        return json_response({"ietf-restconf:data": body})

    # ------------------------------------------------------------------ edits

    def _writable(self, chain: list[tuple[Any, Any]], path: str) -> None:
        if chain and f"{chain[0][0].ns}:{chain[0][0].name}" != CFG_TOP:
            raise RestconfError(
                405,
                "operation-not-supported",
                "operational data is read-only",
                path="/" + path,
                headers={"Allow": "GET, HEAD, OPTIONS"},
            )

    def _validate(self, parent_path: str, body: dict[str, Any]) -> None:
        problems = check(parent_path, body, "config")
        if problems:
            raise problem_error(problems[0])

    async def post_data(self, request: web.Request) -> web.Response:
        path = resource_path(request, "/restconf/data")
        body = await read_body(request)
        if not isinstance(body, dict) or len(body) != 1:
            raise RestconfError(400, "malformed-message", "POST body must be a JSON object with exactly one member")
        node, chain = self._resolve(path) if path else (self.dm.schema, [])
        self._writable(chain, path)
        ((member, value),) = body.items()
        if not chain and ":" in member and member.split(":", 1)[0] != CFG_MODULE:
            raise RestconfError(405, "operation-not-supported", f"{member} is not writable", path="/" + member)
        self._validate(path, body)
        mod, colon, name = member.partition(":")
        child = node.get_data_child(name if colon else mod, mod if colon else node.ns)
        if child is None:  # validation accepts only known members, so this is defensive
            raise RestconfError(400, "malformed-message", f"unknown element {member}", path="/" + member)
        tree = self.config_tree()
        if chain:
            loc = locate(tree, chain, create=True)
            if not loc.exists:
                if isinstance(node, ListNode) or loc.holder is None:
                    raise not_found("/" + path)
                loc.holder[loc.name] = {}
                loc = locate(tree, chain)
            target = loc.value
        else:
            target = tree
        cname = member_name(child, node.ns if chain else None)
        value = strip_ns(value, child.ns)
        new_path = ("/" + path if path else "") + "/" + (cname if chain else member)
        if isinstance(child, ListNode):
            entries = value if isinstance(value, list) else [value]
            if len(entries) != 1 or not isinstance(entries[0], dict):
                raise RestconfError(400, "malformed-message", f"POST creates exactly one {child.name} entry")
            entry = entries[0]
            keys = {k: entry.get(k) for k, _ in child.keys}
            existing = target.setdefault(cname, [])
            if any(entry_matches(e, keys) for e in existing):
                raise RestconfError(409, "data-exists", "object already exists", path=self._entry_path(new_path, keys))
            existing.append(entry)
            new_path = self._entry_path(new_path, keys)
        else:
            if cname in target:
                raise RestconfError(409, "data-exists", "object already exists", path=new_path)
            target[cname] = value
        self.commit(tree)
        return web.Response(
            status=201, headers={"Location": f"{request.scheme}://{request.host}/restconf/data{new_path}"}
        )

    @staticmethod
    def _entry_path(path: str, keys: dict[str, Any]) -> str:
        return path + "=" + ",".join(str(v) for v in keys.values())

    def _target_body(self, node: Any, chain: list[tuple[Any, Any]], path: str, body: Any) -> Any:
        """The value of the single body member naming the target; checks list keys against the URI."""
        if not isinstance(body, dict) or len(body) != 1:
            raise RestconfError(400, "malformed-message", "body must be a JSON object with exactly one member")
        ((member, value),) = body.items()
        if member.rsplit(":", 1)[-1] != node.name or (":" in member and member.split(":", 1)[0] != node.ns):
            raise RestconfError(
                400,
                "malformed-message",
                f"body member {member!r} does not match the target {node.name!r}",
                path="/" + path,
            )
        if isinstance(node, ListNode):
            if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
                raise RestconfError(400, "malformed-message", f"body must hold exactly one {node.name} entry")
            uri_keys = key_values(node, chain[-1][1])
            if not entry_matches(value[0], uri_keys):
                raise RestconfError(
                    400, "invalid-value", "the key values in the body do not match the URI", path="/" + path
                )
            return value[0]
        return value

    def _parent_path(self, path: str) -> str:
        return path.rsplit("/", 1)[0] if "/" in path else ""

    async def _write_target(self, request: web.Request, method: str,
                            no_path: str) -> tuple[str, Any, list[tuple[Any, Any]], Any]:
        """PUT/PATCH preamble: the target path, its schema node and key chain, and the validated body
        value (namespace prefixes stripped)."""
        path = resource_path(request, "/restconf/data")
        if not path:
            raise RestconfError(405, "operation-not-supported", no_path)
        body = await read_body(request)
        node, chain = self._resolve(path)
        self._writable(chain, path)
        if isinstance(node, ListNode) and not chain[-1][1].has_keys:
            raise RestconfError(400, "malformed-message", f"{method} on list {node.name} needs its key in the URI")
        value = self._target_body(node, chain, path, body)
        self._validate(self._parent_path(path), body)
        return path, node, chain, strip_ns(value, node.ns)

    async def put_data(self, request: web.Request) -> web.Response:
        path, node, chain, value = await self._write_target(
            request, "PUT", "replacing the whole datastore is not supported")
        tree = self.config_tree()
        loc = locate(tree, chain, create=True)
        created = not loc.exists
        if loc.holder is None:
            raise not_found("/" + path)
        if isinstance(node, ListNode):
            lst = loc.holder.setdefault(loc.name, [])
            if loc.index is None:
                lst.append(value)
            else:
                lst[loc.index] = value
        else:
            loc.holder[loc.name] = value
        self.commit(tree)
        return web.Response(status=201 if created else 204)

    async def patch_data(self, request: web.Request) -> web.Response:
        path, node, chain, value = await self._write_target(request, "PATCH", "PATCH needs a target resource")
        tree = self.config_tree()
        loc = locate(tree, chain)
        if not loc.exists or loc.holder is None:
            raise not_found("/" + path)
        if isinstance(node, ListNode):
            loc.holder[loc.name][loc.index] = merge(loc.value, value, node)
        elif isinstance(node, LeafNode):
            loc.holder[loc.name] = value
        else:
            loc.holder[loc.name] = merge(loc.value, value, node)
        self.commit(tree)
        return web.Response(status=204)

    async def delete_data(self, request: web.Request) -> web.Response:
        path = resource_path(request, "/restconf/data")
        if not path:
            raise RestconfError(405, "operation-not-supported", "deleting the whole datastore is not supported")
        _node, chain = self._resolve(path)
        self._writable(chain, path)
        tree = self.config_tree()
        loc = locate(tree, chain)
        if not loc.exists or loc.holder is None:
            raise not_found("/" + path)
        if loc.index is not None:
            del loc.holder[loc.name][loc.index]
            if not loc.holder[loc.name]:
                del loc.holder[loc.name]
        else:
            del loc.holder[loc.name]
        self._drop_empty(tree)
        self.commit(tree, validate=False)
        return web.Response(status=204)

    @staticmethod
    def _drop_empty(tree: dict[str, Any]) -> None:
        body = tree.get(CFG_TOP)
        if isinstance(body, dict) and body.get("apps") == {}:
            del body["apps"]

    # ------------------------------------------------------------------ operations

    async def list_operations(self, request: web.Request) -> web.Response:
        return json_response({"ietf-restconf:operations": {f"{RPC_MODULE}:{n}": [None] for n in SUPPORTED_RPCS}})

    async def post_operation(self, request: web.Request) -> web.Response:
        name = resource_path(request, "/restconf/operations")
        mod, colon, rpc = name.partition(":")
        if not colon or "/" in name:
            raise RestconfError(400, "malformed-message", "an operation is named module:rpc")
        target = self.dm.schema.get_child(rpc, mod)
        if target is None:
            raise not_found("/" + name)
        text = await request.text()
        body: Any = {}
        if text.strip():
            body = await read_body(request)
        if not isinstance(body, dict):
            raise RestconfError(400, "malformed-message", "operation input must be a JSON object")
        problems = check(name, body, "rpc-input")
        if problems:
            raise problem_error(problems[0])
        if mod != RPC_MODULE or rpc not in SUPPORTED_RPCS:
            raise RestconfError(501, "operation-not-supported", f"{name} is not implemented by this simulator")
        wrapper = f"{RPC_MODULE}:input"
        inp = body[wrapper] if set(body) == {wrapper} else body
        inp = strip_ns(inp, RPC_MODULE)
        try:
            result = await getattr(self, "_rpc_" + rpc.replace("-", "_"))(inp)
        except OperationFailed as e:
            log.info("rpc refused rpc=%s reason=%s", name, e)
            if self.rpc_error_mode == "http":
                raise RestconfError(400, "operation-failed", str(e)) from e
            result = f"% Error: {e}"
        return json_response({f"{RPC_MODULE}:output": {"result": result}})

    async def _rpc_app_hosting(self, inp: dict[str, Any]) -> str:
        ((op, args),) = inp.items()
        args = args or {}
        st = self.state
        if op == "install":
            return await st.install(args.get("appid", ""), args.get("package", ""))
        if op in ("activate", "start", "stop", "deactivate", "uninstall"):
            app_id = args.get("appid", "")
            if not app_id:
                raise OperationFailed(f"{op} needs an appid")
            return str(await getattr(st, op)(app_id))
        if op == "upgrade":
            return await st.upgrade(args.get("appid", ""), args.get("package", ""))
        if op == "verification":
            st.sign_verification = "enable" in args
            return f"App signature verification {'enabled' if st.sign_verification else 'disabled'}"
        if op == "move":
            if "system" in args:
                key = st.add_file(
                    args["system"].get("techsupport", {}).get("to", "bootflash:") + "/iox_techsupport.tar",
                    b"techsupport",
                )
                return f"Successfully moved techsupport to {key}"
            what = "log" if "log" in args else "core"
            return await st.move(args["appid"], what, args[what].get("to", "bootflash:"))
        raise OperationFailed(f"unknown app-hosting operation {op}")

    async def _rpc_copy(self, inp: dict[str, Any]) -> str:
        src = inp["source-drop-node-name"]
        dst = inp["destination-drop-node-name"]
        if not dst.startswith(DEVICE_PREFIXES):
            raise OperationFailed(f"copy to {dst} is not supported by the simulator (only device files)")
        if src.startswith(("http://", "https://")):
            data = st_download(self.state, src)
        elif src.startswith(DEVICE_PREFIXES):
            with self.state.lock:
                if not self.state.has_file(src):
                    raise OperationFailed(f"opening {src} (No such file or directory)")
                data = self.state.files[normalise_file(src)]
        else:
            raise OperationFailed(f"copy from {src} is not supported by the simulator")
        key = self.state.add_file(dst, data)
        return f"Copy complete: {len(data)} bytes copied to {key}"

    async def _rpc_delete(self, inp: dict[str, Any]) -> str:
        name = inp["filename-drop-node-name"]
        if not self.state.delete_file(name):
            raise OperationFailed(f"deleting {name} (No such file or directory)")
        return f"Deleted {name}"


def st_download(state: DeviceState, url: str) -> bytes:
    """What a device 'downloads' from a URL: the bytes registered for it, or a placeholder tarball."""
    with state.lock:
        if url in state.failing_urls:
            raise OperationFailed(f"opening {url} (Connection timed out)")
        return state.url_content.get(url, b"IOX-PACKAGE " + url.encode())
