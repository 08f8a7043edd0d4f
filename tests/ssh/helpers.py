"""Shared helpers of the SSH tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

from cvk.driver.base import AttachIO
from cvk.transport.ssh import SshCli, SshConfig
from hack.iosxe_sim.fixtures import SimHandle


def cli_for(sim: SimHandle, **overrides: object) -> SshCli:
    assert sim.ssh_port is not None and sim.known_hosts_line is not None
    opts: dict[str, object] = {
        "host": "127.0.0.1",
        "port": sim.ssh_port,
        "username": sim.username,
        "password": sim.password,
        "known_hosts": sim.known_hosts_line,
        "command_timeout": 10.0,
    }
    opts.update(overrides)
    return SshCli(SshConfig(**opts))  # type: ignore[arg-type]


class Collect:
    """An AttachIO whose stdout/stderr land in byte buffers."""

    def __init__(self, stdin: list[bytes] | None = None, *, tty: bool = False) -> None:
        self.out = bytearray()
        self.err = bytearray()
        self._stdin = stdin
        self.io = AttachIO(
            stdin=self._gen() if stdin is not None else None, stdout=self._out, stderr=self._err, tty=tty
        )

    async def _gen(self) -> AsyncIterator[bytes]:
        for chunk in self._stdin or []:
            yield chunk

    async def _out(self, data: bytes) -> None:
        self.out += data

    async def _err(self, data: bytes) -> None:
        self.err += data
