"""kubectl exec/attach for XE pods: app sessions over SSH bridged to AttachIO, with exit status."""

from __future__ import annotations

import asyncio
import time

import pytest

from cvk.driver.xe.exec import _Stream, attach_app, exec_in_app, session_command
from cvk.errors import DeviceRejected, InvalidInput
from hack.iosxe_sim.fixtures import SimHandle
from tests.ssh.helpers import Collect, cli_for

APP_CFG = {"application-resource-profile": {"profile-name": "custom", "cpu-units": 100, "memory-capacity-mb": 64}}


def running_app(sim: SimHandle, app_id: str = "web1") -> str:
    sim.state.add_file("bootflash:/web.tar", b"tar")
    sim.state.set_app_config(app_id, APP_CFG)
    sim.call(sim.state.install(app_id, "bootflash:/web.tar"))
    deadline = time.monotonic() + 10
    while sim.state.app(app_id).state != "DEPLOYED":  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sim.call(sim.state.activate(app_id))
    sim.call(sim.state.start(app_id))
    return app_id


@pytest.fixture
def sim(iosxe_sim_factory):  # type: ignore[no-untyped-def]
    s = iosxe_sim_factory(ssh=True)
    running_app(s)
    return s


async def test_exec_output_and_zero_exit(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    c = Collect()
    try:
        rc = await exec_in_app(cli, "web1", ["echo", "hello", "world"], c.io)
    finally:
        await cli.close()
    assert rc == 0
    assert bytes(c.out) == b"hello world\n"


async def test_exec_exit_status_is_reported(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    try:
        assert await exec_in_app(cli, "web1", ["sh", "-c", "exit 3"], Collect().io) == 3
        assert await exec_in_app(cli, "web1", ["false"], Collect().io) == 1
        c = Collect()
        assert await exec_in_app(cli, "web1", ["hostname"], c.io) == 0
        assert bytes(c.out) == b"web1\n"
    finally:
        await cli.close()


async def test_exec_forwards_stdin_until_eof(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    c = Collect([b"first line\n", b"second ", b"line\n"])
    try:
        rc = await exec_in_app(cli, "web1", ["cat"], c.io)
    finally:
        await cli.close()
    assert rc == 0
    assert bytes(c.out) == b"first line\nsecond line\n"


async def test_exec_with_tty_keeps_crlf(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    c = Collect(tty=True)
    try:
        assert await exec_in_app(cli, "web1", ["echo", "hi"], c.io) == 0
    finally:
        await cli.close()
    assert bytes(c.out) == b"hi\r\n"


async def test_exec_into_stopped_app_is_refused(sim) -> None:  # type: ignore[no-untyped-def]
    sim.call(sim.state.stop("web1"))
    cli = cli_for(sim)
    try:
        with pytest.raises(DeviceRejected, match="not running"):
            await exec_in_app(cli, "web1", ["echo", "x"], Collect().io)
        with pytest.raises(DeviceRejected, match="not running"):
            await exec_in_app(cli, "nosuch", ["echo", "x"], Collect().io)
    finally:
        await cli.close()


def test_bad_input_is_rejected_before_any_session() -> None:
    with pytest.raises(InvalidInput, match="app id"):
        session_command("bad id; reload", ["echo"])
    with pytest.raises(InvalidInput, match="line breaks"):
        session_command("web1", ["echo", "a\nreload"])
    with pytest.raises(InvalidInput, match="needs a command"):
        session_command("web1", [])
    line = session_command("web1", ["echo", "it's"])
    assert line.startswith("app-hosting connect appid web1 session sh -c ")


def test_stream_holds_back_only_what_may_be_a_marker() -> None:
    s = _Stream(b"dev", with_marker=True)
    assert s.feed(b"abc\r\n") == b"abc"  # the newline may be printf's, before the marker
    assert s.feed(b"\r\n@@CVK") == b"\r\n"
    assert s.feed(b"-RC=7\r\n") == b""
    assert s.ended and s.rc == 7
    s = _Stream(b"dev", with_marker=True)
    assert s.feed(b"one\r\ntwo") == b"one\r\ntwo"
    assert s.feed(b"\r\n\r\n@@CVK-RC=0\r\n") == b"\r\n"
    assert s.rc == 0


def test_stream_ends_at_the_prompt_and_passes_whole_lines() -> None:
    s = _Stream(b"dev", with_marker=False)
    assert s.feed(b"console line\r\n") == b"console line\r\n"  # nothing held: kubectl sees the line now
    assert s.feed(b"prompt-like dev>\r\nmore") == b"prompt-like dev>\r\nmore"
    assert s.feed(b"\r\nde") == b"\r\n"
    assert s.feed(b"v#") == b""
    assert s.ended and s.rc is None
    s = _Stream(b"dev", with_marker=False)
    assert s.feed(b"devices are fine\n") == b"devices are fine\n"


async def test_attach_streams_console_and_detaches(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    release = asyncio.Event()

    async def stdin():  # type: ignore[no-untyped-def]
        await release.wait()
        yield b""

    c = Collect()
    c.io.stdin = stdin()
    task = asyncio.create_task(attach_app(cli, "web1", c.io))
    try:
        deadline = time.monotonic() + 10
        while b"Container started" not in c.out:
            assert time.monotonic() < deadline, bytes(c.out)
            await asyncio.sleep(0.02)
        sim.state.add_log("web1", "live line")
        while b"live line" not in c.out:
            assert time.monotonic() < deadline, bytes(c.out)
            await asyncio.sleep(0.02)
        release.set()
        assert await asyncio.wait_for(task, 10) == 0
    finally:
        task.cancel()
        await cli.close()
    assert b"Connected to appliance" not in c.out
