"""Exec and attach over SPDY/3.1: the kubelet side of client-go's SPDY remotecommand executor.

The request carries ``X-Stream-Protocol-Version`` (several header lines and/or comma lists, in the
client's order of preference); the first one we support wins: v5, v4, v3 or v2.channel.k8s.io.
The client then opens one SPDY stream per channel, named by its ``streamtype`` header: ``error``,
``stdin``/``stdout``/``stderr`` as requested, and ``resize`` with a TTY (v3+). Once all have arrived
(within the stream-creation timeout, 30 s by default) the driver runs; its output is sent on
stdout/stderr, which are then half-closed, and the outcome is written to the error stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, cast

from aiohttp import web

from cvk.driver.base import Driver
from cvk.errors import InvalidInput
from cvk.kubelet.remotecommand import (
    Channels,
    ResizeDecoder,
    SizeQueue,
    StreamOptions,
    Target,
    run_session,
    status_message,
)
from cvk.kubelet.spdy import SpdyConnection, SpdyStream
from cvk.waiting import wait_event

log = logging.getLogger(__name__)

PROTOCOL_HEADER = "X-Stream-Protocol-Version"
EXEC_PROTOCOLS = {"v5.channel.k8s.io": 5, "v4.channel.k8s.io": 4, "v3.channel.k8s.io": 3, "v2.channel.k8s.io": 2}
# How long we wait for the client to hang up after the session before closing ourselves.
LINGER = 2.0


class Upgraded:
    """An HTTP request switched to SPDY/3.1: the connection plus the aiohttp response holding it."""

    def __init__(self, request: web.Request, resp: web.StreamResponse, conn: SpdyConnection) -> None:
        self.request = request
        self.resp = resp
        self.conn = conn

    async def finish(self, linger: float = LINGER) -> None:
        """GOAWAY, give the client up to ``linger`` seconds to hang up, then close the connection."""
        self.conn.goaway()
        if linger > 0:
            await wait_event(self.conn.closed, linger)
        transport = self.request.transport
        if transport is not None and not transport.is_closing():
            transport.close()
        self.conn.feed_eof()


def client_protocols(request: web.Request) -> list[str]:
    return [
        p.strip()
        for header in request.headers.getall(PROTOCOL_HEADER, [])
        for p in header.split(",")
        if p.strip()
    ]


def handshake_error(request: web.Request, supported: list[str]) -> tuple[str | None, web.Response | None]:
    """(negotiated protocol, None) or (None, the error response to send instead of upgrading)."""
    if "spdy/3.1" not in request.headers.get("Upgrade", "").lower():
        return None, web.Response(
            status=400, text="unable to upgrade: missing upgrade headers in request (want Upgrade: SPDY/3.1 "
            "or a WebSocket upgrade)\n"
        )
    wanted = client_protocols(request)
    if not wanted:
        return None, web.Response(status=400, text=f"unable to upgrade: {PROTOCOL_HEADER} is required\n")
    for proto in wanted:
        if proto in supported:
            return proto, None
    text = (
        f"unable to upgrade: unable to negotiate protocol: client supports {wanted}, server supports {supported}"
    )
    return None, web.Response(status=403, text=text + "\n")


async def upgrade(
    request: web.Request, protocol: str, on_stream: Any
) -> Upgraded:
    """Answer 101 Switching Protocols and hand the connection to a SpdyConnection."""
    resp = web.StreamResponse(
        status=101,
        headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1", PROTOCOL_HEADER: protocol},
    )
    await resp.prepare(request)
    transport = request.transport
    assert transport is not None
    handler = request.protocol
    conn = SpdyConnection(
        transport.write,
        resp.write,
        on_stream,
        pause_reading=transport.pause_reading,
        resume_reading=transport.resume_reading,
    )
    cast(Any, handler).set_parser(conn)
    handler.keep_alive(False)
    return Upgraded(request, resp, conn)


async def watch_idle(conn: SpdyConnection, idle_timeout: float) -> None:
    loop = asyncio.get_running_loop()
    while not conn.closed.is_set():
        remaining = conn.last_activity + idle_timeout - loop.time()
        if remaining <= 0:
            log.info("SPDY connection idle for %.0f s, closing", idle_timeout)
            conn.goaway()
            conn.feed_eof()
            return
        await wait_event(conn.closed, remaining)


async def serve_spdy_exec(
    request: web.Request,
    driver: Driver,
    target: Target,
    opts: StreamOptions,
    *,
    creation_timeout: float,
    idle_timeout: float,
) -> web.StreamResponse:
    protocol, error = handshake_error(request, list(EXEC_PROTOCOLS))
    if error is not None:
        return error
    assert protocol is not None
    version = EXEC_PROTOCOLS[protocol]
    expected = {"error"}
    if opts.stdin:
        expected.add("stdin")
    if opts.stdout:
        expected.add("stdout")
    if opts.stderr and not opts.tty:
        expected.add("stderr")
    if opts.tty and version >= 3:
        expected.add("resize")
    streams: dict[str, SpdyStream] = {}
    all_arrived = asyncio.Event()
    ctx = f"protocol={protocol} kind={target.kind} namespace={target.namespace} pod={target.pod}"

    def on_stream(stream: SpdyStream) -> bool:
        kind = stream.stream_type
        if kind not in expected or kind in streams:
            log.info("refusing SPDY stream %s stream_type=%r expected=%s", ctx, kind, sorted(expected))
            return False
        streams[kind] = stream
        if len(streams) == len(expected):
            all_arrived.set()
        return True

    up = await upgrade(request, protocol, on_stream)
    conn = up.conn
    idle = asyncio.ensure_future(watch_idle(conn, idle_timeout))
    linger = LINGER
    try:
        waiter = asyncio.ensure_future(all_arrived.wait())
        lost = asyncio.ensure_future(conn.closed.wait())
        try:
            await asyncio.wait({waiter, lost}, timeout=creation_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            lost.cancel()
        if not all_arrived.is_set():
            why = "client went away" if conn.closed.is_set() else "timed out waiting for client to create streams"
            log.info("remotecommand abandoned %s reason=%r streams=%s", ctx, why, sorted(streams))
            return up.resp
        log.info("remotecommand spdy session start %s", ctx)
        resize = SizeQueue() if "resize" in streams else None
        pump = asyncio.ensure_future(_pump_resize(streams["resize"], resize)) if resize is not None else None
        channels = Channels(
            stdin=streams["stdin"].data if "stdin" in streams else None,
            stdout=streams["stdout"].write if "stdout" in streams else None,
            stderr=streams["stderr"].write if "stderr" in streams else None,
            resize=resize,
            closed=conn.closed,
        )
        try:
            outcome = await run_session(driver, target, opts, channels)
        finally:
            if pump is not None:
                pump.cancel()
        if outcome.abandoned:
            return up.resp
        with contextlib.suppress(ConnectionResetError):
            for kind in ("stdout", "stderr"):
                if kind in streams:
                    await streams[kind].close()
            message = status_message(outcome, version, target, opts)
            if message is not None:
                await streams["error"].write(message)
            await streams["error"].close()
        return up.resp
    except asyncio.CancelledError:  # server shutdown: do not linger
        linger = 0
        raise
    finally:
        idle.cancel()
        await up.finish(linger)


async def _pump_resize(stream: SpdyStream, sizes: SizeQueue) -> None:
    decoder = ResizeDecoder()
    try:
        async for chunk in stream.data:
            try:
                for size in decoder.feed(chunk):
                    sizes.put(size)
            except InvalidInput as e:
                log.info("ignoring resize data: %s", e)
                decoder = ResizeDecoder()
    finally:
        sizes.close()
