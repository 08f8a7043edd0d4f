"""Port-forward over WebSocket: the kubelet's channel protocol (what the official Python client and
other non-Go clients speak; kubectl uses SPDY, or SPDY tunnelled in WebSocket through an API server).

- The ports come from the ``port`` query parameter (repeated or comma-separated; the API server
  turns the client's ``ports`` into it), each 1-65535; anything else is a 400 before the upgrade.
- Subprotocols ``v4.channel.k8s.io`` and ``channel.k8s.io`` (binary: the first byte of a message
  is the channel) and ``v4.base64.channel.k8s.io``/``base64.channel.k8s.io`` (text: a channel
  digit, then base64); no subprotocol means binary, as the kubelet does.
- Port number i (0-based) uses channel 2i for data and 2i+1 for errors. Right after the upgrade
  the server sends each port number (2 bytes, little endian) on both of its channels.
- One forwarded connection per port: the driver's ``port_forward`` runs for each port with what
  the client writes on the data channel; driver errors go out as text on the error channel. When
  every forward has ended, or the client closes, the WebSocket closes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from cvk.driver.base import Driver
from cvk.errors import InvalidInput
from cvk.kubelet.httperrors import message_for
from cvk.kubelet.portforward import DataReader
from cvk.kubelet.remotecommand import ByteQueue

log = logging.getLogger(__name__)

# subprotocol -> base64 framing
PROTOCOLS: dict[str, bool] = {
    "v4.channel.k8s.io": False,
    "v4.base64.channel.k8s.io": True,
    "channel.k8s.io": False,
    "base64.channel.k8s.io": True,
}


def offered_protocols(request: web.Request) -> list[str]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


def speaks_channels(request: web.Request) -> bool:
    """True when the client asks for the channel protocol (or for no subprotocol at all)."""
    offered = offered_protocols(request)
    return not offered or any(p in PROTOCOLS for p in offered)


def parse_ports(values: list[str]) -> list[int]:
    """The ``port`` query values, as the kubelet parses them (kubelet wording in errors)."""
    if not values:
        raise InvalidInput('query parameter "port" is required')
    ports: list[int] = []
    for value in values:
        if not value:
            raise InvalidInput('query parameter "port" cannot be empty')
        for part in value.split(","):
            try:
                port = int(part)
            except ValueError:
                raise InvalidInput(f"unable to parse {value!r} as a port") from None
            if not 1 <= port <= 65535:
                raise InvalidInput(f"port {value!r} must be between 1 and 65535")
            ports.append(port)
    return ports


class _ChannelWriter:
    def __init__(self, send: Callable[[int, bytes], Awaitable[None]], channel: int) -> None:
        self._send = send
        self._channel = channel

    async def write(self, data: bytes) -> None:
        if data:
            await self._send(self._channel, data)

    async def close(self) -> None:
        """The channel protocol has no per-channel close: the WebSocket closes when all forwards end."""


async def serve_websocket_port_forward(
    request: web.Request, driver: Driver, namespace: str, pod: str
) -> web.StreamResponse:
    try:
        ports = parse_ports(request.query.getall("port", []))
    except InvalidInput as e:
        return web.Response(status=400, text=f"{e}\n")
    ws = web.WebSocketResponse(protocols=tuple(PROTOCOLS), autoping=True)
    await ws.prepare(request)
    text = PROTOCOLS.get(ws.ws_protocol or "", False)
    send_lock = asyncio.Lock()

    async def send(channel: int, data: bytes) -> None:
        async with send_lock:
            if ws.closed:
                raise ConnectionResetError("the client closed the port-forward connection")
            if text:
                await ws.send_str(chr(ord("0") + channel) + base64.b64encode(data).decode("ascii"))
            else:
                await ws.send_bytes(bytes([channel]) + data)

    inbound = [ByteQueue() for _ in ports]
    for i, port in enumerate(ports):
        number = struct.pack("<H", port)
        await send(2 * i, number)
        await send(2 * i + 1, number)

    async def forward(i: int, port: int) -> None:
        ctx = f"namespace={namespace} pod={pod} port={port}"
        log.info("port-forward (websocket) start %s", ctx)
        try:
            await driver.port_forward(namespace, pod, port, DataReader(inbound[i]), _ChannelWriter(send, 2 * i))
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.info("port-forward (websocket) failed %s error=%r", ctx, message_for(e))
            with contextlib.suppress(ConnectionResetError):
                await send(2 * i + 1, f"error forwarding port {port} to pod {namespace}/{pod}: {message_for(e)}"
                           .encode())

    async def read_client() -> None:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY and msg.data:
                channel, payload = msg.data[0], bytes(msg.data[1:])
            elif msg.type == WSMsgType.TEXT and msg.data:
                channel = ord(msg.data[0]) - ord("0")
                try:
                    payload = base64.b64decode(msg.data[1:], validate=True)
                except (binascii.Error, ValueError):
                    log.info("port-forward (websocket): undecodable base64 message dropped")
                    continue
            else:
                continue
            if channel % 2 == 0 and channel // 2 < len(inbound):
                inbound[channel // 2].put(payload)

    async def forward_all() -> None:
        await asyncio.gather(*(forward(i, port) for i, port in enumerate(ports)))

    forwards = asyncio.ensure_future(forward_all())
    reader = asyncio.ensure_future(read_client())
    try:
        await asyncio.wait([forwards, reader], return_when=asyncio.FIRST_COMPLETED)
        for q in inbound:
            q.close()  # the client closed, or everything ended: the drivers see EOF
        if not forwards.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await asyncio.shield(forwards)
    finally:
        forwards.cancel()
        reader.cancel()
        await ws.close()
        await asyncio.gather(forwards, reader, return_exceptions=True)
    return ws
