"""Exec and attach over WebSocket: the channel.k8s.io subprotocols.

Every message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize. The
``base64`` variants send text messages whose first character is the channel digit and whose
payload is base64. ``v5.channel.k8s.io`` (what kubectl 1.30+ asks for first) adds channel 255,
the close signal: ``[255, n]`` means the client will send nothing more on channel n (stdin EOF).
Right after the upgrade an empty message goes out on the lowest writable channel so that the
client knows the server is ready (v1 to v4, as the kubelet does).

v5 is what client-go's WebSocket executor (kubectl 1.30+) speaks, and that client creates its
streams only after the handshake: a message arriving before then is discarded ("Unknown stream id
1, discarding message"). Behind a real API server the stream translator's extra hop hides this;
when kubectl reaches us directly (our API emulator passes upgrades through) it does not. So for v5
there is no readiness message, and output is held back until ``V5_SETTLE`` seconds after the
upgrade.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging

from aiohttp import WSMsgType, web

from cvk.driver.base import Driver
from cvk.errors import InvalidInput
from cvk.kubelet.remotecommand import (
    ByteQueue,
    Channels,
    ResizeDecoder,
    SizeQueue,
    StreamOptions,
    Target,
    run_session,
    status_message,
)

log = logging.getLogger(__name__)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255

# subprotocol -> (remotecommand version, base64 framing)
PROTOCOLS: dict[str, tuple[int, bool]] = {
    "v5.channel.k8s.io": (5, False),
    "v4.channel.k8s.io": (4, False),
    "v4.base64.channel.k8s.io": (4, True),
    "channel.k8s.io": (1, False),
    "base64.channel.k8s.io": (1, True),
}
MAX_MESSAGE = 16 * 2**20
STDIN_BUFFER = 2**20
V5_SETTLE = 0.1  # seconds the v5 client gets to create its streams before output flows
CLOSE_WAIT = 5.0  # for the client's answer to our close frame
SHUTDOWN_CLOSE_WAIT = 0.2


def is_websocket_request(request: web.Request) -> bool:
    connection = request.headers.get("Connection", "").lower()
    upgrade = request.headers.get("Upgrade", "").lower()
    return "upgrade" in [t.strip() for t in connection.split(",")] and upgrade == "websocket"


def negotiate(request: web.Request) -> str:
    """The subprotocol to use ("" when the client named none); InvalidInput when none is supported."""
    requested = [
        p.strip()
        for header in request.headers.getall("Sec-WebSocket-Protocol", [])
        for p in header.split(",")
        if p.strip()
    ]
    if not requested:
        return ""
    for proto in requested:
        if proto in PROTOCOLS:
            return proto
    raise InvalidInput(
        f"unsupported WebSocket subprotocol(s) {', '.join(requested)}; supported: {', '.join(PROTOCOLS)}"
    )


class _Writer:
    def __init__(self, ws: web.WebSocketResponse, b64: bool, settle: float = 0.0) -> None:
        self._ws = ws
        self._b64 = b64
        self._lock = asyncio.Lock()
        self._ready_at = asyncio.get_running_loop().time() + settle

    async def send(self, channel: int, data: bytes) -> None:
        async with self._lock:
            delay = self._ready_at - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._ws.closed:
                raise ConnectionResetError("WebSocket closed")
            if self._b64:
                await self._ws.send_str(str(channel) + base64.b64encode(data).decode("ascii"))
            else:
                await self._ws.send_bytes(bytes([channel]) + data)

    def channel(self, channel: int) -> _ChannelWriter:
        return _ChannelWriter(self, channel)


class _ChannelWriter:
    def __init__(self, writer: _Writer, channel: int) -> None:
        self._writer = writer
        self._channel = channel

    async def __call__(self, data: bytes) -> None:
        # Keep messages moderate so a big output does not become one huge frame.
        for i in range(0, len(data), 32768):
            await self._writer.send(self._channel, data[i:i + 32768])


async def serve_websocket(
    request: web.Request, driver: Driver, target: Target, opts: StreamOptions
) -> web.StreamResponse:
    proto = negotiate(request)
    version, b64 = PROTOCOLS.get(proto, (1, False))
    ws = web.WebSocketResponse(protocols=(proto,) if proto else (), max_msg_size=MAX_MESSAGE, timeout=CLOSE_WAIT)
    await ws.prepare(request)
    writer = _Writer(ws, b64, settle=V5_SETTLE if version >= 5 else 0.0)
    stdin = ByteQueue() if opts.stdin else None
    resize = SizeQueue() if opts.tty else None
    closed = asyncio.Event()
    channels = Channels(
        stdin=stdin,
        stdout=writer.channel(STDOUT) if opts.stdout else None,
        stderr=writer.channel(STDERR) if opts.stderr else None,
        resize=resize,
        closed=closed,
    )
    ctx = f"protocol={proto or '(none)'} kind={target.kind} namespace={target.namespace} pod={target.pod}"
    log.info("remotecommand websocket session start %s", ctx)
    reader = asyncio.ensure_future(_read(ws, version, b64, stdin, resize, closed))
    close_wait = CLOSE_WAIT
    try:
        if version < 5:
            first = STDOUT if opts.stdout else STDERR if opts.stderr else ERROR
            await writer.send(first, b"")
        outcome = await run_session(driver, target, opts, channels)
        if not outcome.abandoned:
            message = status_message(outcome, version, target, opts)
            if message is not None:
                await writer.send(ERROR, message)
    except ConnectionResetError:
        log.info("remotecommand websocket client went away %s", ctx)
    except asyncio.CancelledError:  # server shutdown: close without waiting for the client
        close_wait = SHUTDOWN_CLOSE_WAIT
        raise
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        if not ws.closed:
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(ws.close(), close_wait)
    return ws


async def _read(
    ws: web.WebSocketResponse,
    version: int,
    b64: bool,
    stdin: ByteQueue | None,
    resize: SizeQueue | None,
    closed: asyncio.Event,
) -> None:
    decoder = ResizeDecoder()
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                raw: bytes = msg.data
                if not raw:
                    continue
                channel, data = raw[0], raw[1:]
            elif msg.type == WSMsgType.TEXT:
                text: str = msg.data
                if not text:
                    continue
                try:
                    channel = int(text[0]) if text[0].isdigit() else ord(text[0])
                    data = base64.b64decode(text[1:]) if b64 else text[1:].encode()
                except (ValueError, binascii.Error):
                    log.info("ignoring malformed WebSocket text message")
                    continue
            else:
                break
            if channel == STDIN and stdin is not None:
                stdin.put(data)
                await stdin.wait_below(STDIN_BUFFER)  # stop reading while the driver lags
            elif channel == RESIZE and resize is not None:
                try:
                    for size in decoder.feed(data):
                        resize.put(size)
                except InvalidInput as e:
                    log.info("ignoring resize data: %s", e)
                    decoder = ResizeDecoder()
            elif channel == CLOSE and version >= 5 and data:
                if data[0] == STDIN and stdin is not None:
                    stdin.close()
                elif data[0] == RESIZE and resize is not None:
                    resize.close()
    finally:
        if stdin is not None:
            stdin.close()
        if resize is not None:
            resize.close()
        closed.set()
