"""SpdyConnection on its own: frame handling, refusals, protocol errors and read backpressure."""

from __future__ import annotations

import asyncio
import struct

import pytest

from cvk.kubelet import spdy

pytestmark = pytest.mark.timeout(30)


class Harness:
    def __init__(self, accept: bool = True) -> None:
        self.out = bytearray()
        self.paused = 0
        self.resumed = 0
        self.resumed_event = asyncio.Event()
        self.accepted: list[spdy.SpdyStream] = []
        self.accept = accept
        self.deflate = spdy.HeaderCompressor()
        self.conn = spdy.SpdyConnection(
            self.out.extend, self._write_async, self._on_stream,
            pause_reading=self._pause, resume_reading=self._resume,
        )

    async def _write_async(self, frame: bytes) -> None:
        self.out.extend(frame)

    def _on_stream(self, stream: spdy.SpdyStream) -> bool:
        if self.accept:
            self.accepted.append(stream)
        return self.accept

    def _pause(self) -> None:
        self.paused += 1

    def _resume(self) -> None:
        self.resumed += 1
        self.resumed_event.set()

    def syn(self, stream_id: int, headers: dict[str, str], flags: int = 0) -> bytes:
        payload = struct.pack(">IIBB", stream_id, 0, 0, 0) + self.deflate.compress(headers)
        return spdy.control_frame(spdy.SYN_STREAM, flags, payload)

    def frames(self) -> list[tuple[bool, int, int, bytes]]:
        frames = spdy.FrameReader().feed(bytes(self.out))
        self.out.clear()
        return frames


async def test_syn_stream_gets_reply_and_data_flows() -> None:
    h = Harness()
    assert h.conn.feed_data(h.syn(1, {"streamtype": "stdin"}) + spdy.data_frame(1, spdy.FLAG_FIN, b"abc")) == (
        False, b"")
    (stream,) = h.accepted
    assert stream.stream_type == "stdin"
    assert [chunk async for chunk in stream.data] == [b"abc"]
    (reply,) = h.frames()
    assert reply[:2] == (True, spdy.SYN_REPLY)
    assert struct.unpack(">I", reply[3][:4])[0] == 1
    assert spdy.HeaderDecompressor().decompress(reply[3][4:]) == {}
    await stream.write(b"x" * (spdy.MAX_DATA_CHUNK + 1))
    await stream.close()
    sizes = [(is_control, sid, flags, len(p)) for is_control, sid, flags, p in h.frames()]
    assert sizes == [(False, 1, 0, spdy.MAX_DATA_CHUNK), (False, 1, 0, 1), (False, 1, spdy.FLAG_FIN, 0)]


async def test_refused_and_invalid_streams_are_reset() -> None:
    h = Harness(accept=False)
    h.conn.feed_data(h.syn(1, {"streamtype": "bogus"}))
    h.conn.feed_data(h.syn(4, {"streamtype": "error"}))  # even ids belong to the server
    resets = [struct.unpack(">II", p) for c, kind, _, p in h.frames() if c and kind == spdy.RST_STREAM]
    assert resets == [(1, spdy.REFUSED_STREAM), (4, spdy.PROTOCOL_ERROR)]
    h.conn.feed_data(spdy.data_frame(9, 0, b"?"))  # data for a stream that does not exist
    ((_, kind, _, payload),) = h.frames()
    assert kind == spdy.RST_STREAM and struct.unpack(">II", payload) == (9, spdy.INVALID_STREAM)


async def test_ping_echo_settings_and_window_updates_ignored() -> None:
    h = Harness()
    h.conn.feed_data(spdy.control_frame(spdy.SETTINGS, 0, struct.pack(">I", 0)))
    h.conn.feed_data(spdy.control_frame(spdy.WINDOW_UPDATE, 0, struct.pack(">II", 1, 1000)))
    h.conn.feed_data(spdy.control_frame(spdy.PING, 0, struct.pack(">I", 7)))
    assert h.frames() == [(True, spdy.PING, 0, struct.pack(">I", 7))]


async def test_bad_version_is_a_protocol_error_with_goaway() -> None:
    h = Harness()
    frame = struct.pack(">HHI", 0x8000 | 2, spdy.PING, 4) + b"\0\0\0\1"
    assert h.conn.feed_data(frame) == (True, b"")
    assert h.conn.closed.is_set()
    ((_, kind, _, payload),) = h.frames()
    assert kind == spdy.GOAWAY and struct.unpack(">II", payload)[1] == spdy.GOAWAY_PROTOCOL_ERROR


async def test_client_goaway_and_eof_end_all_streams() -> None:
    h = Harness()
    h.conn.feed_data(h.syn(1, {"streamtype": "stdin"}))
    h.conn.feed_data(spdy.control_frame(spdy.GOAWAY, 0, struct.pack(">II", 1, 0)))
    assert h.conn.closed.is_set()
    assert [c async for c in h.accepted[0].data] == []


async def test_reading_pauses_while_a_stream_is_not_consumed() -> None:
    h = Harness()
    h.conn.feed_data(h.syn(1, {"streamtype": "stdin"}))
    chunk = b"z" * 65536
    for _ in range((spdy.PAUSE_READING_AT // len(chunk)) + 2):
        h.conn.feed_data(spdy.data_frame(1, 0, chunk))
    assert h.paused == 1 and h.resumed == 0
    stream = h.accepted[0]
    while stream.data.buffered >= spdy.RESUME_READING_AT:
        await anext(stream.data)
    await asyncio.wait_for(h.resumed_event.wait(), 5)
    assert h.resumed == 1
