"""A tiny in-memory Kubernetes API server for the cvk.kube unit tests (no emulator needed).

It stores objects per resource plural, keeps a global resourceVersion and an event log, and
serves list (with limit/continue), get, create, replace, merge patch, delete and watch (history
from the requested resourceVersion, then live events; 410 when that version was compacted away).
Tests drive it directly: ``add``/``modify``/``remove`` (with or without watch events),
``bookmark()``, ``expire_watches()``; and inspect ``requests``.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 with an ephemeral port; yield its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class _Watcher:
    plural: str
    ns: str | None
    field_selector: str | None
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)


def _parse(path: str) -> tuple[str, str | None, str | None, str | None]:
    """(plural, namespace, name, subresource) of /api/v1/... or /apis/g/v/... paths."""
    parts = [p for p in path.split("/") if p]
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return plural, ns, name, sub


def _matches(obj: dict[str, Any], ns: str | None, field_selector: str | None) -> bool:
    if ns is not None and obj["metadata"].get("namespace") != ns:
        return False
    for term in (field_selector or "").split(","):
        if not term:
            continue
        key, _, want = term.partition("=")
        value: Any = obj
        for part in key.split("."):
            value = value.get(part, {}) if isinstance(value, dict) else {}
        if str(value) != want:
            return False
    return True


class FakeApi:
    def __init__(self) -> None:
        self.store: dict[str, dict[tuple[str | None, str], dict[str, Any]]] = {}
        self.rv = 100
        self.floor = 0  # watches from a resourceVersion below this get 410
        self.log: list[tuple[int, str, str, dict[str, Any]]] = []  # (rv, plural, type, object)
        self.requests: list[Request] = []
        self.watchers: list[_Watcher] = []
        self.uid = 0
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    # ---------------------------------------------------------------- test controls

    def _bump(self) -> str:
        self.rv += 1
        return str(self.rv)

    def add(self, plural: str, obj: dict[str, Any], *, notify: bool = True) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        self.uid += 1
        meta.setdefault("uid", f"uid-{self.uid}")
        meta["resourceVersion"] = self._bump()
        self.store.setdefault(plural, {})[(meta.get("namespace"), meta["name"])] = obj
        if notify:
            self._emit(plural, "ADDED", obj)
        return obj

    def modify(self, plural: str, ns: str | None, name: str, patch: dict[str, Any], *, notify: bool = True) -> None:
        obj = self.store[plural][(ns, name)]
        _merge(obj, copy.deepcopy(patch))
        obj["metadata"]["resourceVersion"] = self._bump()
        if notify:
            self._emit(plural, "MODIFIED", obj)

    def remove(self, plural: str, ns: str | None, name: str, *, notify: bool = True) -> None:
        obj = self.store[plural].pop((ns, name))
        obj["metadata"]["resourceVersion"] = self._bump()
        if notify:
            self._emit(plural, "DELETED", obj)

    def bookmark(self) -> str:
        rv = self._bump()
        for w in self.watchers:
            w.queue.put_nowait({"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": rv}}})
        return rv

    def expire_watches(self) -> None:
        """Compact history (older versions give 410) and end every open watch stream."""
        self.floor = self.rv
        for w in self.watchers:
            w.queue.put_nowait(None)

    def end_watches(self) -> None:
        """End every open watch stream (like a server-side timeout), history kept."""
        for w in self.watchers:
            w.queue.put_nowait(None)

    def send_error_event(self, code: int, reason: str, message: str) -> None:
        status = {"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": message}
        for w in self.watchers:
            w.queue.put_nowait({"type": "ERROR", "object": status})

    def _emit(self, plural: str, type_: str, obj: dict[str, Any]) -> None:
        snapshot = copy.deepcopy(obj)
        self.log.append((int(obj["metadata"]["resourceVersion"]), plural, type_, snapshot))
        for w in self.watchers:
            if w.plural == plural and _matches(snapshot, w.ns, w.field_selector):
                w.queue.put_nowait({"type": type_, "object": snapshot})

    def calls(self, method: str, plural: str | None = None, watch: bool | None = None) -> list[Request]:
        out = []
        for r in self.requests:
            if r.method != method or (plural and _parse(r.path)[0] != plural):
                continue
            if watch is not None and (r.query.get("watch") == "true") != watch:
                continue
            out.append(r)
        return out

    # ---------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            body = json.loads(await request.read())
        self.requests.append(Request(request.method, request.path, dict(request.query), body, dict(request.headers)))
        plural, ns, name, _sub = _parse(request.path)
        objects = self.store.setdefault(plural, {})
        if request.method == "GET" and name is None:
            if request.query.get("watch") == "true":
                return await self._watch(request, plural, ns)
            return self._list(request, plural, ns)
        if request.method == "POST":
            key = (ns, body["metadata"]["name"])
            if key in objects:
                return _status(409, "AlreadyExists", f'{plural} "{key[1]}" already exists')
            body["metadata"]["namespace"] = ns
            return web.json_response(self.add(plural, body), status=201)
        obj = objects.get((ns, name or ""))
        if obj is None:
            return _status(404, "NotFound", f'{plural} "{name}" not found')
        if request.method == "GET":
            return web.json_response(obj)
        if request.method == "PATCH":
            self.modify(plural, ns, obj["metadata"]["name"], body)
            return web.json_response(obj)
        if request.method == "PUT":
            if body["metadata"].get("resourceVersion") not in (None, obj["metadata"]["resourceVersion"]):
                return _status(409, "Conflict", "the object has been modified")
            objects[(ns, obj["metadata"]["name"])] = body
            body["metadata"]["resourceVersion"] = self._bump()
            self._emit(plural, "MODIFIED", body)
            return web.json_response(body)
        if request.method == "DELETE":
            self.remove(plural, ns, obj["metadata"]["name"])
            return web.json_response(obj)
        return _status(405, "MethodNotAllowed", "no")

    def _list(self, request: web.Request, plural: str, ns: str | None) -> web.Response:
        items = [
            o
            for _, o in sorted(self.store.get(plural, {}).items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
            if _matches(o, ns, request.query.get("fieldSelector"))
        ]
        start = int(request.query.get("continue") or 0)
        limit = int(request.query.get("limit") or 0) or len(items)
        page = items[start : start + limit]
        meta: dict[str, Any] = {"resourceVersion": str(self.rv)}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        # Like kube-apiserver, list items carry no kind/apiVersion.
        stripped = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page]
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": stripped})

    async def _watch(self, request: web.Request, plural: str, ns: str | None) -> web.StreamResponse:
        rv = int(request.query.get("resourceVersion") or 0)
        resp = web.StreamResponse()
        resp.content_type = "application/json"
        await resp.prepare(request)
        if rv < self.floor:
            status = {
                "kind": "Status",
                "status": "Failure",
                "code": 410,
                "reason": "Expired",
                "message": "too old",
            }
            await resp.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
            return resp
        watcher = _Watcher(plural, ns, request.query.get("fieldSelector"))
        for erv, eplural, etype, eobj in self.log:
            if erv > rv and eplural == plural and _matches(eobj, ns, watcher.field_selector):
                watcher.queue.put_nowait({"type": etype, "object": eobj})
        self.watchers.append(watcher)
        try:
            while True:
                event = await watcher.queue.get()
                if event is None:
                    break
                await resp.write(json.dumps(event).encode() + b"\n")
        finally:
            self.watchers.remove(watcher)
        return resp


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": code,
            "reason": reason,
            "message": message,
        },
        status=code,
    )


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def pod(name: str, ns: str = "default", node: str = "n1", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, **extra},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
    }
