"""SPDY/3.1 framing and a server-side connection, enough for Kubernetes' streaming protocols.

Kubernetes (kubectl up to 1.29, the API server's stream translator, client-go's SPDY executor)
multiplexes exec, attach and port-forward channels over SPDY/3.1 after an HTTP ``Upgrade:
SPDY/3.1``. The client opens one stream per channel with SYN_STREAM (headers such as
``streamtype: stdout``); the server answers each with SYN_REPLY, then both sides exchange DATA
frames and half-close with FLAG_FIN. Header blocks are zlib-compressed with the SPDY/3 dictionary,
one compression context per direction for the whole connection. PING frames from the client are
echoed; GOAWAY ends the connection. Flow control (WINDOW_UPDATE) is accepted and ignored, like
Go's spdystream does.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import zlib
from collections.abc import Awaitable, Callable

from cvk.kubelet.remotecommand import ByteQueue

log = logging.getLogger(__name__)

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL, INTERNAL_ERROR = 1, 2, 3, 5, 6
STREAM_IN_USE = 8
GOAWAY_OK, GOAWAY_PROTOCOL_ERROR = 0, 1

MAX_DATA_CHUNK = 32 * 1024
MAX_HEADER_BLOCK = 1 << 20  # decompressed
PAUSE_READING_AT = 1 << 20  # buffered inbound bytes
RESUME_READING_AT = 256 << 10

_DICT_WORDS = (
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
    "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
    "content-base", "content-encoding", "content-language", "content-length", "content-location",
    "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
    "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
    "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization",
    "range", "referer", "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
    "user-agent", "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK",
    "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
)
_DICT_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
# The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): length-prefixed words + tail.
HEADER_DICTIONARY = (
    b"".join(struct.pack(">I", len(w)) + w.encode("ascii") for w in _DICT_WORDS) + _DICT_TAIL.encode("ascii")
)


class SpdyProtocolError(Exception):
    pass


# ---- framing ------------------------------------------------------------------------------
def control_frame(frame_type: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, frame_type, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(payload)) + payload


def encode_header_block(headers: dict[str, str]) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        n = name.lower().encode()
        v = value.encode()
        out.append(struct.pack(">I", len(n)) + n + struct.pack(">I", len(v)) + v)
    return b"".join(out)


def decode_header_block(block: bytes) -> dict[str, str]:
    """Names are lower-cased; several values of one name (NUL-separated) are joined with ", "."""
    try:
        (count,) = struct.unpack_from(">I", block, 0)
        pos = 4
        headers: dict[str, str] = {}
        for _ in range(count):
            (n_len,) = struct.unpack_from(">I", block, pos)
            pos += 4
            name = block[pos:pos + n_len].decode("utf-8").lower()
            pos += n_len
            (v_len,) = struct.unpack_from(">I", block, pos)
            pos += 4
            value = block[pos:pos + v_len].decode("utf-8")
            pos += v_len
            if len(name) != n_len or pos > len(block):
                raise SpdyProtocolError("truncated SPDY header block")
            headers[name] = ", ".join(value.split("\x00"))
    except (struct.error, UnicodeDecodeError) as e:
        raise SpdyProtocolError(f"malformed SPDY header block: {e}") from e
    return headers


class HeaderCompressor:
    def __init__(self) -> None:
        self._z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8,
                                   zlib.Z_DEFAULT_STRATEGY, HEADER_DICTIONARY)

    def compress(self, headers: dict[str, str]) -> bytes:
        block = encode_header_block(headers)
        return self._z.compress(block) + self._z.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    def __init__(self) -> None:
        self._z = zlib.decompressobj(zdict=HEADER_DICTIONARY)

    def decompress(self, data: bytes) -> dict[str, str]:
        try:
            block = self._z.decompress(data, MAX_HEADER_BLOCK)
        except zlib.error as e:
            raise SpdyProtocolError(f"cannot decompress SPDY header block: {e}") from e
        if self._z.unconsumed_tail:
            raise SpdyProtocolError("SPDY header block too large")
        return decode_header_block(block)


class FrameReader:
    """Splits a byte stream into SPDY frames: (is_control, type_or_stream_id, flags, payload)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[bool, int, int, bytes]]:
        self._buf += data
        frames: list[tuple[bool, int, int, bytes]] = []
        while len(self._buf) >= 8:
            first, flags_len = struct.unpack_from(">II", self._buf, 0)
            length = flags_len & 0xFFFFFF
            if len(self._buf) < 8 + length:
                break
            payload = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            flags = flags_len >> 24
            if first & 0x80000000:
                version = (first >> 16) & 0x7FFF
                if version != VERSION:
                    raise SpdyProtocolError(f"unsupported SPDY version {version}")
                frames.append((True, first & 0xFFFF, flags, payload))
            else:
                frames.append((False, first & 0x7FFFFFFF, flags, payload))
        return frames


# ---- server connection --------------------------------------------------------------------
class SpdyStream:
    """One client-opened stream. ``data`` yields what the client sends until it half-closes."""

    def __init__(self, conn: SpdyConnection, stream_id: int, headers: dict[str, str]) -> None:
        self.conn = conn
        self.id = stream_id
        self.headers = headers
        self.data = ByteQueue()
        self.local_closed = False
        self.remote_closed = False
        self.reset_received = False

    @property
    def stream_type(self) -> str:
        return self.headers.get("streamtype", "")

    async def write(self, data: bytes) -> None:
        if self.local_closed:
            raise ConnectionResetError(f"SPDY stream {self.id} is closed")
        for i in range(0, len(data), MAX_DATA_CHUNK):
            await self.conn.send(data_frame(self.id, 0, data[i:i + MAX_DATA_CHUNK]))

    async def close(self) -> None:
        """Half-close our side (DATA with FLAG_FIN)."""
        if not self.local_closed:
            self.local_closed = True
            await self.conn.send(data_frame(self.id, FLAG_FIN, b""))

    def reset(self, status: int = CANCEL) -> None:
        if not (self.local_closed and self.remote_closed):
            self.conn.send_nowait(control_frame(RST_STREAM, 0, struct.pack(">II", self.id, status)))
        self.local_closed = self.remote_closed = True
        self.data.close()

    def _remote_fin(self) -> None:
        self.remote_closed = True
        self.data.close()


class SpdyConnection:
    """The server side of one SPDY/3.1 connection.

    Plug it into a transport with ``feed_data``/``feed_eof`` (aiohttp's upgraded-connection parser
    interface) and give it two ways to write whole frames: ``write`` (sync, for replies made while
    parsing) and ``write_async`` (waits while the transport is over its high-water mark).
    ``on_stream`` decides about each new stream: True accepts it (SYN_REPLY), False refuses it
    (RST_STREAM REFUSED_STREAM).
    """

    def __init__(
        self,
        write: Callable[[bytes], None],
        write_async: Callable[[bytes], Awaitable[None]],
        on_stream: Callable[[SpdyStream], bool],
        *,
        pause_reading: Callable[[], None] | None = None,
        resume_reading: Callable[[], None] | None = None,
    ) -> None:
        self._write = write
        self._write_async = write_async
        self._on_stream = on_stream
        self._pause_reading = pause_reading
        self._resume_reading = resume_reading
        self._reader = FrameReader()
        self._inflate = HeaderDecompressor()
        self._deflate = HeaderCompressor()
        self._streams: dict[int, SpdyStream] = {}
        self._last_stream_id = 0
        self._paused = False
        self.closed = asyncio.Event()
        self.goaway_sent = False
        self.last_activity = asyncio.get_running_loop().time()

    # -- aiohttp parser interface
    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self.closed.is_set():
            return True, b""
        self.last_activity = asyncio.get_running_loop().time()
        try:
            for is_control, kind, flags, payload in self._reader.feed(data):
                if is_control:
                    self._control(kind, flags, payload)
                else:
                    self._data(kind, flags, payload)
        except SpdyProtocolError as e:
            log.warning("SPDY protocol error, closing connection error=%r", str(e))
            self._goaway(GOAWAY_PROTOCOL_ERROR)
            self._lost()
            return True, b""
        self._apply_backpressure()
        return False, b""

    def feed_eof(self) -> None:
        self._lost()

    # -- sending
    def send_nowait(self, frame: bytes) -> None:
        if not self.closed.is_set():
            self._write(frame)

    async def send(self, frame: bytes) -> None:
        if self.closed.is_set():
            raise ConnectionResetError("SPDY connection closed")
        self.last_activity = asyncio.get_running_loop().time()
        await self._write_async(frame)

    def goaway(self) -> None:
        self._goaway(GOAWAY_OK)

    def _goaway(self, status: int) -> None:
        if not self.goaway_sent and not self.closed.is_set():
            self.goaway_sent = True
            self._write(control_frame(GOAWAY, 0, struct.pack(">II", self._last_stream_id, status)))

    def _lost(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            for stream in self._streams.values():
                stream.local_closed = True
                stream._remote_fin()

    # -- inbound frames
    def _control(self, frame_type: int, flags: int, payload: bytes) -> None:
        if frame_type == SYN_STREAM:
            self._syn_stream(flags, payload)
        elif frame_type == RST_STREAM:
            if len(payload) != 8:
                raise SpdyProtocolError("invalid RST_STREAM frame")
            stream_id, status = struct.unpack(">II", payload)
            stream = self._streams.get(stream_id & 0x7FFFFFFF)
            if stream is not None:
                log.debug("SPDY stream reset by client stream=%d status=%d", stream.id, status)
                stream.reset_received = True
                stream.local_closed = True
                stream._remote_fin()
        elif frame_type == PING:
            if len(payload) != 4:
                raise SpdyProtocolError("invalid PING frame")
            (ping_id,) = struct.unpack(">I", payload)
            if ping_id % 2 == 1:  # the client's ping: echo it; even ids would be answers to ours
                self.send_nowait(control_frame(PING, 0, payload))
        elif frame_type == GOAWAY:
            log.debug("SPDY GOAWAY from client")
            self._lost()
        elif frame_type == HEADERS:
            if len(payload) < 4:
                raise SpdyProtocolError("invalid HEADERS frame")
            self._inflate.decompress(payload[4:])  # keeps the shared zlib context in step
        elif frame_type == SYN_REPLY:
            if len(payload) < 4:
                raise SpdyProtocolError("invalid SYN_REPLY frame")
            self._inflate.decompress(payload[4:])
        # SETTINGS, WINDOW_UPDATE and unknown control frames are ignored (spdystream does the same)

    def _syn_stream(self, flags: int, payload: bytes) -> None:
        if len(payload) < 10:
            raise SpdyProtocolError("invalid SYN_STREAM frame")
        (stream_id,) = struct.unpack_from(">I", payload, 0)
        stream_id &= 0x7FFFFFFF
        headers = self._inflate.decompress(payload[10:])
        if stream_id % 2 == 0 or stream_id <= self._last_stream_id:
            self.send_nowait(control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, PROTOCOL_ERROR)))
            return
        self._last_stream_id = stream_id
        if self.goaway_sent:
            self.send_nowait(control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, REFUSED_STREAM)))
            return
        stream = SpdyStream(self, stream_id, headers)
        if flags & FLAG_FIN:
            stream._remote_fin()
        if flags & FLAG_UNIDIRECTIONAL:
            stream.local_closed = True
        if not self._on_stream(stream):
            self.send_nowait(control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, REFUSED_STREAM)))
            return
        self._streams[stream_id] = stream
        reply = struct.pack(">I", stream_id) + self._deflate.compress({})
        self.send_nowait(control_frame(SYN_REPLY, 0, reply))

    def _data(self, stream_id: int, flags: int, payload: bytes) -> None:
        stream = self._streams.get(stream_id)
        if stream is None or stream.remote_closed:
            if stream is None or not stream.reset_received:
                self.send_nowait(control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, INVALID_STREAM)))
            return
        stream.data.put(payload)
        if flags & FLAG_FIN:
            stream._remote_fin()

    def _apply_backpressure(self) -> None:
        if self._pause_reading is None or self._paused:
            return
        for stream in self._streams.values():
            if stream.data.buffered > PAUSE_READING_AT:
                self._paused = True
                self._pause_reading()
                asyncio.get_running_loop().create_task(self._resume_when_drained(stream))
                return

    async def _resume_when_drained(self, stream: SpdyStream) -> None:
        closed = asyncio.ensure_future(self.closed.wait())
        drained = asyncio.ensure_future(stream.data.wait_below(RESUME_READING_AT))
        try:
            await asyncio.wait({closed, drained}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            drained.cancel()
        self._paused = False
        if self._resume_reading is not None and not self.closed.is_set():
            self._resume_reading()
        self._apply_backpressure()
