"""``kubectl exec`` and ``kubectl attach`` for XE pods: an SSH CLI session into the app, bridged to AttachIO.

exec runs ``app-hosting connect appid ID session sh -c '<cmd>; printf "\\n@@CVK-RC=%s\\n" "$?"'`` in a
shell channel of its own. IOS-XE prints the command's output on the CLI channel and reports no exit
status, so the command is wrapped to print a marker line with ``$?``; the marker is cut from the
stream and becomes the exit code. The container therefore needs ``/bin/sh`` (IOx docker apps
normally have one). The CLI merges stderr into stdout. Without a TTY, the device's CRLF line ends
become LF.

attach runs ``app-hosting connect appid ID console``: the console output is streamed, stdin is
forwarded, and when the client's stdin ends three Ctrl-C (IOx's console escape) end the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shlex
from collections.abc import AsyncIterator

from cvk.driver.base import AttachIO, TermSize
from cvk.errors import DeviceRejected, DeviceUnreachable, InvalidInput
from cvk.transport.ssh import CliShell, SshCli, normalise_newlines

log = logging.getLogger("cvk.driver.xe.exec")

MARKER = b"@@CVK-RC="
START_PREFIX = "printf '@@CVK-START\\n'; "
_START = re.compile(rb"@@CVK-START\r?\n")
RC_SUFFIX = "; printf '\\n@@CVK-RC=%s\\n' \"$?\""
_MARKER_LINE = re.compile(rb"\r?\n@@CVK-RC=(\d+)\r?\n")
_APP_ID = re.compile(r"^[A-Za-z0-9_]{1,40}$")
CONSOLE_BANNER = re.compile(rb"Connected to appliance\. Exit using \^c\^c\^c\r?\n")
ECHO_TIMEOUT = 30.0


def session_command(appid: str, cmd: list[str]) -> str:
    """The CLI line of an exec into ``appid`` (one line: arguments may not contain line breaks)."""
    _check_appid(appid)
    if not cmd:
        raise InvalidInput("exec needs a command")
    if any(("\n" in a or "\r" in a) for a in cmd):
        raise InvalidInput("exec command arguments may not contain line breaks on IOS-XE (the CLI is line based)")
    script = START_PREFIX + shlex.join(cmd) + RC_SUFFIX
    return f"app-hosting connect appid {appid} session sh -c {shlex.quote(script)}"


def console_command(appid: str) -> str:
    _check_appid(appid)
    return f"app-hosting connect appid {appid} console"


def _check_appid(appid: str) -> None:
    if not _APP_ID.match(appid):
        raise InvalidInput(f"app id {appid!r} is not an IOx app id (letters, digits and _, at most 40)")


class _Stream:
    """Splits the session's bytes into app output, the exit marker and the returning CLI prompt.

    Bytes that may be the start of the marker line (including the newline printf puts before it) or of
    the prompt are held back until the next chunk shows what they are; everything else passes at once.
    """

    def __init__(self, prompt: bytes, *, with_marker: bool) -> None:
        self.prompt = prompt + b"#"
        self.with_marker = with_marker
        self.held = b""
        self.rc: int | None = None
        self.ended = False
        self._line_start = True

    def feed(self, data: bytes) -> bytes:
        """Return the bytes that are safe to pass on; sets ``rc``/``ended`` when the session is over."""
        buf = self.held + data
        self.held = b""
        if self.with_marker:
            m = _MARKER_LINE.search(buf)
            if m:
                self.rc = int(m.group(1))
                self.ended = True
                return buf[: m.start()]
        cut = buf.rfind(b"\n") + 1  # start of the last (unfinished) line
        last = buf[cut:] if cut or self._line_start else b""
        if last and re.fullmatch(re.escape(self.prompt) + rb" ?", last):
            self.ended = True
            return self._out(buf[:cut])
        if last and self.prompt.startswith(last):
            self.held = last
            return self._out(buf[:cut])
        if self.with_marker and cut:
            nl = cut - 1
            start = nl - 1 if nl > 0 and buf[nl - 1 : nl] == b"\r" else nl
            if last in (b"", b"\r") or MARKER.startswith(last) or re.fullmatch(rb"@@CVK-RC=\d*\r?", last):
                self.held = buf[start:]
                return self._out(buf[:start])
        return self._out(buf)

    def _out(self, out: bytes) -> bytes:
        if out:
            self._line_start = out.endswith(b"\n")
        return out

    def flush(self) -> bytes:
        held, self.held = self.held, b""
        return held


async def _wait_for_start(shell: CliShell, start: re.Pattern[bytes]) -> bytes:
    """Read until the app session announces itself (``start``); return what followed.

    Nothing is forwarded before that, so client stdin can never be typed into the device CLI. When the
    device answers with a prompt instead (``% Error ...``: app not running, no such app), raise.
    """
    buf = b""
    async with asyncio.timeout(ECHO_TIMEOUT):
        while True:
            m = start.search(buf)
            if m:
                return buf[m.end():]
            lines = normalise_newlines(buf).split(b"\n")
            if len(lines) > 1 and re.fullmatch(re.escape(shell.prompt) + rb"[#>] ?", lines[-1]):
                text = b"\n".join(lines[1:-1]).decode("utf-8", errors="replace").strip()
                message = text.lstrip("%").strip() or "no app session"
                raise DeviceRejected(f"device refused the app session: {message}", device_message=message)
            chunk = await shell.read()
            if not chunk:
                raise DeviceUnreachable("SSH session closed before the app session started")
            buf += chunk


async def _pump_stdin(
    shell: CliShell, stdin: AsyncIterator[bytes] | None, at_end: bytes, *, end_when_absent: bool
) -> None:
    if stdin is None:
        if end_when_absent:
            shell.write(at_end)  # exec without -i: the command reads end of input, as under the kubelet
        return
    async for data in stdin:
        if data:
            shell.write(data)
    shell.write(at_end)


async def _pump_resize(shell: CliShell, resize: AsyncIterator[TermSize] | None) -> None:
    if resize is None:
        return
    async for size in resize:
        shell.resize(size.width, size.height)


async def _bridge(ssh: SshCli, line: str, io: AttachIO, *, with_marker: bool, stdin_end: bytes) -> int | None:
    shell = await ssh.open_shell()
    helpers: list[asyncio.Task[None]] = []
    try:
        shell.write(line.encode() + b"\n")
        first = await _wait_for_start(shell, _START if with_marker else CONSOLE_BANNER)
        helpers = [
            asyncio.create_task(_pump_stdin(shell, io.stdin, stdin_end, end_when_absent=with_marker)),
            asyncio.create_task(_pump_resize(shell, io.resize)),
        ]
        stream = _Stream(shell.prompt, with_marker=with_marker)
        data = first
        while True:
            out = stream.feed(data)
            if out and io.stdout is not None:
                await io.stdout(out if io.tty else normalise_newlines(out))
            if stream.ended:
                break
            data = await shell.read()
            if not data:
                tail = stream.flush()
                if tail and io.stdout is not None:
                    await io.stdout(tail if io.tty else normalise_newlines(tail))
                break
        return stream.rc
    finally:
        for t in helpers:
            t.cancel()
        for t in helpers:
            with contextlib.suppress(BaseException):
                await t
        await shell.close()


async def exec_in_app(ssh: SshCli, appid: str, cmd: list[str], io: AttachIO) -> int:
    """Run ``cmd`` in the app over SSH, bridging ``io``; return its exit code.

    Raises DeviceRejected when the device refuses the session (app not running, no such app),
    DeviceUnreachable/DeviceAuthError when SSH fails. End of the client's stdin is sent as Ctrl-D.
    """
    line = session_command(appid, cmd)
    rc = await _bridge(ssh, line, io, with_marker=True, stdin_end=b"\x04")
    if rc is None:
        log.warning("exec ended without an exit status app=%s cmd=%s", appid, cmd[0])
        return 1
    return rc


async def attach_app(ssh: SshCli, appid: str, io: AttachIO) -> int:
    """Attach to the app's console over SSH; returns 0 when the console session ends."""
    await _bridge(ssh, console_command(appid), io, with_marker=False, stdin_end=b"\x03\x03\x03")
    return 0
