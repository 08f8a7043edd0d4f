"""The simulator's SSH server: the IOS-XE exec CLI subset cisco-vk uses, on the shared DeviceState.

Commands: ``terminal length N``, ``terminal width N``, ``show version``, ``show app-hosting list``,
``show app-hosting detail [appid ID]``, ``dir FS:``, ``more FS:FILE``, ``delete [/force] FS:FILE``,
``app-hosting connect appid ID session [CMD...]``, ``app-hosting connect appid ID console``,
``exit``/``logout``. Anything else gets IOS's ``% Invalid input detected at '^' marker.``

Like a device, the server echoes what is typed when the client asked for a PTY, ends lines with CRLF
and prints ``HOSTNAME#`` as the prompt. An exec request (``ssh dev 'show version'``) runs one command.

Inside ``app-hosting connect ... session CMD`` the command runs in the simulated container with the
FAKE driver's small shell (echo, cat, env, hostname, true, false, exit N, sh -c); the session is raw
(no echo, no line editing), Ctrl-D ends the command's stdin. ``console`` prints the app's log and
follows it; three Ctrl-C end it. Every command line received is recorded in ``handle.commands``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import secrets
import shlex
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncssh

from cvk.driver.base import AttachIO
from cvk.driver.fake.shell import Container, run_command
from hack.iosxe_sim.state import RUNNING, DeviceState, normalise_file

log = logging.getLogger("iosxe_sim.ssh")

RC_MARKER = re.compile(r"^printf '@@CVK-START\\n'; (?P<inner>.*); printf '\\n@@CVK-RC=%s\\n' \"\$\?\"$", re.S)
FILESYSTEMS = ("bootflash:", "flash:", "harddisk:", "usbflash0:", "usbflash1:")


@dataclasses.dataclass
class SshHandle:
    port: int
    known_hosts_line: str
    server: asyncssh.SSHAcceptor
    commands: list[str] = dataclasses.field(default_factory=list)
    sessions: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        for t in list(self.sessions):
            t.cancel()
        for t in list(self.sessions):
            with contextlib.suppress(BaseException):
                await t


class _Auth(asyncssh.SSHServer):
    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return secrets.compare_digest(username, self.username) and secrets.compare_digest(password, self.password)


class Terminal:
    """Byte-level line discipline: echo (with a PTY), backspace, Ctrl-C, raw reads for app sessions."""

    def __init__(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.process = process
        self.echo = process.get_terminal_type() is not None
        self.pending = bytearray()
        self.eof = False
        self._skip_lf = False

    def write(self, data: bytes) -> None:
        if not self.process.is_closing():
            self.process.stdout.write(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    def write_raw(self, data: bytes) -> None:
        if not self.process.is_closing():
            self.process.stdout.write(data)

    async def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            data = await self.process.stdin.read(65536)
        except (asyncssh.Error, OSError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.pending += data
        return True

    async def readline(self) -> str | None:
        line = bytearray()
        while True:
            if not self.pending and not await self._fill():
                return None
            b = self.pending[0]
            del self.pending[0]
            if self._skip_lf and b == 0x0A:
                self._skip_lf = False
                continue
            self._skip_lf = False
            if b in (0x0D, 0x0A):
                self._skip_lf = b == 0x0D
                if self.echo:
                    self.write_raw(b"\r\n")
                return line.decode("utf-8", errors="replace")
            if b in (0x08, 0x7F):
                if line:
                    del line[-1]
                    if self.echo:
                        self.write_raw(b"\b \b")
                continue
            if b == 0x03:
                line.clear()
                if self.echo:
                    self.write_raw(b"^C\r\n")
                return ""
            if b == 0x04 and not line:
                return None
            line.append(b)
            if self.echo:
                self.write_raw(bytes([b]))

    async def read_raw(self) -> bytes:
        if not self.pending and not await self._fill():
            return b""
        if self._skip_lf and self.pending[:1] == b"\n":
            del self.pending[0]
        self._skip_lf = False
        data = bytes(self.pending)
        self.pending.clear()
        return data


class Cli:
    """One CLI session on the device."""

    def __init__(self, state: DeviceState, term: Terminal, handle: SshHandle) -> None:
        self.state = state
        self.term = term
        self.handle = handle
        self.length = 24

    @property
    def prompt(self) -> bytes:
        with self.state.lock:
            return f"{self.state.hostname}#".encode()

    async def interact(self) -> None:
        self.term.write(b"\r\n")
        while True:
            self.term.write_raw(self.prompt)
            line = await self.term.readline()
            if line is None:
                return
            if not await self.execute(line):
                return

    async def execute(self, line: str) -> bool:
        """Run one command line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        self.handle.commands.append(line)
        words = line.split()
        low = [w.lower() for w in words]
        if low[0] in ("exit", "logout", "quit"):
            return False
        try:
            await self._dispatch(words, low, line)
        except (asyncssh.Error, OSError):
            return False
        return True

    async def _dispatch(self, words: list[str], low: list[str], line: str) -> None:
        w = self.term.write
        if low[:2] == ["terminal", "length"] and len(low) == 3 and low[2].isdigit():
            self.length = int(low[2])
        elif low[:2] == ["terminal", "width"] and len(low) == 3 and low[2].isdigit():
            pass
        elif low[:2] in (["show", "version"], ["sh", "ver"]):
            w(self._show_version().encode())
        elif low[:3] == ["show", "app-hosting", "list"]:
            w(self._app_list().encode())
        elif low[:3] == ["show", "app-hosting", "detail"]:
            app_id = words[4] if len(low) >= 5 and low[3] == "appid" else None
            w(self._app_detail(app_id).encode())
        elif low[0] == "dir" and len(words) <= 2:
            w(self._dir(words[1] if len(words) == 2 else "bootflash:").encode())
        elif low[0] == "more" and len(words) == 2:
            await self._more(words[1])
        elif low[0] == "delete" and len(words) in (2, 3):
            await self._delete(words[-1], force=len(words) == 3 and low[1] == "/force")
        elif low[:4] == ["app-hosting", "connect", "appid", words[3].lower() if len(words) > 3 else ""] and len(
            words
        ) >= 5:
            await self._connect(words[3], low[4], line)
        else:
            self._invalid(line, words)

    def _invalid(self, line: str, words: list[str]) -> None:
        col = len(self.prompt) + (line.find(words[-1]) if len(words) > 1 else 0)
        self.term.write(b" " * col + b"^\n% Invalid input detected at '^' marker.\n\n")

    # ---- show --------------------------------------------------------------------------------
    def _show_version(self) -> str:
        with self.state.lock:
            p = self.state.platform
            host = self.state.hostname
            boot = self.state.boot_time
        return (
            f"{p.software_version}\nTechnical Support: http://www.cisco.com/techsupport\n"
            f"ROM: {p.rommon_version}\n\n{host} uptime is since {boot}\n"
            f"System image file is \"bootflash:packages.conf\"\n\n"
            f"cisco {p.model} ({p.description}) processor\nProcessor board ID {p.serial}\n"
        )

    def _app_list(self) -> str:
        with self.state.lock:
            rows = [(a.app_id, a.state) for a in self.state.apps.values() if a.installed]
        if not rows:
            return "No App found\n"
        out = f"{'App id':<41}State\n" + "-" * 57 + "\n"
        return out + "".join(f"{app:<41}{st}\n" for app, st in sorted(rows))

    def _app_detail(self, app_id: str | None) -> str:
        with self.state.lock:
            apps = [a for a in self.state.apps.values() if a.installed and (app_id is None or a.app_id == app_id)]
            if not apps:
                return f"% Error: App {app_id} not found\n" if app_id else "No App found\n"
            parts = []
            for a in apps:
                prof = a.profile()
                parts.append(
                    f"App id                 : {a.app_id}\nOwner                  : iox\n"
                    f"State                  : {a.state}\nApplication\n  Type                 : docker\n"
                    f"  Path                 : {a.package}\n"
                    f"Activated profile name : custom\nResource reservation\n"
                    f"  Memory               : {prof['memory']} MB\n  Disk                 : {prof['disk']} MB\n"
                    f"  CPU                  : {prof['cpu']} units\n  VCPU                 : {prof['vcpu']}\n"
                    + "".join(f"  eth{i.guest_index}: {i.attachment} {i.ip or '0.0.0.0'} {i.mac}\n"
                              for i in a.interfaces)
                )
        return "\n".join(parts)

    # ---- files -------------------------------------------------------------------------------
    @staticmethod
    def _fs_path(path: str) -> str | None:
        if not path.lower().startswith(FILESYSTEMS):
            return None
        try:
            return normalise_file(path)
        except ValueError:
            return None

    def _dir(self, target: str) -> str:
        key = self._fs_path(target if ":" in target else target + ":")
        if key is None:
            return f"%Error opening {target} (Invalid argument)\n"
        fs, _, prefix = key.partition(":")
        prefix = prefix.rstrip("/") + "/"
        with self.state.lock:
            files = sorted((k, len(v)) for k, v in self.state.files.items() if k.startswith(f"{fs}:{prefix}"))
        stamp = datetime.now(UTC).strftime("%b %d %Y %H:%M:%S +00:00")
        lines = [f"Directory of {fs}:{prefix}\n\n"]
        for n, (k, size) in enumerate(files, start=11):
            lines.append(f"{n:>7}  -rw-  {size:>12}  {stamp}  {k.split(':', 1)[1][len(prefix):]}\n")
        if not files:
            lines.append("No files in directory\n")
        total = 8_000_000_000
        used = sum(s for _, s in files)
        lines.append(f"\n{total} bytes total ({total - used} bytes free)\n")
        return "".join(lines)

    async def _more(self, path: str) -> None:
        key = self._fs_path(path)
        with self.state.lock:
            data = self.state.files.get(key) if key else None
        if data is None:
            self.term.write(f"%Error opening {path} (No such file or directory)\n".encode())
            return
        if self.length == 0:
            self.term.write(data if data.endswith(b"\n") or not data else data + b"\n")
            await self.term.process.stdout.drain()
            return
        # Paging, as IOS does when "terminal length 0" was not sent.
        lines = data.splitlines(keepends=True)
        for i in range(0, len(lines), self.length - 1):
            self.term.write(b"".join(lines[i : i + self.length - 1]))
            if i + self.length - 1 < len(lines):
                self.term.write_raw(b" --More-- ")
                key_in = await self.term.read_raw()
                self.term.write_raw(b"\r          \r")
                if not key_in or key_in[:1] in (b"q", b"Q", b"\x03"):
                    return

    async def _delete(self, path: str, *, force: bool) -> None:
        key = self._fs_path(path)
        if not force:
            self.term.write_raw(f"Delete filename [{path.split(':', 1)[-1].lstrip('/')}]? ".encode())
            if await self.term.readline() is None:
                return
            self.term.write_raw(f"Delete {key or path}? [confirm]".encode())
            answer = await self.term.readline()
            if answer is None or answer.strip().lower() not in ("", "y", "yes"):
                return
        if key is None or not self.state.delete_file(key):
            self.term.write(f"%Error deleting {path} (No such file or directory)\n".encode())

    # ---- app sessions ------------------------------------------------------------------------
    async def _connect(self, app_id: str, mode: str, line: str) -> None:
        app = self.state.app(app_id)
        with self.state.lock:
            running = app is not None and app.state == RUNNING
            state = app.state if app is not None else ""
            ip = next((i.ip for i in app.interfaces if i.ip), None) if app is not None else None
        if not running:
            self.term.write(
                f"% Error: App {app_id} is not running (state {state or 'NOT INSTALLED'})\n".encode()
            )
            return
        if mode == "console":
            await self._console(app_id)
            return
        if mode != "session":
            self._invalid(line, line.split())
            return
        rest = line.split(None, 5)[5] if len(line.split(None, 5)) > 5 else ""
        ctr = Container(hostname=app_id, env=[], pod_ip=ip, command=[])
        if not rest:
            await self._app_shell(ctr)
            return
        try:
            argv = shlex.split(rest)
        except ValueError:
            self.term.write(b"sh: syntax error: unterminated quoted string\n")
            return
        marker = None
        if len(argv) == 3 and argv[0] in ("sh", "/bin/sh") and argv[1] == "-c":
            m = RC_MARKER.match(argv[2])
            if m:
                marker = True
                self.term.write(b"@@CVK-START\n")
                try:
                    argv = shlex.split(m.group("inner"))
                except ValueError:
                    argv = ["sh", "-c", m.group("inner")]
        rc = await self._run_in_app(ctr, argv)
        if marker:
            self.term.write(f"\n@@CVK-RC={rc}\n".encode())

    async def _run_in_app(self, ctr: Container, argv: list[str]) -> int:
        term = self.term

        async def stdin() -> AsyncIterator[bytes]:
            while True:
                data = await term.read_raw()
                if not data:
                    return
                eof = data.find(b"\x04")
                if eof >= 0:
                    if data[:eof]:
                        yield data[:eof]
                    term.pending[:0] = data[eof + 1 :]
                    return
                yield data

        async def out(data: bytes) -> None:
            term.write(data)
            await term.process.stdout.drain()

        io = AttachIO(stdin=stdin(), stdout=out, stderr=out, tty=False)
        return await run_command(ctr, argv, io)

    async def _app_shell(self, ctr: Container) -> None:
        while True:
            self.term.write_raw(b"/ # ")
            line = await self.term.readline()
            if line is None or line.strip() == "exit":
                return
            if not line.strip():
                continue
            try:
                argv = shlex.split(line)
            except ValueError:
                self.term.write(b"sh: syntax error\n")
                continue
            await self._run_in_app(ctr, argv)

    async def _console(self, app_id: str) -> None:
        q = self.state.subscribe()
        try:
            self.term.write(b"Connected to appliance. Exit using ^c^c^c\n")
            with self.state.lock:
                app = self.state.apps.get(app_id)
                lines = list(app.log_lines) if app is not None else []
            for ln in lines:
                self.term.write(ln.encode() + b"\n")
            ctrl_c = 0
            reader = asyncio.ensure_future(self.term.read_raw())
            getter = asyncio.ensure_future(q.get())
            try:
                while True:
                    done, _ = await asyncio.wait({reader, getter}, return_when=asyncio.FIRST_COMPLETED)
                    if getter in done:
                        ev = getter.result()
                        if ev.kind == "app-log" and ev.app_id == app_id:
                            self.term.write(ev.detail.encode() + b"\n")
                        getter = asyncio.ensure_future(q.get())
                    if reader in done:
                        data = reader.result()
                        if not data:
                            return
                        ctrl_c = ctrl_c + data.count(b"\x03") if set(data) <= {3} else data.count(b"\x03")
                        if ctrl_c >= 3:
                            return
                        self.term.write_raw(data.replace(b"\x03", b"^C"))
                        reader = asyncio.ensure_future(self.term.read_raw())
            finally:
                reader.cancel()
                getter.cancel()
        finally:
            self.state.unsubscribe(q)
            self.term.write(b"\n")


async def start_ssh(state: DeviceState, host: str, port: int, *, username: str, password: str) -> SshHandle:
    """Listen on ``host:port`` (0 = free port). The host key is new for every start."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    handle_ref: list[SshHandle] = []

    async def session(process: asyncssh.SSHServerProcess[bytes]) -> None:
        handle = handle_ref[0]
        task = asyncio.current_task()
        assert task is not None
        handle.sessions.add(task)
        term = Terminal(process)
        cli = Cli(state, term, handle)
        try:
            if process.command:
                cli.length = 0
                await cli.execute(process.command)
            else:
                await cli.interact()
        except (asyncssh.Error, OSError, asyncio.CancelledError):
            pass
        finally:
            handle.sessions.discard(task)
            with contextlib.suppress(asyncssh.Error, OSError):
                process.exit(0)

    server = await asyncssh.create_server(
        lambda: _Auth(username, password),
        host,
        port,
        server_host_keys=[key],
        process_factory=session,
        encoding=None,
        line_editor=False,
        allow_scp=False,
        sftp_factory=None,
    )
    bound = server.get_port()
    pub = key.export_public_key("openssh").decode().strip()
    handle = SshHandle(port=bound, known_hosts_line=f"[{host}]:{bound} {pub}", server=server)
    handle_ref.append(handle)
    log.info("ssh listening host=%s port=%d", host, bound)
    return handle
