"""Port-forward over SPDY/3.1 (``portforward.k8s.io``).

Each forwarded connection is a pair of client-opened streams sharing a ``requestid`` header: an
``error`` stream and a ``data`` stream, both with a ``port`` header (1-65535). When both have
arrived the driver's ``port_forward(namespace, pod, port, reader, writer)`` runs with

- ``reader``: ``await reader.read(n=-1) -> bytes`` (b"" once the client half-closed), also an async
  iterator of chunks;
- ``writer``: ``await writer.write(data)`` and ``await writer.close()``.

A driver error is written as text on the error stream. A pair not completed within the
stream-creation timeout is dropped with a message. WebSocket requests in the channel protocol are
served by ``cvk.kubelet.wsportforward``; SPDY tunnelled in WebSocket (what kubectl 1.31+ tries
first, for an API server to translate) gets 400, which kubectl treats as "fall back to SPDY".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from cvk.driver.base import Driver
from cvk.kubelet.httperrors import message_for
from cvk.kubelet.spdy import SpdyStream
from cvk.kubelet.spdyexec import LINGER, handshake_error, upgrade, watch_idle
from cvk.kubelet.wsstream import is_websocket_request

log = logging.getLogger(__name__)

PORTFORWARD_PROTOCOL = "portforward.k8s.io"


class DataReader:
    """What the client sends on a data stream (SPDY stream data, or any async iterator of chunks)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self._eof = False

    async def read(self, n: int = -1) -> bytes:
        if not self._buf and not self._eof:
            try:
                self._buf = await anext(self._chunks)
            except StopAsyncIteration:
                self._eof = True
        if n < 0 or n >= len(self._buf):
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def __aiter__(self) -> DataReader:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.read()
        if not chunk:
            raise StopAsyncIteration
        return chunk


class DataWriter:
    """Sends to the client on a data stream."""

    def __init__(self, stream: SpdyStream) -> None:
        self._stream = stream

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)

    async def close(self) -> None:
        await self._stream.close()


def _port(stream: SpdyStream) -> int | None:
    raw = stream.headers.get("port", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        return None
    return int(raw)


def _request_id(stream: SpdyStream) -> str:
    rid = stream.headers.get("requestid")
    if rid:
        return rid
    # Old clients: the error stream is opened first, its data stream right after (id + 2).
    return str(stream.id - 2 if stream.stream_type == "data" else stream.id)


async def serve_port_forward(
    request: web.Request,
    driver: Driver,
    namespace: str,
    pod: str,
    *,
    creation_timeout: float,
    idle_timeout: float,
) -> web.StreamResponse:
    if is_websocket_request(request):
        # The channel protocol is served by cvk.kubelet.wsportforward (see KubeletServer). SPDY
        # tunnelled in WebSocket (SPDY/3.1+portforward.k8s.io) is the API server's to translate:
        # kubectl 1.31+ falls back to plain SPDY on this answer.
        return web.Response(
            status=400, text="port-forward over WebSocket takes the channel protocol (v4.channel.k8s.io) "
            "or SPDY/3.1 without WebSocket\n"
        )
    protocol, error = handshake_error(request, [PORTFORWARD_PROTOCOL])
    if error is not None:
        return error
    assert protocol is not None
    pending: dict[str, dict[str, SpdyStream]] = {}
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()

    async def forward(port: int, data: SpdyStream, err: SpdyStream) -> None:
        ctx = f"namespace={namespace} pod={pod} port={port}"
        log.info("port-forward start %s", ctx)
        try:
            await driver.port_forward(namespace, pod, port, DataReader(data.data), DataWriter(data))
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.info("port-forward failed %s error=%r", ctx, message_for(e))
            with contextlib.suppress(ConnectionResetError):
                await err.write(f"error forwarding port {port} to pod {namespace}/{pod}: {message_for(e)}".encode())
        finally:
            with contextlib.suppress(ConnectionResetError):
                await data.close()
                await err.close()

    def expire(rid: str) -> None:
        pair = pending.pop(rid, None)
        if pair:
            log.info("port-forward pair incomplete after %.0f s request_id=%s", creation_timeout, rid)
            for stream in pair.values():
                stream.reset()

    def on_stream(stream: SpdyStream) -> bool:
        kind = stream.stream_type
        port = _port(stream)
        if kind not in ("data", "error") or port is None:
            log.info("refusing port-forward stream stream_type=%r port=%r", kind, stream.headers.get("port"))
            return False
        rid = _request_id(stream)
        pair = pending.setdefault(rid, {})
        if kind in pair:
            return False
        pair[kind] = stream
        if len(pair) == 1:
            loop.call_later(creation_timeout, expire, rid)
            return True
        del pending[rid]
        task = loop.create_task(forward(port, pair["data"], pair["error"]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return True

    up = await upgrade(request, protocol, on_stream)
    idle = asyncio.ensure_future(watch_idle(up.conn, idle_timeout))
    linger = LINGER
    try:
        await up.conn.closed.wait()
    except asyncio.CancelledError:  # server shutdown: do not linger
        linger = 0
        raise
    finally:
        idle.cancel()
        for task in list(tasks):
            task.cancel()
        await up.finish(linger)
    return up.resp
