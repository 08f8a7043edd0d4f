"""Exec and attach over WebSocket (channel.k8s.io subprotocols v4, v5 and base64)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import pytest

from tests.kubelet.conftest import Kubelet

pytestmark = pytest.mark.timeout(60)


class WsSession:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, b64: bool = False) -> None:
        self.ws = ws
        self.b64 = b64
        self.out: dict[int, bytes] = {}
        self.first_channel: int | None = None
        self.first_data: bytes | None = None

    async def send(self, channel: int, data: bytes) -> None:
        if self.b64:
            await self.ws.send_str(str(channel) + base64.b64encode(data).decode())
        else:
            await self.ws.send_bytes(bytes([channel]) + data)

    async def collect(self) -> dict[int, bytes]:
        """Read until the server closes; returns bytes per channel."""
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                channel, data = msg.data[0], msg.data[1:]
            elif msg.type == aiohttp.WSMsgType.TEXT:
                channel, data = int(msg.data[0]), base64.b64decode(msg.data[1:])
            else:
                break
            if self.first_channel is None:
                self.first_channel = channel
                self.first_data = data
            self.out[channel] = self.out.get(channel, b"") + data
        return self.out

    async def read_channel(self, channel: int, want: bytes) -> bytes:
        """Read messages until ``channel`` has accumulated ``want``."""
        while channel not in self.out or not self.out[channel].endswith(want):
            msg = await asyncio.wait_for(self.ws.receive(), 10)
            assert msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), msg
            raw = msg.data if msg.type == aiohttp.WSMsgType.BINARY else msg.data.encode()
            if self.first_channel is None:
                self.first_channel = raw[0]
            self.out[raw[0]] = self.out.get(raw[0], b"") + raw[1:]
        return self.out[channel]


def status(out: dict[int, bytes]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(out[3])
    return result


async def connect(k: Kubelet, path: str, protocol: str = "v5.channel.k8s.io") -> aiohttp.ClientWebSocketResponse:
    return await k.session.ws_connect(k.url + path, protocols=(protocol,))


async def test_exec_echo_v5(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/exec/default/p1/app?command=echo&command=hi&output=1&error=1")
    assert ws.protocol == "v5.channel.k8s.io"
    s = WsSession(ws)
    out = await s.collect()
    assert (s.first_channel, s.first_data) == (1, b"hi\n")  # v5: no empty readiness message
    assert out[1] == b"hi\n"
    assert status(out) == {"metadata": {}, "status": "Success"}
    assert kubelet.driver.exec_calls[-1] == ("default", "p1", "app", ["echo", "hi"], False)


async def test_exec_nonzero_exit_and_stderr_v4(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/exec/default/p1/app?command=exit&command=3&error=1", "v4.channel.k8s.io")
    s = WsSession(ws)
    out = await s.collect()
    # v4 readiness: an empty message on the lowest writable channel (no stdout requested: stderr)
    assert (s.first_channel, s.first_data) == (2, b"")
    st = status(out)
    assert st["status"] == "Failure"
    assert st["reason"] == "NonZeroExitCode"
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


async def test_exec_driver_error_is_internal_error(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/exec/default/p1/app?command=boom&output=1")
    out = await WsSession(ws).collect()
    st = status(out)
    assert st["status"] == "Failure" and st["reason"] == "InternalError" and st["code"] == 500
    assert "the device exploded" in st["message"]


async def test_exec_stdin_until_close_signal_v5(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/exec/default/p1/app?command=cat&input=1&output=1")
    s = WsSession(ws)
    await s.send(0, b"hello ")
    await s.send(0, b"world")
    assert await s.read_channel(1, b"hello world") == b"hello world"
    await ws.send_bytes(bytes([255, 0]))  # v5 close signal: no more stdin
    out = await s.collect()
    assert status(out)["status"] == "Success"


async def test_exec_base64_protocol(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/exec/default/p1/app?command=echo&command=b64&output=1", "v4.base64.channel.k8s.io")
    assert ws.protocol == "v4.base64.channel.k8s.io"
    out = await WsSession(ws, b64=True).collect()
    assert out[1] == b"b64\n"
    assert status(out)["status"] == "Success"


async def test_exec_resize_with_tty(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/exec/default/p1/app?command=sizes&command=2&output=1&tty=1")
    s = WsSession(ws)
    await s.send(4, b'{"Width":80,"Height":24}')
    await s.send(4, b'{"width":120,')  # split across messages, lower-case keys
    await s.send(4, b'"height":40}')
    out = await s.collect()
    assert out[1] == b"80x24\n120x40\n"
    assert kubelet.driver.exec_calls[-1][4] is True


async def test_attach_v5(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/attach/default/p1/uid-1/app?input=1&output=1")
    s = WsSession(ws)
    await s.send(0, b"shout")
    assert await s.read_channel(1, b"SHOUT") == b"SHOUT"
    await ws.send_bytes(bytes([255, 0]))
    out = await s.collect()
    assert status(out)["status"] == "Success"
    assert kubelet.driver.exec_calls[-1][:3] == ("default", "p1", "app")


async def test_uid_mismatch_is_404(kubelet: Kubelet) -> None:
    async with kubelet.session.get(kubelet.url + "/attach/default/p1/other-uid/app?output=1") as r:
        assert r.status == 404


@pytest.mark.parametrize(
    "query",
    ["command=echo&tty=1&error=1&output=1", "command=echo", "command=echo&input=0&output=0"],
)
async def test_bad_stream_options_are_400(kubelet: Kubelet, query: str) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as e:
        await connect(kubelet, "/exec/default/p1/app?" + query)
    assert e.value.status == 400
    assert kubelet.driver.exec_calls == []


async def test_unsupported_subprotocol_is_400(kubelet: Kubelet) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as e:
        await connect(kubelet, "/exec/default/p1/app?command=echo&output=1", "v9.channel.k8s.io")
    assert e.value.status == 400


async def test_client_disconnect_cancels_driver(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/exec/default/p1/app?command=hang&output=1", "v4.channel.k8s.io")
    s = WsSession(ws)
    await s.read_channel(1, b"")  # readiness frame
    await ws.close()
    await asyncio.wait_for(kubelet.driver.cancelled.wait(), 10)


async def test_port_forward_without_driver_support_is_501(kubelet: Kubelet) -> None:
    async with kubelet.session.post(kubelet.url + "/portForward/default/p1") as r:
        assert r.status == 501
        assert "not implemented" in await r.text()


async def test_stop_ends_streaming_sessions(kubelet: Kubelet) -> None:
    ws = await connect(kubelet, "/exec/default/p1/app?command=hang&output=1", "v4.channel.k8s.io")
    await WsSession(ws).read_channel(1, b"")  # readiness frame
    await asyncio.wait_for(kubelet.server.stop(), 10)
    assert kubelet.driver.cancelled.is_set()
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
