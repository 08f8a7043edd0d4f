"""Exec, attach and port-forward over SPDY/3.1 (what the API server and kubectl <= 1.29 speak)."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

import pytest

from cvk.kubelet import spdy
from tests.kubelet.conftest import Kubelet, StartKubelet, insecure_ssl
from tests.kubelet.fakes import TestDriver
from tests.kubelet.spdyclient import ClientStream, SpdyClient

pytestmark = pytest.mark.timeout(60)

V4 = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"]
V5 = ["v5.channel.k8s.io", *V4]


async def exec_client(k: Kubelet, path: str, protocols: list[str] = V4) -> SpdyClient:
    c = await SpdyClient.connect(k.server.port, path, protocols, ssl_context=insecure_ssl())
    assert c.status == 101, c.body
    return c


async def open_streams(c: SpdyClient, *kinds: str) -> dict[str, ClientStream]:
    return {kind: await c.open_stream({"streamType": kind}) for kind in kinds}


def status(raw: bytes) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(raw)
    return result


def test_header_dictionary_is_spdy3() -> None:
    assert len(spdy.HEADER_DICTIONARY) == 1423
    assert zlib.adler32(spdy.HEADER_DICTIONARY) == 0xE3C6A7C2


def test_header_block_roundtrip_shares_context() -> None:
    out, inp = spdy.HeaderCompressor(), spdy.HeaderDecompressor()
    for headers in ({"streamtype": "error"}, {"streamtype": "stdout", "port": "80"}, {}):
        assert inp.decompress(out.compress(headers)) == headers


async def test_exec_echo_v4(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/exec/default/p1/app?command=echo&command=hi&output=1&error=1")
    assert c.headers["upgrade"].lower() == "spdy/3.1"
    assert c.headers["x-stream-protocol-version"] == "v4.channel.k8s.io"
    s = await open_streams(c, "error", "stdout", "stderr")
    assert await c.read_all(s["stdout"]) == b"hi\n"
    assert await c.read_all(s["stderr"]) == b""
    assert status(await c.read_all(s["error"])) == {"metadata": {}, "status": "Success"}
    await asyncio.wait_for(c.goaway.wait(), 10)
    await c.close()
    assert kubelet.driver.exec_calls[-1] == ("default", "p1", "app", ["echo", "hi"], False)


async def test_exec_v5_preferred_and_exit_code(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/exec/default/p1/app?command=exit&command=7&output=1", V5)
    assert c.headers["x-stream-protocol-version"] == "v5.channel.k8s.io"
    s = await open_streams(c, "error", "stdout")
    st = status(await c.read_all(s["error"]))
    assert st["reason"] == "NonZeroExitCode"
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "7"}]
    await c.close()


async def test_exec_v2_writes_text_errors_and_nothing_on_success(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/exec/default/p1/app?command=echo&command=x&output=1",
                          ["v2.channel.k8s.io"])
    s = await open_streams(c, "error", "stdout")
    assert await c.read_all(s["stdout"]) == b"x\n"
    assert await c.read_all(s["error"]) == b""
    await c.close()
    c = await exec_client(kubelet, "/exec/default/p1/app?command=exit&command=2&output=1",
                          ["v2.channel.k8s.io"])
    s = await open_streams(c, "error", "stdout")
    assert b"exit status 2" in await c.read_all(s["error"])
    await c.close()


async def test_exec_stdin_tty_resize_and_ping(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/exec/default/p1/app?command=sizes&command=1&input=1&output=1&tty=1")
    s = await open_streams(c, "error", "stdin", "stdout", "resize")
    await c.ping(1)
    await c.send(s["resize"], b'{"Width":100,"Height":50}')
    assert await c.read_all(s["stdout"]) == b"100x50\n"
    assert status(await c.read_all(s["error"]))["status"] == "Success"
    assert 1 in c.pongs
    await c.close()


async def test_exec_cat_until_stdin_fin(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/exec/default/p1/app?command=cat&input=1&output=1")
    s = await open_streams(c, "error", "stdin", "stdout")
    await c.send(s["stdin"], b"abc")
    await c.read_until(s["stdout"], b"abc")
    big = bytes(range(256)) * 1024  # 256 KiB crosses several DATA frames
    await c.send(s["stdin"], big, fin=True)
    assert await c.read_all(s["stdout"]) == b"abc" + big
    assert status(await c.read_all(s["error"]))["status"] == "Success"
    await c.close()


async def test_attach(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/attach/default/p1/app?input=1&output=1")
    s = await open_streams(c, "error", "stdin", "stdout")
    await c.send(s["stdin"], b"hey", fin=True)
    assert await c.read_all(s["stdout"]) == b"HEY"
    assert status(await c.read_all(s["error"]))["status"] == "Success"
    await c.close()


async def test_unexpected_stream_is_refused(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/exec/default/p1/app?command=echo&command=a&output=1")
    bogus = await c.open_stream({"streamType": "stdin"})  # stdin was not requested
    assert bogus.reset == spdy.REFUSED_STREAM
    s = await open_streams(c, "error", "stdout")
    assert await c.read_all(s["stdout"]) == b"a\n"
    await c.close()


async def test_missing_streams_time_out(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet()
    k.server.stream_creation_timeout = 0.2
    c = await exec_client(k, "/exec/default/p1/app?command=echo&command=a&output=1")
    await c.open_stream({"streamType": "error"})
    await asyncio.wait_for(c.eof.wait(), 10)  # the server gave up and closed the connection
    assert c.goaway.is_set()
    assert k.driver.exec_calls == []
    await c.close()


async def test_protocol_header_required_and_negotiated(kubelet: Kubelet) -> None:
    c = await SpdyClient.connect(kubelet.server.port, "/exec/default/p1/app?command=a&output=1", [],
                                 ssl_context=insecure_ssl())
    assert c.status == 400
    assert b"X-Stream-Protocol-Version is required" in c.body
    c = await SpdyClient.connect(kubelet.server.port, "/exec/default/p1/app?command=a&output=1",
                                 ["channel.k8s.io"], ssl_context=insecure_ssl())
    assert c.status == 403
    assert b"unable to negotiate protocol" in c.body


async def test_bad_options_are_400_before_upgrade(kubelet: Kubelet) -> None:
    c = await SpdyClient.connect(kubelet.server.port, "/exec/default/p1/app?command=a&tty=1&error=1&output=1",
                                 V4, ssl_context=insecure_ssl())
    assert c.status == 400
    assert b"tty and stderr" in c.body


async def test_client_hangup_cancels_driver(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/exec/default/p1/app?command=hang&output=1")
    await open_streams(c, "error", "stdout")
    await c.close()
    await asyncio.wait_for(kubelet.driver.cancelled.wait(), 10)


class ForwardingDriver(TestDriver):
    """Port 7 echoes; any other port fails."""

    async def port_forward(self, namespace: str, pod: str, port: int, reader: Any, writer: Any) -> None:
        if port != 7:
            raise ConnectionRefusedError(f"nothing listens on {port}")
        async for chunk in reader:
            await writer.write(chunk[::-1])


async def test_port_forward_pairs_by_request_id(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet()
    k.server.driver = ForwardingDriver()
    c = await SpdyClient.connect(k.server.port, "/portForward/default/p1", ["portforward.k8s.io"],
                                 ssl_context=insecure_ssl())
    assert c.status == 101
    err = await c.open_stream({"streamType": "error", "port": "7", "requestID": "0"})
    data = await c.open_stream({"streamType": "data", "port": "7", "requestID": "0"})
    await c.send(data, b"olleh", fin=True)
    assert await c.read_all(data) == b"hello"
    assert await c.read_all(err) == b""
    err2 = await c.open_stream({"streamType": "error", "port": "8", "requestID": "1"})
    data2 = await c.open_stream({"streamType": "data", "port": "8", "requestID": "1"})
    assert b"nothing listens on 8" in await c.read_all(err2)
    await c.read_all(data2)
    bad = await c.open_stream({"streamType": "data", "port": "99999", "requestID": "2"})
    assert bad.reset == spdy.REFUSED_STREAM
    await c.close()


async def test_stop_ends_spdy_sessions(kubelet: Kubelet) -> None:
    c = await exec_client(kubelet, "/exec/default/p1/app?command=hang&output=1")
    await open_streams(c, "error", "stdout")
    await asyncio.wait_for(kubelet.server.stop(), 10)
    assert kubelet.driver.cancelled.is_set()
    await asyncio.wait_for(c.eof.wait(), 10)
    assert c.goaway.is_set()
    await c.close()


async def test_idle_connection_is_closed(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet()
    k.server.stream_idle_timeout = 0.3
    c = await exec_client(k, "/exec/default/p1/app?command=hang&output=1")
    await open_streams(c, "error", "stdout")
    await asyncio.wait_for(k.driver.cancelled.wait(), 10)  # nothing moved: session ended
    await asyncio.wait_for(c.eof.wait(), 10)
    assert c.goaway.is_set()
    await c.close()


async def test_concurrent_sessions_do_not_mix(kubelet: Kubelet) -> None:
    async def spdy_session(i: int) -> bytes:
        c = await exec_client(kubelet, "/exec/default/p1/app?command=cat&input=1&output=1")
        s = await open_streams(c, "error", "stdin", "stdout")
        payload = f"spdy-{i}-".encode() * 1000
        await c.send(s["stdin"], payload, fin=True)
        out = await c.read_all(s["stdout"])
        assert status(await c.read_all(s["error"]))["status"] == "Success"
        await c.close()
        return out

    async def ws_session(i: int) -> bytes:
        ws = await kubelet.session.ws_connect(kubelet.url + "/exec/default/p1/app?command=cat&input=1&output=1",
                                              protocols=("v5.channel.k8s.io",))
        payload = f"ws-{i}-".encode() * 1000
        await ws.send_bytes(b"\x00" + payload)
        await ws.send_bytes(bytes([255, 0]))
        out = b""
        async for msg in ws:
            if msg.data[0] == 1:
                out += msg.data[1:]
        return out

    results = await asyncio.gather(*(spdy_session(i) for i in range(10)), *(ws_session(i) for i in range(10)))
    expected = [f"spdy-{i}-".encode() * 1000 for i in range(10)] + [f"ws-{i}-".encode() * 1000 for i in range(10)]
    assert results == expected
