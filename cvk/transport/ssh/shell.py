"""One interactive IOS-XE exec shell on an SSH channel: prompt detection, echo removal, CRLF.

IOS-XE's CLI has no framing: a command's output ends where the next prompt (``hostname#``) starts,
and the device echoes what we type. ``CliShell`` turns that into ``command -> text``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re

import asyncssh

from cvk.errors import DeviceRejected, DeviceUnreachable

# "sim-c8000v#", "Router>", "switch(config)#"; anchored at the end of the buffer.
_ANY_PROMPT = re.compile(rb"(?:^|\n)([A-Za-z0-9][A-Za-z0-9_.\-/:]*)(\([A-Za-z0-9_\-]+\))?([#>]) ?$")
_ERROR_LINE = re.compile(r"^\s*% ?(Invalid input|Incomplete command|Ambiguous command|Error|Unknown command)", re.M)


@dataclasses.dataclass(frozen=True)
class CliOutput:
    """What one command printed (CRLF normalised to LF, echo and prompt removed)."""

    text: str
    truncated: bool = False  # more than the configured bound was printed; the rest was discarded

    @property
    def rejected(self) -> bool:
        """IOS answered with an error marker (``% Invalid input ...``)."""
        return _ERROR_LINE.search(self.text) is not None

    def check(self, command: str) -> CliOutput:
        """Raise DeviceRejected when IOS answered with an error marker (``% Invalid input ...``)."""
        m = _ERROR_LINE.search(self.text)
        if m:
            line = self.text[m.start():].strip().splitlines()[0]
            raise DeviceRejected(f"device refused {command.split()[0]!r}: {line}", device_message=line)
        return self


def normalise_newlines(data: bytes) -> bytes:
    """CRLF (and the CR CR LF some IOS builds send) become LF; stray CRs are dropped."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"")


class CliShell:
    """An interactive shell channel (with a PTY) that is at the exec prompt when idle."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes], *, max_output: int) -> None:
        self.process = process
        self.max_output = max_output
        self.prompt: bytes = b""  # the hostname part, learned from the first prompt
        self._buf = bytearray()

    @property
    def closed(self) -> bool:
        return self.process.is_closing() or self.process.stdout.at_eof()

    async def _read_chunk(self, limit: float) -> bytes:
        try:
            async with asyncio.timeout(limit):
                data = await self.process.stdout.read(65536)
        except (asyncssh.Error, OSError) as e:
            raise DeviceUnreachable(f"SSH session lost: {e}") from e
        if not data:
            raise DeviceUnreachable("SSH session closed by the device")
        return data

    def _prompt_at_end(self) -> re.Match[bytes] | None:
        m = _ANY_PROMPT.search(bytes(self._buf[-200:]))
        if m is None:
            return None
        if self.prompt and m.group(1) != self.prompt:
            return None
        return m

    async def wait_prompt(self, limit: float) -> bytes:
        """Read until the buffer ends with a prompt; return everything before it and learn the hostname."""
        async with asyncio.timeout(limit):
            while True:
                m = self._prompt_at_end()
                if m is not None:
                    break
                self._buf += await self._read_chunk(limit)
        tail = bytes(self._buf[-200:])
        start = len(self._buf) - len(tail) + m.start()
        if tail[m.start():m.start() + 1] == b"\n":
            start += 1
        before = bytes(self._buf[:start])
        if not self.prompt:
            self.prompt = m.group(1)
        self._buf.clear()
        return before

    async def run(self, command: str, limit: float) -> CliOutput:
        """Send one command line and collect its output up to the next prompt."""
        if "\n" in command or "\r" in command:
            raise ValueError("a CLI command is one line")
        self._buf.clear()
        self.process.stdin.write(command.encode() + b"\n")
        kept = bytearray()
        truncated = False
        async with asyncio.timeout(limit):
            while True:
                m = self._prompt_at_end()
                if m is not None:
                    break
                chunk = await self._read_chunk(limit)
                self._buf += chunk
                # Keep memory bounded: move everything but a prompt-sized tail into `kept`.
                if len(self._buf) > 4096:
                    head = bytes(self._buf[:-256])
                    del self._buf[:-256]
                    room = self.max_output + len(command) + 2 - len(kept)
                    if room > 0:
                        kept += head[:room]
                    truncated = truncated or len(head) > room
        rest = await self.wait_prompt(1.0)
        room = self.max_output + len(command) + 2 - len(kept)
        if room > 0:
            kept += rest[:room]
        truncated = truncated or len(rest) > max(room, 0)
        text = normalise_newlines(bytes(kept)).decode("utf-8", errors="replace")
        first, nl, remainder = text.partition("\n")
        if first.strip() == command.strip() or first.endswith(command):
            text = remainder if nl else ""
        if len(text.encode()) > self.max_output:
            text = text.encode()[: self.max_output].decode("utf-8", errors="ignore")
            truncated = True
        return CliOutput(text, truncated)

    def write(self, data: bytes) -> None:
        self.process.stdin.write(data)

    async def read(self) -> bytes:
        """Raw bytes as they come (for bridged sessions); b"" at end of stream."""
        if self._buf:
            data = bytes(self._buf)
            self._buf.clear()
            return data
        try:
            return await self.process.stdout.read(65536)
        except (asyncssh.Error, OSError) as e:
            raise DeviceUnreachable(f"SSH session lost: {e}") from e

    def unread(self, data: bytes) -> None:
        self._buf[:0] = data

    def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            self.process.change_terminal_size(width, height)

    async def close(self) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            self.process.stdin.write(b"exit\n")
        self.process.close()
        with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
            async with asyncio.timeout(2):
                await self.process.wait_closed()
