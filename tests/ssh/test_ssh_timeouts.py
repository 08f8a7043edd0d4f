"""Every SSH step has a deadline: a device that accepts the connection but never opens a channel."""

from __future__ import annotations

import asyncio

import pytest

from cvk.errors import DeviceUnreachable
from cvk.transport.ssh import SshCli, SshConfig


class _SilentConnection:
    """An SSH connection whose session channel never opens (a wedged device)."""

    def __init__(self) -> None:
        self.closed = False

    def is_closed(self) -> bool:
        return self.closed

    async def create_process(self, **_: object) -> object:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        return None


async def test_a_channel_that_never_opens_is_unreachable_within_the_command_timeout() -> None:
    cli = SshCli(
        SshConfig(host="127.0.0.1", username="admin", password="pw", insecure_skip_host_key_check=True,
                  command_timeout=0.2)
    )
    conn = _SilentConnection()
    cli._conn = conn  # type: ignore[assignment]
    with pytest.raises(DeviceUnreachable, match="not opened within"):
        await asyncio.wait_for(cli.open_shell(), timeout=10)
    assert conn.closed  # the wedged connection is dropped; the next call dials again
    assert cli._conn is None
