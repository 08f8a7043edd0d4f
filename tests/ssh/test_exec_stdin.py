"""kubectl exec without -i: the command sees end of input at once, as with the kubelet (no stdin stream)."""

from __future__ import annotations

import asyncio

from cvk.driver.xe.exec import exec_in_app
from hack.iosxe_sim.fixtures import SimHandle
from tests.ssh.helpers import Collect, cli_for
from tests.ssh.test_exec import running_app


async def test_exec_without_stdin_gives_the_command_end_of_input(iosxe_sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim: SimHandle = iosxe_sim_factory(ssh=True)
    running_app(sim)
    cli = cli_for(sim)
    try:
        c = Collect()  # no stdin: like `kubectl exec POD -- cat`
        rc = await asyncio.wait_for(exec_in_app(cli, "web1", ["cat"], c.io), timeout=10)
        assert rc == 0
        assert bytes(c.out) == b""
        # The session and the shared CLI are still usable afterwards.
        c2 = Collect()
        assert await asyncio.wait_for(exec_in_app(cli, "web1", ["echo", "ok"], c2.io), timeout=10) == 0
        assert bytes(c2.out) == b"ok\n"
    finally:
        await cli.close()
