"""The per-device SSH CLI client: one connection, one reused exec shell, extra shells on demand.

- One SSH connection per device, opened lazily and re-opened once when it was lost.
- Commands (``run``) share one interactive shell, one at a time (a lock), after ``terminal length 0``
  and ``terminal width 0`` so that IOS never pages (``--More--``).
- Bridged sessions (exec/attach into an app) get their own shell channel from ``open_shell``.
- Host keys are verified against the known_hosts text of the device's Secret unless explicitly
  disabled. The password is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncssh

from cvk.errors import DeviceAuthError, DeviceUnreachable
from cvk.transport.metrics import DEVICE_REQUESTS, DEVICE_SECONDS
from cvk.transport.ssh.config import SshConfig
from cvk.transport.ssh.shell import CliOutput, CliShell

log = logging.getLogger("cvk.transport.ssh")

SETUP_COMMANDS = ("terminal length 0", "terminal width 0")


class SshCli:
    """IOS-XE exec CLI over SSH for one device. Use from one event loop."""

    def __init__(self, config: SshConfig) -> None:
        config.validate()
        self.config = config
        self._conn: asyncssh.SSHClientConnection | None = None
        self._shell: CliShell | None = None
        self._conn_lock = asyncio.Lock()
        self._run_lock = asyncio.Lock()
        self.connects = 0  # how many SSH connections were opened (session reuse is observable)

    # ---- connection ------------------------------------------------------------------------
    def _known_hosts(self) -> asyncssh.SSHKnownHosts | None:
        if self.config.insecure_skip_host_key_check:
            return None
        assert self.config.known_hosts is not None
        return asyncssh.import_known_hosts(self.config.known_hosts)

    async def _connection(self) -> asyncssh.SSHClientConnection:
        async with self._conn_lock:
            conn = self._conn
            if conn is not None and not conn.is_closed():
                return conn
            cfg = self.config
            if cfg.insecure_skip_host_key_check:
                log.warning("ssh host key check disabled host=%s port=%d", cfg.host, cfg.port)
            try:
                conn = await asyncssh.connect(
                    cfg.host,
                    cfg.port,
                    username=cfg.username,
                    password=cfg.password,
                    known_hosts=self._known_hosts(),
                    client_keys=None,
                    agent_path=None,
                    config=None,
                    preferred_auth=("keyboard-interactive", "password"),
                    connect_timeout=cfg.connect_timeout,
                    keepalive_interval=cfg.keepalive_interval,
                    keepalive_count_max=3,
                )
            except asyncssh.HostKeyNotVerifiable as e:
                raise DeviceAuthError(
                    f"SSH host key of {cfg.host}:{cfg.port} does not match the known_hosts entry ({e.reason}); "
                    "update the known_hosts key of the device's Secret"
                ) from e
            except asyncssh.PermissionDenied as e:
                raise DeviceAuthError(
                    f"SSH login to {cfg.host}:{cfg.port} as {cfg.username!r} was refused; check the credentials"
                ) from e
            except (OSError, TimeoutError, asyncssh.Error) as e:
                raise DeviceUnreachable(f"SSH connection to {cfg.host}:{cfg.port} failed: {e}") from e
            self.connects += 1
            self._conn = conn
            log.info("ssh connected host=%s port=%d user=%s", cfg.host, cfg.port, cfg.username)
            return conn

    async def open_shell(self, *, width: int = 511, height: int = 24) -> CliShell:
        """A new interactive exec shell at the prompt, with paging off."""
        conn = await self._connection()
        try:
            # A device that accepts the connection but never opens the channel must not hang us.
            async with asyncio.timeout(self.config.command_timeout):
                proc = await conn.create_process(
                    term_type="vt100", term_size=(width, height), encoding=None, request_pty="force"
                )
        except TimeoutError as e:
            self._conn = None
            conn.close()
            raise DeviceUnreachable(
                f"SSH session to {self.config.host} was not opened within {self.config.command_timeout:g}s"
            ) from e
        except (asyncssh.Error, OSError) as e:
            self._conn = None
            raise DeviceUnreachable(f"SSH session to {self.config.host} could not be opened: {e}") from e
        shell = CliShell(proc, max_output=self.config.max_output)
        try:
            await shell.wait_prompt(self.config.command_timeout)
            for cmd in SETUP_COMMANDS:
                await shell.run(cmd, self.config.command_timeout)
        except TimeoutError as e:
            await shell.close()
            raise DeviceUnreachable(f"no CLI prompt from {self.config.host} over SSH") from e
        except BaseException:
            await shell.close()
            raise
        return shell

    # ---- commands --------------------------------------------------------------------------
    async def run(self, command: str, *, limit: float | None = None, check: bool = True) -> CliOutput:
        """Run one exec command on the shared shell within ``limit`` seconds.

        With ``check``, raise DeviceRejected when IOS answers ``% ...`` (invalid input, error)."""
        limit = limit if limit is not None else self.config.command_timeout
        verb = command.split()[0] if command.split() else ""  # "show", "more", "app-hosting": bounded
        started = time.monotonic()
        outcome = "unreachable"
        try:
            out = await self._run(command, limit)
            outcome = "rejected" if check and out.rejected else "ok"
        finally:
            DEVICE_REQUESTS.labels("ssh", verb, outcome).inc()
            DEVICE_SECONDS.labels("ssh", verb).observe(time.monotonic() - started)
        return out.check(command) if check else out

    async def _run(self, command: str, limit: float) -> CliOutput:
        async with self._run_lock:
            for attempt in (1, 2):
                shell = self._shell
                try:
                    if shell is None or shell.closed:
                        shell = self._shell = await self.open_shell()
                    out = await shell.run(command, limit)
                    break
                except DeviceUnreachable:
                    await self._drop_shell()
                    if attempt == 2:
                        raise
                    log.info("ssh session lost, reconnecting host=%s", self.config.host)
                except TimeoutError as e:
                    await self._drop_shell()
                    raise DeviceUnreachable(
                        f"no prompt from {self.config.host} within {limit:g}s after {command.split()[0]!r}"
                    ) from e
        log.debug("ssh command host=%s cmd=%s bytes=%d", self.config.host, command.split()[0], len(out.text))
        return out

    async def _drop_shell(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            await shell.close()
        conn = self._conn
        if conn is not None and conn.is_closed():
            self._conn = None

    async def close(self) -> None:
        await self._drop_shell()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await conn.wait_closed()
