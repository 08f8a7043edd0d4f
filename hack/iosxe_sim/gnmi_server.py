"""Simulated gNMI service on the device's YANG data: Capabilities, Get, Set, Subscribe (ONCE, POLL, STREAM
with ON_CHANGE and SAMPLE).

Data: the oper trees the RESTCONF side serves (``Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data``,
``arp-oper``, ``device-hardware-oper``) and the running config ``app-hosting-cfg-data``. Paths are
gNMI paths whose first element is a top container, module-qualified or not; list keys select entries.
Values are JSON_IETF (or JSON) subtrees. Set writes app configs only
(``app-hosting-cfg-data/apps/app[application-name=X]``), validated against the YANG model.
ON_CHANGE re-reads the subscribed paths on every DeviceState event and sends what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio

from cvk.grpcapi import gnmi_grpc, gnmi_pb2
from hack.iosxe_sim import oper
from hack.iosxe_sim.grpc_server import Gnxi
from hack.iosxe_sim.state import OperationFailed
from hack.yang.validate import check

SERVICE = "/gnmi.gNMI/"
CFG_TOP = "Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data"
MIN_SAMPLE_NS = 10_000_000
MODELS = [
    ("Cisco-IOS-XE-app-hosting-oper", "Cisco Systems, Inc.", "2024-07-01"),
    ("Cisco-IOS-XE-app-hosting-cfg", "Cisco Systems, Inc.", "2024-07-01"),
    ("Cisco-IOS-XE-arp-oper", "Cisco Systems, Inc.", "2024-07-01"),
    ("Cisco-IOS-XE-device-hardware-oper", "Cisco Systems, Inc.", "2024-07-01"),
]


class PathError(Exception):
    pass


def _local(name: str) -> str:
    return name.split(":", 1)[-1]


def _config_tree(gnxi: Gnxi) -> dict[str, Any]:
    state = gnxi.state
    with state.lock:
        apps = [
            {"application-name": app_id, **json.loads(json.dumps(a.config))}
            for app_id, a in sorted(state.apps.items())
            if a.config is not None
        ]
    return {CFG_TOP: {"apps": {"app": apps}} if apps else {}}


def _tops(gnxi: Gnxi) -> dict[str, Any]:
    return {
        oper.APP_OPER: lambda: oper.app_hosting_oper(gnxi.state),
        oper.ARP_OPER: lambda: oper.arp_data(gnxi.state),
        oper.HW_OPER: lambda: oper.device_hardware(gnxi.state),
        CFG_TOP: lambda: _config_tree(gnxi),
    }


def path_str(path: gnmi_pb2.Path) -> str:
    out = []
    for e in path.elem:
        keys = "".join(f"[{k}={v}]" for k, v in sorted(e.key.items()))
        out.append(e.name + keys)
    return "/" + "/".join(out)


def join(prefix: gnmi_pb2.Path | None, path: gnmi_pb2.Path) -> list[gnmi_pb2.PathElem]:
    return [*(prefix.elem if prefix is not None else []), *path.elem]


def resolve(gnxi: Gnxi, elems: list[gnmi_pb2.PathElem]) -> Any:
    """The JSON value at ``elems``; raises PathError when the path does not exist."""
    if not elems:
        raise PathError("an empty path selects the whole device; give a top container")
    tops = _tops(gnxi)
    first = _local(elems[0].name)
    top = next((t for t in tops if _local(t) == first), None)
    if top is None:
        raise PathError(f"unknown top container {elems[0].name}")
    value: Any = tops[top]().get(top, {})
    for e in elems[1:]:
        name = _local(e.name)
        if not isinstance(value, dict) or name not in value:
            raise PathError(f"{e.name} not found")
        value = value[name]
        if e.key:
            if not isinstance(value, list):
                raise PathError(f"{e.name} is not a list")
            matches = [v for v in value if all(str(v.get(k)) == kv for k, kv in e.key.items())]
            if not matches:
                raise PathError(f"no {e.name} entry with {dict(e.key)}")
            value = matches[0]
    return value


def typed(value: Any, encoding: int) -> gnmi_pb2.TypedValue:
    blob = json.dumps(value, sort_keys=True).encode()
    if encoding == gnmi_pb2.JSON:
        return gnmi_pb2.TypedValue(json_val=blob)
    return gnmi_pb2.TypedValue(json_ietf_val=blob)


class GnmiService(gnmi_grpc.gNMIServicer):  # type: ignore[misc]
    def __init__(self, gnxi: Gnxi) -> None:
        self.gnxi = gnxi

    async def _encoding(self, encoding: int, context: grpc.aio.ServicerContext) -> int:
        if encoding not in (gnmi_pb2.JSON, gnmi_pb2.JSON_IETF):
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"encoding {gnmi_pb2.Encoding.Name(encoding)} "
                                "is not supported; use JSON_IETF")
        return encoding

    async def Capabilities(
        self, request: gnmi_pb2.CapabilityRequest, context: grpc.aio.ServicerContext
    ) -> gnmi_pb2.CapabilityResponse:
        await self.gnxi.admit(context, None, SERVICE + "Capabilities")
        return gnmi_pb2.CapabilityResponse(
            supported_models=[gnmi_pb2.ModelData(name=n, organization=o, version=v) for n, o, v in MODELS],
            supported_encodings=[gnmi_pb2.JSON, gnmi_pb2.JSON_IETF],
            gNMI_version="0.8.0",
        )

    async def Get(self, request: gnmi_pb2.GetRequest, context: grpc.aio.ServicerContext) -> gnmi_pb2.GetResponse:
        await self.gnxi.admit(context, None, SERVICE + "Get")
        enc = await self._encoding(request.encoding, context)
        now = time.time_ns()
        notes = []
        for p in request.path:
            try:
                value = resolve(self.gnxi, join(request.prefix, p))
            except PathError as e:
                await context.abort(grpc.StatusCode.NOT_FOUND, f"{path_str(p)}: {e}")
            notes.append(gnmi_pb2.Notification(timestamp=now, prefix=request.prefix,
                                               update=[gnmi_pb2.Update(path=p, val=typed(value, enc))]))
        return gnmi_pb2.GetResponse(notification=notes)

    async def Set(self, request: gnmi_pb2.SetRequest, context: grpc.aio.ServicerContext) -> gnmi_pb2.SetResponse:
        await self.gnxi.admit(context, None, SERVICE + "Set")
        changes: list[tuple[str, dict[str, Any] | None, gnmi_pb2.Path, int]] = []
        paths = [*request.delete, *(u.path for u in request.replace), *(u.path for u in request.update)]
        if not all(self._app_id(join(request.prefix, p)) for p in paths):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "only app-hosting-cfg-data/apps/app[application-name=ID] can be set")
        for p in request.delete:
            changes.append((self._app_id(join(request.prefix, p)), None, p, gnmi_pb2.UpdateResult.DELETE))
        for op, updates in ((gnmi_pb2.UpdateResult.REPLACE, request.replace), (gnmi_pb2.UpdateResult.UPDATE,
                                                                                request.update)):
            for u in updates:
                app_id = self._app_id(join(request.prefix, u.path))
                raw = u.val.json_ietf_val or u.val.json_val
                try:
                    entry = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    entry = None
                if not isinstance(entry, dict):
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{path_str(u.path)}: value must be a "
                                        "JSON_IETF object (the app list entry)")
                    return gnmi_pb2.SetResponse()
                entry = {_local(k): v for k, v in entry.items()}
                entry["application-name"] = app_id
                problems = check(f"{CFG_TOP}/apps", {"app": [entry]})
                if problems:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{problems[0].path}: {problems[0].message}")
                changes.append((app_id, entry, u.path, op))
        for app_id, entry, _, _op in changes:
            if entry is None:
                try:
                    self.gnxi.state.check_config_delete(app_id)
                except OperationFailed as e:
                    await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e))
        for app_id, entry, _, op in changes:
            if entry is not None and op == gnmi_pb2.UpdateResult.UPDATE:
                app = self.gnxi.state.app(app_id)
                with self.gnxi.state.lock:
                    merged = dict(app.config or {}) if app is not None else {}
                merged.update(entry)
                entry = merged
            self.gnxi.state.set_app_config(app_id, entry)
        return gnmi_pb2.SetResponse(
            prefix=request.prefix, timestamp=time.time_ns(),
            response=[gnmi_pb2.UpdateResult(path=p, op=op) for _, _, p, op in changes],
        )

    @staticmethod
    def _app_id(elems: list[gnmi_pb2.PathElem]) -> str:
        names = [_local(e.name) for e in elems]
        if names == ["app-hosting-cfg-data", "apps", "app"] and "application-name" in elems[2].key:
            return str(elems[2].key["application-name"])
        return ""

    async def Subscribe(
        self, request_iterator: AsyncIterator[gnmi_pb2.SubscribeRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[gnmi_pb2.SubscribeResponse]:
        await self.gnxi.admit(context, None, SERVICE + "Subscribe")
        requests = request_iterator.__aiter__()
        first = await anext(requests, None)
        if first is None or first.WhichOneof("request") != "subscribe":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first SubscribeRequest must hold a subscribe")
            return
        sl = first.subscribe
        enc = await self._encoding(sl.encoding, context)
        subs = list(sl.subscription)
        if not subs:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no subscription paths")
        for s in subs:
            try:
                resolve(self.gnxi, join(sl.prefix, s.path))
            except PathError as e:
                await context.abort(grpc.StatusCode.NOT_FOUND, f"{path_str(s.path)}: {e}")
            if s.mode == gnmi_pb2.SAMPLE and 0 < s.sample_interval < MIN_SAMPLE_NS:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "sample_interval below 10 ms")

        def update(s: gnmi_pb2.Subscription) -> tuple[str, gnmi_pb2.SubscribeResponse | None]:
            try:
                value = resolve(self.gnxi, join(sl.prefix, s.path))
            except PathError:
                note = gnmi_pb2.Notification(timestamp=time.time_ns(), prefix=sl.prefix, delete=[s.path])
                return "", gnmi_pb2.SubscribeResponse(update=note)
            tv = typed(value, enc)
            note = gnmi_pb2.Notification(timestamp=time.time_ns(), prefix=sl.prefix,
                                         update=[gnmi_pb2.Update(path=s.path, val=tv)])
            return tv.SerializeToString().hex(), gnmi_pb2.SubscribeResponse(update=note)

        if sl.mode in (gnmi_pb2.SubscriptionList.ONCE, gnmi_pb2.SubscriptionList.POLL):
            while True:
                if not sl.updates_only:
                    for s in subs:
                        yield update(s)[1]
                yield gnmi_pb2.SubscribeResponse(sync_response=True)
                if sl.mode == gnmi_pb2.SubscriptionList.ONCE:
                    return
                nxt = await anext(requests, None)
                if nxt is None:
                    return
                if nxt.WhichOneof("request") != "poll":
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "only poll may follow a POLL subscription")

        queue: asyncio.Queue[gnmi_pb2.SubscribeResponse] = asyncio.Queue()
        last: dict[int, str] = {}
        for i, s in enumerate(subs):
            digest, resp = update(s)
            last[i] = digest
            if not sl.updates_only and resp is not None:
                yield resp
        yield gnmi_pb2.SubscribeResponse(sync_response=True)

        events = self.gnxi.state.subscribe()
        tasks: list[asyncio.Task[None]] = []

        async def on_change(indices: list[int]) -> None:
            while True:
                await events.get()
                while not events.empty():
                    events.get_nowait()
                for i in indices:
                    digest, resp = update(subs[i])
                    if digest != last[i] and resp is not None:
                        last[i] = digest
                        await queue.put(resp)

        async def sample(i: int) -> None:
            s = subs[i]
            interval = (s.sample_interval or 1_000_000_000) / 1e9
            heartbeat = s.heartbeat_interval / 1e9 if s.heartbeat_interval else 0.0
            sent_at = time.monotonic()
            while True:
                await asyncio.sleep(interval)
                digest, resp = update(s)
                due = heartbeat and time.monotonic() - sent_at >= heartbeat
                if resp is not None and (not s.suppress_redundant or digest != last[i] or due):
                    last[i] = digest
                    sent_at = time.monotonic()
                    await queue.put(resp)

        changed = [i for i, s in enumerate(subs) if s.mode in (gnmi_pb2.ON_CHANGE, gnmi_pb2.TARGET_DEFINED)]
        if changed:
            tasks.append(asyncio.ensure_future(on_change(changed)))
        tasks += [asyncio.ensure_future(sample(i)) for i, s in enumerate(subs) if s.mode == gnmi_pb2.SAMPLE]
        try:
            while True:
                yield await queue.get()
        finally:
            self.gnxi.state.unsubscribe(events)
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
