"""A small SPDY/3.1 client for the tests: the HTTP upgrade plus streams, like client-go's executor.

It reuses cisco-vk's frame codec (cvk.kubelet.spdy); interoperability with Go's implementation is
covered by the end-to-end tests with real kubectl.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from dataclasses import dataclass, field

from cvk.kubelet import spdy


@dataclass
class ClientStream:
    id: int
    replied: asyncio.Event = field(default_factory=asyncio.Event)
    data: bytearray = field(default_factory=bytearray)
    fin: asyncio.Event = field(default_factory=asyncio.Event)
    reset: int | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class SpdyClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.streams: dict[int, ClientStream] = {}
        self.next_id = 1
        self.pongs: list[int] = []
        self.goaway = asyncio.Event()
        self.eof = asyncio.Event()
        self._deflate = spdy.HeaderCompressor()
        self._inflate = spdy.HeaderDecompressor()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        port: int,
        path: str,
        protocols: list[str],
        *,
        ssl_context: ssl.SSLContext,
        method: str = "POST",
        extra_headers: dict[str, str] | None = None,
    ) -> SpdyClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl_context)
        sock = writer.get_extra_info("socket")
        if sock is not None:  # like Go's net package: no Nagle delay on small frames
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: Upgrade",
                 "Upgrade: SPDY/3.1", "Content-Length: 0"]
        lines += [f"X-Stream-Protocol-Version: {p}" for p in protocols]
        lines += [f"{k}: {v}" for k, v in (extra_headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        c = cls(reader, writer)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode().split("\r\n")
        c.status = int(status_line.split()[1])
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                c.headers[k.strip().lower()] = v.strip()
        if c.status != 101:
            length = int(c.headers.get("content-length", "0"))
            c.body = await reader.readexactly(length) if length else b""
            writer.close()
            return c
        c._task = asyncio.ensure_future(c._read_loop())
        return c

    async def _read_loop(self) -> None:
        frames = spdy.FrameReader()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                for is_control, kind, flags, payload in frames.feed(data):
                    self._dispatch(is_control, kind, flags, payload)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            self.eof.set()
            for s in self.streams.values():
                s.fin.set()
                s.changed.set()

    def _dispatch(self, is_control: bool, kind: int, flags: int, payload: bytes) -> None:
        if not is_control:
            s = self.streams[kind]
            s.data += payload
            if flags & spdy.FLAG_FIN:
                s.fin.set()
            s.changed.set()
            return
        if kind == spdy.SYN_REPLY:
            (sid,) = struct.unpack_from(">I", payload)
            self._inflate.decompress(payload[4:])
            self.streams[sid].replied.set()
        elif kind == spdy.RST_STREAM:
            sid, code = struct.unpack(">II", payload)
            s = self.streams[sid]
            s.reset = code
            s.replied.set()
            s.fin.set()
            s.changed.set()
        elif kind == spdy.PING:
            self.pongs.append(struct.unpack(">I", payload)[0])
        elif kind == spdy.GOAWAY:
            self.goaway.set()

    async def open_stream(self, headers: dict[str, str], *, wait: bool = True) -> ClientStream:
        sid = self.next_id
        self.next_id += 2
        s = ClientStream(sid)
        self.streams[sid] = s
        payload = struct.pack(">IIBB", sid, 0, 0, 0) + self._deflate.compress(headers)
        self.writer.write(spdy.control_frame(spdy.SYN_STREAM, 0, payload))
        await self.writer.drain()
        if wait:
            await asyncio.wait_for(s.replied.wait(), 10)
        return s

    async def send(self, s: ClientStream, data: bytes, *, fin: bool = False) -> None:
        self.writer.write(spdy.data_frame(s.id, spdy.FLAG_FIN if fin else 0, data))
        await self.writer.drain()

    async def ping(self, ping_id: int) -> None:
        self.writer.write(spdy.control_frame(spdy.PING, 0, struct.pack(">I", ping_id)))
        await self.writer.drain()

    async def read_until(self, s: ClientStream, want: bytes) -> bytes:
        async def wait() -> None:
            while want not in s.data:
                if s.fin.is_set():
                    raise AssertionError(f"stream {s.id} ended with {bytes(s.data)!r}, wanted {want!r}")
                s.changed.clear()
                await s.changed.wait()

        await asyncio.wait_for(wait(), 10)
        return bytes(s.data)

    async def read_all(self, s: ClientStream) -> bytes:
        await asyncio.wait_for(s.fin.wait(), 10)
        return bytes(s.data)

    async def close(self) -> None:
        self.writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
