"""REST handlers for resources: get, list, watch, create, update, patch, delete, deletecollection."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from . import tables
from .errors import ApiError, bad_request, gone, method_not_allowed, not_found, unsupported_media
from .resources import ResourceType
from .storage import validate_resource_version_param
from .store import ADDED, DELETED, Obj, Watcher
from .typed import check_mode

if TYPE_CHECKING:
    from .server import KubeAPIServer

log = logging.getLogger(__name__)

JSON = "application/json"
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


# Field selector names that are not the object's path.
FIELD_ALIASES = {
    "/events": {"source": "source.component"},
    "events.k8s.io/events": {"deprecatedSource": "deprecatedSource.component"},
}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=dumps(obj), status=status, content_type=JSON)
    for w in warnings or []:
        resp.headers.add("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return resp


def field_manager(request: web.Request) -> str:
    """fieldManager, or the real server's default: the client's User-Agent up to the first "/"."""
    given = request.query.get("fieldManager")
    if given:
        return given
    return (request.headers.get("User-Agent") or "unknown").split("/", 1)[0][:128]


def truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "t", "yes")


def int_param(params: Any, name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'invalid value for {name}: "{value}"') from None


async def read_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    # A request without Content-Type is read as JSON, as the real server does.
    ctype = (request.content_type if request.headers.get("Content-Type") else JSON).lower()
    if ctype == "application/vnd.kubernetes.protobuf":
        from .protobuf import ProtobufError, decode

        try:
            return decode(raw)
        except ProtobufError as exc:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: "
                f"application/json, application/yaml ({exc})",
            ) from None
    if "json" not in ctype and "yaml" not in ctype:
        # Protobuf/CBOR: answered 415 so clients fall back to JSON, as they do with servers that
        # do not serve a type in protobuf.
        raise unsupported_media(ctype)
    try:
        if "yaml" in ctype:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(f"the body of the request could not be decoded: {exc}") from None


class Accept:
    """What representation the client asked for (Table, PartialObjectMetadata or the object)."""

    def __init__(self, header: str) -> None:
        self.table = False
        self.partial = False
        for part in header.split(","):
            params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
            if params.get("g") == "meta.k8s.io" and params.get("as") == "Table":
                self.table = True
                break
            if params.get("g") == "meta.k8s.io" and params.get("as") in (
                "PartialObjectMetadata",
                "PartialObjectMetadataList",
            ):
                self.partial = True
                break


def partial_meta(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def encode_continue(rv: int, start: str) -> str:
    return base64.urlsafe_b64encode(dumps({"rv": rv, "start": start})).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        pad = "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(token + pad))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        ) from None


class ResourceAPI:
    def __init__(self, server: KubeAPIServer) -> None:
        self.server = server
        self.store = server.store
        self.backend = server.backend

    # --- selection ----------------------------------------------------------------------------

    def predicate(self, rt: ResourceType, params: Any) -> Callable[[Obj], bool]:
        from .selectors import SelectorError, parse_field_selector, parse_label_selector

        label_text = params.get("labelSelector") or ""
        field_text = params.get("fieldSelector") or ""
        try:
            label_sel = parse_label_selector(label_text) if label_text else None
            field_sel = (
                parse_field_selector(field_text, rt.allowed_fields(), FIELD_ALIASES.get(rt.key)) if field_text else None
            )
        except SelectorError as exc:
            raise bad_request(str(exc)) from None

        def match(obj: Obj) -> bool:
            if label_sel is not None and not label_sel.matches(obj.get("metadata", {}).get("labels") or {}):
                return False
            return field_sel is None or field_sel.matches(obj)

        return match

    # --- read ---------------------------------------------------------------------------------

    def render_one(self, request: web.Request, rt: ResourceType, obj: Obj) -> Obj:
        accept = Accept(request.headers.get("Accept", ""))
        if accept.table:
            return tables.table(rt, [obj], str(obj["metadata"].get("resourceVersion", "")), request.query, self.server)
        if accept.partial:
            return partial_meta(obj)
        return obj

    async def get(self, request: web.Request, rt: ResourceType, ns: str, name: str) -> web.StreamResponse:
        obj = self.store.get(rt.key, ns if rt.namespaced else "", name)
        if obj is None:
            raise not_found(rt.group, rt.plural, name)
        return json_response(self.render_one(request, rt, obj))

    async def list(self, request: web.Request, rt: ResourceType, ns: str | None) -> web.StreamResponse:
        params = request.query
        validate_list_options(params)
        if truthy(params.get("watch")):
            return await self.watch(request, rt, ns)
        pred = self.predicate(rt, params)
        limit = int_param(params, "limit") or 0
        token = params.get("continue")
        list_rv = self.store.rv
        requested = validate_resource_version_param(params.get("resourceVersion"))
        if requested is not None and requested > list_rv:
            # The watch cache cannot serve a version it has not reached (it waits ~3 s, then this).
            raise ApiError(
                504,
                "Timeout",
                f"Timeout: Too large resource version: {requested}, current: {list_rv}",
                {
                    "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                    "retryAfterSeconds": 1,
                },
            )
        # Exact lists and continued pages are snapshots at their resourceVersion, as etcd serves them.
        snapshot_rv = requested if requested and params.get("resourceVersionMatch") == "Exact" else None
        start = ""
        if token:
            if params.get("resourceVersion") not in (None, "", "0"):
                raise bad_request("specifying resource version is not allowed when using continue")
            token_rv, start = decode_continue(token)
            try:
                self.store.events_since(token_rv)
            except ApiError:
                raise gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start "
                    "a new list without the continue parameter, or use the continue token in this response to "
                    "retrieve the remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between the time the first "
                    "chunk was returned and now may show up in the list."
                ) from None
            list_rv = snapshot_rv = token_rv
        if snapshot_rv is not None:
            list_rv = snapshot_rv
            source = self.store.list_at(rt.key, ns, snapshot_rv)
        else:
            source = self.store.list(rt.key, ns)
        items = [o for o in source if pred(o)]
        if start:
            items = [o for o in items if _sort_key(o) > start]
        metadata: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if limit > 0 and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            metadata["continue"] = encode_continue(list_rv, _sort_key(items[-1]))
            metadata["remainingItemCount"] = remaining
        accept = Accept(request.headers.get("Accept", ""))
        if accept.table:
            table = tables.table(rt, items, str(list_rv), params, self.server)
            table["metadata"].update({k: v for k, v in metadata.items() if k != "resourceVersion"})
            return json_response(table)
        if accept.partial:
            return json_response(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": metadata,
                    "items": [partial_meta(o) for o in items],
                }
            )
        body = b"".join(
            [
                b'{"kind":',
                dumps(rt.list_kind),
                b',"apiVersion":',
                dumps(rt.group_version),
                b',"metadata":',
                dumps(metadata),
                b',"items":[',
                b",".join(dumps(o) for o in items),
                b"]}",
            ]
        )
        return web.Response(body=body, content_type=JSON)

    # --- watch --------------------------------------------------------------------------------

    async def watch(self, request: web.Request, rt: ResourceType, ns: str | None) -> web.StreamResponse:
        params = request.query
        pred = self.predicate(rt, params)
        rv_param = params.get("resourceVersion")
        rv = validate_resource_version_param(rv_param)
        timeout = int_param(params, "timeoutSeconds")
        if timeout is None:
            timeout = int(self.server.min_request_timeout * (1 + random.random()))
        bookmarks = truthy(params.get("allowWatchBookmarks"))
        send_initial = truthy(params.get("sendInitialEvents"))
        accept = Accept(request.headers.get("Accept", ""))
        watcher = Watcher(rt.key, ns, pred, maxsize=self.server.watch_queue_size)
        initial: list[tuple[str, Obj]] = []
        error: ApiError | None = None
        if send_initial or rv in (None, 0):
            initial = [(ADDED, o) for o in self.store.list(rt.key, ns) if pred(o)]
        else:
            assert rv is not None
            watcher.min_rv = rv
            try:
                for ev in self.store.events_since(rv):
                    watcher.offer(ev)
            except ApiError as exc:
                error = exc
        initial_rv = self.store.rv
        if error is None:
            self.store.add_watcher(watcher)
        resp = web.StreamResponse(status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache, private"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            if error is not None:
                await resp.write(dumps({"type": "ERROR", "object": error.status()}) + b"\n")
                return resp
            for etype, obj in initial:
                await resp.write(self._event(rt, etype, obj, accept, request))
            if send_initial:
                await resp.write(self._bookmark(rt, initial_rv, initial_end=True))
            interval = self.server.bookmark_interval
            next_bookmark = loop.time() + interval
            while True:
                now = loop.time()
                if now >= deadline:
                    break
                wait = deadline - now
                if bookmarks:
                    wait = min(wait, max(0.0, next_bookmark - now))
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
                except TimeoutError:
                    if bookmarks and loop.time() >= next_bookmark:
                        await resp.write(self._bookmark(rt, self.store.rv))
                        next_bookmark = loop.time() + interval
                    continue
                if item is None or watcher.overflowed:
                    break
                etype, obj = item
                await resp.write(self._event(rt, etype, obj, accept, request))
            if bookmarks:
                await resp.write(self._bookmark(rt, self.store.rv))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.remove_watcher(watcher)
        return resp

    def _event(self, rt: ResourceType, etype: str, obj: Obj, accept: Accept, request: web.Request) -> bytes:
        if accept.table:
            out: Obj = tables.table(
                rt, [obj], str(obj["metadata"].get("resourceVersion", "")), request.query, self.server
            )
        elif accept.partial:
            out = partial_meta(obj)
        else:
            out = obj
        return b'{"type":"' + etype.encode() + b'","object":' + dumps(out) + b"}\n"

    @staticmethod
    def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> bytes:
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return (
            dumps({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.group_version, "metadata": md}})
            + b"\n"
        )

    # --- write --------------------------------------------------------------------------------

    @staticmethod
    def _dry_run(params: Any) -> bool:
        values = params.getall("dryRun", [])
        for v in values:
            if v != "All":
                raise bad_request(f'Invalid dry run value: "{v}" (supported values: "All")')
        return bool(values)

    async def create(self, request: web.Request, rt: ResourceType, ns: str) -> web.StreamResponse:
        if "create" not in rt.verbs:
            raise method_not_allowed(f"the server does not allow this method on the requested resource ({rt.plural})")
        body = await read_body(request)
        if body is None:
            raise bad_request("the body of the request is empty")
        if not rt.stored:
            return await self.server.virtual_create(request, rt, body)
        mode = check_mode(request.query.get("fieldValidation"))
        res = self.backend.create(
            rt, ns, body, dry_run=self._dry_run(request.query), validation=mode, manager=field_manager(request)
        )
        return json_response(res.obj, 201, res.warnings)

    async def update(
        self, request: web.Request, rt: ResourceType, ns: str, name: str, subresource: str | None
    ) -> web.StreamResponse:
        body = await read_body(request)
        if body is None:
            raise bad_request("the body of the request is empty")
        if subresource == "scale":
            return json_response(self.server.scale_update(rt, ns, name, body))
        mode = check_mode(request.query.get("fieldValidation"))
        res = self.backend.update(
            rt,
            ns,
            name,
            body,
            subresource=subresource,
            dry_run=self._dry_run(request.query),
            validation=mode,
            manager=field_manager(request),
            require_resource_version=rt.custom
            or (rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition"),
        )
        return json_response(res.obj, 201 if res.created else 200, res.warnings)

    async def patch(
        self, request: web.Request, rt: ResourceType, ns: str, name: str, subresource: str | None
    ) -> web.StreamResponse:
        ctype = (request.content_type or "").lower()
        ptype = PATCH_TYPES.get(ctype)
        if ptype is None or (ptype == "strategic" and rt.custom):
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(t for t, k in PATCH_TYPES.items() if not (k == 'strategic' and rt.custom))}",
            )
        raw = await request.read()
        params = request.query
        mode = check_mode(params.get("fieldValidation"))
        dry_run = self._dry_run(params)
        key_ns = ns if rt.namespaced else ""
        from . import patch as patchlib

        try:
            if ptype == "apply":
                return await self._apply(rt, ns, name, subresource, raw, params, mode, dry_run)
            patch_doc = json.loads(raw) if raw else None
        except ValueError as exc:
            raise bad_request(f"error decoding patch: {exc}") from None
        live = self.store.get(rt.key, key_ns, name)
        if live is None:
            raise not_found(rt.group, rt.plural, name)
        if subresource == "scale":
            current = self.server.scale_of(rt, live)
            target_kind = "Scale"
        else:
            current = live
            target_kind = rt.kind
        try:
            if ptype == "json":
                if not isinstance(patch_doc, list):
                    raise bad_request("json patch must be a list of operations")
                new = patchlib.json_patch(current, patch_doc)
            elif ptype == "merge":
                if not isinstance(patch_doc, dict):
                    raise bad_request("merge patch must be a JSON object")
                new = patchlib.json_merge_patch(current, patch_doc)
            else:
                if not isinstance(patch_doc, dict):
                    raise bad_request("strategic merge patch must be a JSON object")
                new = patchlib.strategic_merge_patch(current, patch_doc, target_kind)
        except patchlib.PatchError as exc:
            code = getattr(exc, "status", 422)
            raise ApiError(code, "Invalid" if code == 422 else "BadRequest", str(exc)) from None
        if subresource == "scale":
            return json_response(self.server.scale_update(rt, ns, name, new))
        # A patch that carries no resourceVersion is unconditional; one that does is checked.
        precondition = (
            "resourceVersion" in ((patch_doc or {}).get("metadata") or {}) if isinstance(patch_doc, dict) else True
        )
        if not precondition:
            new.setdefault("metadata", {})["resourceVersion"] = live["metadata"]["resourceVersion"]
        res = self.backend.update(
            rt, ns, name, new, subresource=subresource, dry_run=dry_run, validation=mode, manager=field_manager(request)
        )
        return json_response(res.obj, 200, res.warnings)

    async def _apply(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        subresource: str | None,
        raw: bytes,
        params: Any,
        mode: str,
        dry_run: bool,
    ) -> web.StreamResponse:
        from . import patch as patchlib

        manager = params.get("fieldManager") or ""
        if not manager:
            raise bad_request(
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
            )
        try:
            applied = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError as exc:
            raise bad_request(f"error decoding YAML: {exc}") from None
        if not isinstance(applied, dict):
            raise bad_request("apply patch must be a YAML or JSON object")
        md = applied.get("metadata") or {}
        if md.get("name") and md["name"] != name:
            raise bad_request(f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise bad_request("apply patch requires apiVersion and kind")
        key_ns = ns if rt.namespaced else ""
        live = self.store.get(rt.key, key_ns, name)
        force = truthy(params.get("force"))
        try:
            new = patchlib.server_side_apply(live, applied, manager, force, rt.kind, subresource=subresource)
        except patchlib.ApplyConflict as exc:
            causes = getattr(exc, "causes", None) or [("", f) for f in getattr(exc, "fields", [])]
            raise ApiError(
                409,
                "Conflict",
                str(exc),
                {
                    "name": name,
                    "group": rt.group,
                    "kind": rt.plural,
                    "causes": [
                        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": f}
                        for m, f in causes
                    ],
                },
            ) from None
        except patchlib.PatchError as exc:
            code = getattr(exc, "status", 400)
            raise ApiError(code, "Invalid" if code == 422 else "BadRequest", str(exc)) from None
        if live is None:
            new.setdefault("metadata", {})["name"] = name
            res = self.backend.create(
                rt, ns, new, dry_run=dry_run, validation=mode, managed_fields=new["metadata"].get("managedFields")
            )
            return json_response(res.obj, 201, res.warnings)
        # A resourceVersion in the applied configuration is a precondition (409 when stale), as for any patch.
        new.setdefault("metadata", {})["resourceVersion"] = (
            md.get("resourceVersion") or live["metadata"]["resourceVersion"]
        )
        res = self.backend.update(rt, ns, name, new, subresource=subresource, dry_run=dry_run, validation=mode)
        return json_response(res.obj, 200, res.warnings)

    async def delete(self, request: web.Request, rt: ResourceType, ns: str, name: str) -> web.StreamResponse:
        opts = await read_body(request) or {}
        if not isinstance(opts, dict):
            raise bad_request("DeleteOptions must be an object")
        params = request.query
        grace = opts.get("gracePeriodSeconds")
        if grace is None:
            grace = int_param(params, "gracePeriodSeconds")
        propagation = opts.get("propagationPolicy") or params.get("propagationPolicy")
        if propagation is not None and (
            opts.get("orphanDependents") is not None or params.get("orphanDependents") is not None
        ):
            from .errors import FieldProblem, invalid

            raise invalid(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                [
                    FieldProblem(
                        "propagationPolicy",
                        "FieldValueInvalid",
                        f'Invalid value: "{propagation}": orphanDependents and deletionPropagation cannot be both set',
                    )
                ],
            )
        if propagation is None:
            orphan = opts.get("orphanDependents")
            if orphan is None and params.get("orphanDependents") is not None:
                orphan = truthy(params.get("orphanDependents"))
            if orphan is not None:
                propagation = "Orphan" if orphan else "Background"
        body_dry_run = opts.get("dryRun")
        if body_dry_run is not None and (not isinstance(body_dry_run, list) or any(v != "All" for v in body_dry_run)):
            from .errors import FieldProblem, invalid

            shown = ", ".join(json.dumps(v) for v in body_dry_run) if isinstance(body_dry_run, list) else ""
            raise invalid(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                [
                    FieldProblem(
                        "dryRun",
                        "FieldValueNotSupported",
                        f'Unsupported value: []string{{{shown}}}: supported values: "All"',
                    )
                ],
            )
        dry_run = bool(body_dry_run) or self._dry_run(params)
        obj, removed = self.backend.delete(
            rt,
            ns,
            name,
            grace=grace,
            propagation=propagation,
            preconditions=opts.get("preconditions"),
            dry_run=dry_run,
        )
        if not removed:
            return json_response(obj, 200)
        if self.backend.returns_deleted_object(rt):
            return json_response(obj, 200)
        md = obj["metadata"]
        details: dict[str, Any] = {"name": name, "kind": rt.plural, "uid": md.get("uid")}
        if rt.group:
            details["group"] = rt.group
        return json_response(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
        )

    async def delete_collection(self, request: web.Request, rt: ResourceType, ns: str | None) -> web.StreamResponse:
        if "deletecollection" not in rt.verbs:
            raise method_not_allowed(f"the server does not allow this method on the requested resource ({rt.plural})")
        pred = self.predicate(rt, request.query)
        opts = await read_body(request) or {}
        grace = opts.get("gracePeriodSeconds", int_param(request.query, "gracePeriodSeconds"))
        deleted = []
        for obj in [o for o in self.store.list(rt.key, ns) if pred(o)]:
            md = obj["metadata"]
            try:
                final, _ = self.backend.delete(
                    rt, md.get("namespace", ""), md["name"], grace=grace, propagation=opts.get("propagationPolicy")
                )
                deleted.append(final)
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return json_response(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.group_version,
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": deleted,
            }
        )


def validate_list_options(params: Any) -> None:
    """ValidateListOptions (list and watch rules of apimachinery's internalversion validation): 422 Invalid."""
    from .errors import FieldProblem, invalid

    def forbidden(field: str, detail: str) -> FieldProblem:
        return FieldProblem(field, "FieldValueForbidden", f"Forbidden: {detail}")

    def unsupported(value: str, supported: list[str]) -> FieldProblem:
        sup = ", ".join(f'"{s}"' for s in supported)
        return FieldProblem(
            "resourceVersionMatch", "FieldValueNotSupported", f'Unsupported value: "{value}": supported values: {sup}'
        )

    match = params.get("resourceVersionMatch") or ""
    send_initial = params.get("sendInitialEvents")
    problems: list[FieldProblem] = []
    if truthy(params.get("watch")):
        if send_initial is not None and match != "NotOlderThan":
            problems.append(
                forbidden(
                    "resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
                )
            )
        if match:
            if send_initial is None:
                problems.append(
                    forbidden(
                        "resourceVersionMatch",
                        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                    )
                )
            if match != "NotOlderThan":
                problems.append(unsupported(match, ["NotOlderThan"]))
            if params.get("continue"):
                problems.append(
                    forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided")
                )
    else:
        if send_initial is not None:
            problems.append(forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        if match:
            if not params.get("resourceVersion"):
                problems.append(
                    forbidden(
                        "resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"
                    )
                )
            if params.get("continue"):
                problems.append(
                    forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided")
                )
            if match not in ("Exact", "NotOlderThan"):
                problems.append(unsupported(match, ["Exact", "NotOlderThan", ""]))
            if match == "Exact" and params.get("resourceVersion") == "0":
                problems.append(
                    forbidden(
                        "resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
                    )
                )
    if problems:
        raise invalid("ListOptions", "meta.k8s.io", "", problems)


def _sort_key(obj: Obj) -> str:
    md = obj.get("metadata", {})
    return f"{md.get('namespace') or ''}/{md.get('name') or ''}"


__all__ = ["DELETED", "ResourceAPI", "json_response", "unsupported_media"]
