"""gNMI client for one device: Capabilities, Get and Set on the CONTROL channel, Subscribe on TELEMETRY.

Paths are written as strings, ``/app-hosting-oper-data/app[name=web1]/details``; values are
JSON_IETF. ``subscribe`` yields :class:`Update` items (and one ``sync`` marker) until cancelled.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import grpc
import grpc.aio

from cvk.errors import InvalidInput
from cvk.grpcapi import gnmi_grpc, gnmi_pb2
from cvk.transport.grpc.errors import map_rpc_error
from cvk.transport.grpc.pool import ChannelPool, WorkloadClass

_ELEM = re.compile(r"([^/\[\]]+)((?:\[[^=\]]+=[^\]]*\])*)")
_KEY = re.compile(r"\[([^=\]]+)=([^\]]*)\]")
MODES = {"on_change": gnmi_pb2.ON_CHANGE, "sample": gnmi_pb2.SAMPLE, "target_defined": gnmi_pb2.TARGET_DEFINED}


def parse_path(text: str, origin: str = "") -> Any:
    """``/a/b[k=v]/c`` -> gnmi_pb2.Path (keys may not contain ``]`` or ``/``)."""
    if not text.startswith("/"):
        raise InvalidInput(f"gNMI path {text!r} must start with '/'")
    elems = []
    for part in [p for p in re.split(r"/(?![^\[]*\])", text[1:]) if p]:
        m = _ELEM.fullmatch(part)
        if m is None:
            raise InvalidInput(f"gNMI path element {part!r} in {text!r} is malformed")
        elems.append(gnmi_pb2.PathElem(name=m.group(1), key=dict(_KEY.findall(m.group(2)))))
    return gnmi_pb2.Path(origin=origin, elem=elems)


def path_text(path: Any) -> str:
    return "/" + "/".join(e.name + "".join(f"[{k}={v}]" for k, v in sorted(e.key.items())) for e in path.elem)


def decode(val: Any) -> Any:
    kind = val.WhichOneof("value")
    if kind in ("json_ietf_val", "json_val"):
        return json.loads(getattr(val, kind) or b"null")
    if kind is None:
        return None
    return getattr(val, kind)


@dataclasses.dataclass(frozen=True)
class Update:
    path: str  # prefix + path, as text
    value: Any  # decoded JSON (None for a delete)
    timestamp: int  # ns since the epoch
    deleted: bool = False
    sync: bool = False  # the target has sent every current value once


class GnmiClient:
    def __init__(self, pool: ChannelPool) -> None:
        self.pool = pool

    def _stub(self, cls: WorkloadClass) -> Any:
        factory: Callable[[grpc.aio.Channel], Any] = gnmi_grpc.gNMIStub
        return factory(self.pool.channel(cls))

    async def capabilities(self) -> Any:
        try:
            return await self._stub(WorkloadClass.CONTROL).Capabilities(
                gnmi_pb2.CapabilityRequest(), timeout=self.pool.config.unary_timeout, metadata=self.pool.metadata()
            )
        except grpc.RpcError as e:
            raise map_rpc_error(e, "gNMI.Capabilities", self.pool.target) from e

    async def get(self, paths: Iterable[str], *, origin: str = "") -> dict[str, Any]:
        """Path text -> decoded value for every requested path."""
        req = gnmi_pb2.GetRequest(path=[parse_path(p, origin) for p in paths], encoding=gnmi_pb2.JSON_IETF)
        try:
            resp = await self._stub(WorkloadClass.CONTROL).Get(
                req, timeout=self.pool.config.unary_timeout, metadata=self.pool.metadata()
            )
        except grpc.RpcError as e:
            raise map_rpc_error(e, "gNMI.Get", self.pool.target) from e
        return {path_text(u.path): decode(u.val) for n in resp.notification for u in n.update}

    async def set(
        self,
        *,
        update: dict[str, Any] | None = None,
        replace: dict[str, Any] | None = None,
        delete: Iterable[str] = (),
    ) -> Any:
        def upd(items: dict[str, Any] | None) -> list[Any]:
            return [
                gnmi_pb2.Update(path=parse_path(p), val=gnmi_pb2.TypedValue(json_ietf_val=json.dumps(v).encode()))
                for p, v in (items or {}).items()
            ]

        req = gnmi_pb2.SetRequest(delete=[parse_path(p) for p in delete], replace=upd(replace), update=upd(update))
        try:
            return await self._stub(WorkloadClass.CONTROL).Set(
                req, timeout=self.pool.config.unary_timeout, metadata=self.pool.metadata()
            )
        except grpc.RpcError as e:
            raise map_rpc_error(e, "gNMI.Set", self.pool.target) from e

    async def subscribe(
        self,
        paths: Iterable[str],
        *,
        mode: str = "on_change",
        sample_interval: float = 10.0,
        updates_only: bool = False,
    ) -> AsyncIterator[Update]:
        """A STREAM subscription; yields updates until the caller stops iterating (or the stream fails)."""
        if mode not in MODES:
            raise InvalidInput(f"subscription mode {mode!r} is not one of {', '.join(MODES)}")
        if mode == "sample" and sample_interval <= 0:
            raise InvalidInput("sample_interval must be positive")
        subs = [
            gnmi_pb2.Subscription(path=parse_path(p), mode=MODES[mode],
                                  sample_interval=int(sample_interval * 1e9) if mode == "sample" else 0)
            for p in paths
        ]
        req = gnmi_pb2.SubscribeRequest(subscribe=gnmi_pb2.SubscriptionList(
            subscription=subs, mode=gnmi_pb2.SubscriptionList.STREAM, encoding=gnmi_pb2.JSON_IETF,
            updates_only=updates_only))

        async def requests() -> AsyncIterator[Any]:
            yield req

        call = self._stub(WorkloadClass.TELEMETRY).Subscribe(requests(), metadata=self.pool.metadata())
        try:
            async for resp in call:
                if resp.HasField("sync_response"):
                    yield Update("", None, 0, sync=True)
                    continue
                n = resp.update
                prefix = path_text(n.prefix) if n.prefix.elem else ""
                for u in n.update:
                    yield Update(prefix + path_text(u.path), decode(u.val), n.timestamp)
                for d in n.delete:
                    yield Update(prefix + path_text(d), None, n.timestamp, deleted=True)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED:
                return
            raise map_rpc_error(e, "gNMI.Subscribe", self.pool.target) from e
        finally:
            call.cancel()
