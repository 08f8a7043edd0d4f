"""The XE driver's SSH wiring against the simulator: exec, attach and the logs fallback, per spec.ssh."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncssh
import pytest

from cvk.config.spec import GnoiConfig, SSHConfig
from cvk.driver.base import LogOptions
from cvk.driver.xe import naming
from cvk.driver.xe.driver import XEDriver
from cvk.errors import DeviceAuthError, NotFound, NotSupported
from hack.iosxe_sim.fixtures import SimHandle
from tests.ssh.helpers import Collect
from tests.xe.helpers import Recorder, phase_of, pod, start_driver, wait_for

pytestmark = pytest.mark.timeout(120)

FILES = {"flash:/hello.tar": b"IOX-PACKAGE"}


def ssh_for(sim: SimHandle, tmp_path: Path, line: str | None = None) -> SSHConfig:
    assert sim.ssh_port is not None and sim.known_hosts_line is not None
    known = tmp_path / "known_hosts"
    known.write_text((line or sim.known_hosts_line) + "\n")
    return SSHConfig(port=sim.ssh_port, known_hosts_file=str(known))


async def running(driver: XEDriver, rec: Recorder, name: str = "web") -> str:
    """Create pod ``name`` with one container ``app``; return its app id once Running."""
    p = pod(name)
    await driver.create_pod(p)
    await wait_for(lambda: phase_of(rec, name) == "Running", within=30, what=f"pod {name} Running")
    return naming.app_id(name, p["metadata"]["uid"], "app")


async def read_logs(driver: XEDriver, opts: LogOptions | None = None) -> bytes:
    out = b""
    async for chunk in driver.container_logs("default", "web", "app", opts or LogOptions()):
        out += chunk
    return out


@pytest.fixture
def sim(iosxe_sim_factory: Callable[..., SimHandle]) -> SimHandle:
    return iosxe_sim_factory(ssh=True, files=FILES)


async def test_exec_output_and_exit_codes_through_the_driver(sim: SimHandle, tmp_path: Path) -> None:
    driver, rec = await start_driver(sim, ssh=ssh_for(sim, tmp_path))
    try:
        app_id = await running(driver, rec)
        c = Collect()
        assert await driver.run_in_container("default", "web", "app", ["echo", "hi"], c.io) == 0
        assert bytes(c.out) == b"hi\n"
        assert await driver.run_in_container("default", "web", "app", ["sh", "-c", "exit 7"], Collect().io) == 7
        c = Collect()
        assert await driver.run_in_container("default", "web", "app", ["hostname"], c.io) == 0
        assert bytes(c.out) == f"{app_id}\n".encode()  # the session ran in the pod's own app
        assert sim.server.ssh.commands.count("terminal length 0") == 3  # one shell per exec...
        assert driver._ssh is not None and driver._ssh.connects == 1  # ...on one connection per device
    finally:
        await driver.close()


async def test_unknown_pod_or_container_is_not_found(sim: SimHandle, tmp_path: Path) -> None:
    driver, rec = await start_driver(sim, ssh=ssh_for(sim, tmp_path))
    try:
        await running(driver, rec)
        with pytest.raises(NotFound, match="no container 'other'"):
            await driver.run_in_container("default", "web", "other", ["true"], Collect().io)
        with pytest.raises(NotFound, match="default/nope"):
            await driver.attach_to_container("default", "nope", "app", Collect().io)
        assert not [c for c in sim.server.ssh.commands if c.startswith("app-hosting connect")]
    finally:
        await driver.close()


async def test_attach_streams_the_console_until_stdin_ends(sim: SimHandle, tmp_path: Path) -> None:
    driver, rec = await start_driver(sim, ssh=ssh_for(sim, tmp_path))
    release = asyncio.Event()

    async def stdin() -> AsyncIterator[bytes]:
        await release.wait()
        yield b""

    c = Collect()
    c.io.stdin = stdin()
    try:
        app_id = await running(driver, rec)
        task = asyncio.create_task(driver.attach_to_container("default", "web", "app", c.io))
        try:
            await wait_for(lambda: b"Container started" in c.out, within=10, what="console output")
            sim.state.add_log(app_id, "live line")
            await wait_for(lambda: b"live line" in c.out, within=10, what="live console line")
            release.set()
            assert await asyncio.wait_for(task, 10) == 0
        finally:
            task.cancel()
        assert f"app-hosting connect appid {app_id} console" in sim.server.ssh.commands
    finally:
        await driver.close()


async def test_without_spec_ssh_exec_and_attach_are_not_supported_naming_spec_ssh(sim: SimHandle) -> None:
    driver, rec = await start_driver(sim)
    try:
        await running(driver, rec)
        with pytest.raises(NotSupported, match=r"spec\.ssh"):
            await driver.run_in_container("default", "web", "app", ["echo", "hi"], Collect().io)
        with pytest.raises(NotSupported, match=r"spec\.ssh"):
            await driver.attach_to_container("default", "web", "app", Collect().io)
        assert sim.server.ssh.commands == []  # nothing was even tried
    finally:
        await driver.close()


async def test_a_wrong_host_key_is_refused(sim: SimHandle, tmp_path: Path) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    driver, rec = await start_driver(sim, ssh=ssh_for(sim, tmp_path, f"[127.0.0.1]:{sim.ssh_port} {other}"))
    try:
        await running(driver, rec)
        with pytest.raises(DeviceAuthError, match="host key"):
            await driver.run_in_container("default", "web", "app", ["echo", "hi"], Collect().io)
        assert sim.server.ssh.commands == []
    finally:
        await driver.close()


async def test_insecure_skip_works_and_warns(
    sim: SimHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert sim.ssh_port is not None
    driver, rec = await start_driver(sim, ssh=SSHConfig(port=sim.ssh_port, insecure_skip_host_key_check=True))
    try:
        await running(driver, rec)
        c = Collect()
        assert await driver.run_in_container("default", "web", "app", ["echo", "hi"], c.io) == 0
        assert bytes(c.out) == b"hi\n"
    finally:
        await driver.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("insecureSkipHostKeyCheck" in w for w in warnings)
    assert sim.password not in caplog.text


async def test_close_ends_the_ssh_sessions(sim: SimHandle, tmp_path: Path) -> None:
    driver, rec = await start_driver(sim, ssh=ssh_for(sim, tmp_path))
    await running(driver, rec)
    await read_logs(driver)  # no gNOI block: the shared CLI shell reads the log
    assert sim.server.ssh.sessions
    await driver.close()
    await wait_for(lambda: not sim.server.ssh.sessions, within=10, what="device SSH sessions closed")


async def test_logs_on_c9300_use_ssh_because_gnoi_file_is_unimplemented(
    iosxe_sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = iosxe_sim_factory(platform="C9300", ssh=True, grpc=True, files=FILES)
    assert sim.grpc_port is not None
    gnoi = GnoiConfig(port=sim.grpc_port, transport_security="tls")
    driver, rec = await start_driver(sim, ssh=ssh_for(sim, tmp_path), gnoi=gnoi)
    try:
        app_id = await running(driver, rec)
        for i in range(3):
            sim.state.add_log(app_id, f"request {i}")
        out = await read_logs(driver)
        assert b"request 2" in out
        assert driver._device_files().via == "ssh"
        assert await read_logs(driver, LogOptions(tail_lines=1)) == b"request 2\n"
        mores = [c for c in sim.server.ssh.commands if c.startswith("more ")]
        assert len(mores) == 2
        assert len([c for c in sim.server.ssh.commands if c.startswith("delete /force ")]) == 2
        assert not [f for f in sim.state.files if "log" in f]  # the copies were removed
    finally:
        await driver.close()


async def test_logs_on_c8000v_prefer_gnoi_file_when_both_are_configured(
    iosxe_sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = iosxe_sim_factory(platform="C8000V", ssh=True, grpc=True, files=FILES)
    assert sim.grpc_port is not None
    gnoi = GnoiConfig(port=sim.grpc_port, transport_security="tls")
    driver, rec = await start_driver(sim, ssh=ssh_for(sim, tmp_path), gnoi=gnoi)
    try:
        app_id = await running(driver, rec)
        sim.state.add_log(app_id, "over gnoi")
        assert b"over gnoi" in await read_logs(driver)
        assert driver._device_files().via == "gnoi"
        assert not [c for c in sim.server.ssh.commands if c.startswith("more ")]
    finally:
        await driver.close()


async def test_logs_with_ssh_and_no_gnoi_block_never_wait_for_grpc(sim: SimHandle, tmp_path: Path) -> None:
    # The simulator runs no gRPC server at all, like a device without gNXI configured.
    driver, rec = await start_driver(sim, ssh=ssh_for(sim, tmp_path))
    try:
        app_id = await running(driver, rec)
        sim.state.add_log(app_id, "over ssh")
        assert b"over ssh" in await read_logs(driver)
        assert driver._device_files().via == "ssh"
    finally:
        await driver.close()
