"""Port-forward over WebSocket in the kubelet's channel protocol (what non-Go clients speak)."""

from __future__ import annotations

import base64
import struct
from typing import Any

import aiohttp
import pytest

from tests.kubelet.conftest import StartKubelet
from tests.kubelet.test_exec_spdy import ForwardingDriver


class WsSession:
    """Reads and writes channel messages (binary, or base64 text) and collects bytes per channel."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, b64: bool = False) -> None:
        self.ws = ws
        self.b64 = b64
        self.out: dict[int, bytes] = {}

    async def send(self, channel: int, data: bytes) -> None:
        if self.b64:
            await self.ws.send_str(str(channel) + base64.b64encode(data).decode())
        else:
            await self.ws.send_bytes(bytes([channel]) + data)

    async def read_channel(self, channel: int, want: bytes) -> bytes:
        """Read messages until ``channel`` has accumulated bytes ending with ``want``."""
        while not self.out.get(channel, b"").endswith(want) or channel not in self.out:
            msg = await self.ws.receive(timeout=10)
            if msg.type == aiohttp.WSMsgType.BINARY:
                ch, data = msg.data[0], msg.data[1:]
            else:
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                ch, data = ord(msg.data[0]) - ord("0"), base64.b64decode(msg.data[1:])
            self.out[ch] = self.out.get(ch, b"") + data
        return self.out[channel]

pytestmark = pytest.mark.timeout(60)


async def _connect(k: Any, query: str, *protocols: str) -> aiohttp.ClientWebSocketResponse:
    return await k.session.ws_connect(k.url + "/portForward/default/p1" + query, protocols=protocols)


@pytest.mark.parametrize("protocol", ["v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io"])
async def test_ports_are_announced_data_flows_and_errors_are_reported(
    start_kubelet: StartKubelet, protocol: str
) -> None:
    k = await start_kubelet()
    k.server.driver = ForwardingDriver()  # port 7 answers each chunk reversed; other ports refuse
    ws = await _connect(k, "?port=7&port=8", protocol)
    assert ws.protocol == protocol
    s = WsSession(ws, b64="base64" in protocol)
    for channel, port in ((0, 7), (1, 7), (2, 8), (3, 8)):
        assert await s.read_channel(channel, struct.pack("<H", port)) == struct.pack("<H", port)
    await s.send(0, b"olleh")
    assert (await s.read_channel(0, b"hello"))[2:] == b"hello"
    err = await s.read_channel(3, b"nothing listens on 8")
    assert err.startswith(struct.pack("<H", 8) + b"error forwarding port 8 to pod default/p1")
    await ws.close()


async def test_comma_separated_ports_and_no_subprotocol(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet()
    k.server.driver = ForwardingDriver()
    ws = await _connect(k, "?port=7,7")
    s = WsSession(ws)
    assert await s.read_channel(2, struct.pack("<H", 7)) == struct.pack("<H", 7)
    await s.send(2, b"ba")
    assert (await s.read_channel(2, b"ab"))[2:] == b"ab"
    await ws.close()


@pytest.mark.parametrize(
    ("query", "message"),
    [("", 'query parameter "port" is required'), ("?port=", "cannot be empty"),
     ("?port=http", "unable to parse"), ("?port=70000", "between 1 and 65535")],
)
async def test_bad_ports_are_400_before_the_upgrade(start_kubelet: StartKubelet, query: str, message: str) -> None:
    k = await start_kubelet()
    k.server.driver = ForwardingDriver()
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "v4.channel.k8s.io"}
    async with k.session.get(k.url + "/portForward/default/p1" + query, headers=headers) as r:
        assert r.status == 400
        assert message in await r.text()


async def test_spdy_tunnelled_in_websocket_is_400_so_kubectl_falls_back(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet()
    k.server.driver = ForwardingDriver()
    with pytest.raises(aiohttp.WSServerHandshakeError) as e:
        await _connect(k, "?port=7", "SPDY/3.1+portforward.k8s.io")
    assert e.value.status == 400
