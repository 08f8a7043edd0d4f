"""kubectl logs for XE pods: move the IOx log, read it via gNOI File or SSH, filter, follow, clean up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from cvk.config.spec import TLSConfig
from cvk.driver.base import LogOptions
from cvk.driver.xe.logs import DeviceFiles, parse_lines, read_app_logs
from cvk.errors import InvalidInput, NotFound, NotSupported
from cvk.transport.grpc import ChannelPool, GnoiClient
from cvk.transport.restconf import RestconfClient
from hack.iosxe_sim.fixtures import SimHandle
from tests.grpc.helpers import grpc_config_for
from tests.ssh.helpers import cli_for
from tests.ssh.test_exec import running_app


def restconf_for(sim: SimHandle) -> RestconfClient:
    return RestconfClient("127.0.0.1", sim.port, sim.username, sim.password,
                          tls=TLSConfig(enabled=True, ca_file=sim.ca_file), retries=0)


class Device:
    """The three transports of one simulated device, closed at the end."""

    def __init__(self, sim: SimHandle, *, gnoi: bool, ssh: bool) -> None:
        self.sim = sim
        self.restconf = restconf_for(sim)
        self.gnoi = GnoiClient(ChannelPool(grpc_config_for(sim))) if gnoi else None
        self.ssh = cli_for(sim) if ssh else None
        self.files = DeviceFiles(self.gnoi, self.ssh)

    async def logs(self, appid: str, **opts: object) -> bytes:
        out = b""
        async for chunk in read_app_logs(self.restconf, self.files, appid, LogOptions(**opts)):  # type: ignore[arg-type]
            out += chunk
        return out

    async def close(self) -> None:
        await self.restconf.close()
        if self.gnoi is not None:
            await self.gnoi.pool.close()
        if self.ssh is not None:
            await self.ssh.close()


@pytest.fixture(params=["C8000V", "C9300"], ids=["gnoi-file", "ssh-fallback"])
async def device(request, iosxe_sim_factory) -> AsyncIterator[Device]:  # type: ignore[no-untyped-def]
    sim = iosxe_sim_factory(platform=request.param, grpc=True, ssh=True)
    running_app(sim, "web1")
    for i in range(5):
        sim.state.add_log("web1", f"request {i}")
    dev = Device(sim, gnoi=True, ssh=True)
    yield dev
    await dev.close()


def _no_copies_left(sim: SimHandle) -> bool:
    return not [f for f in sim.state.files if "iox_" in f]


async def test_logs_whole_and_cleanup(device: Device) -> None:
    out = await device.logs("web1")
    text = out.decode()
    assert "Container started\n" in text
    assert text.endswith("request 3\nrequest 4\n")
    assert "T" not in text.splitlines()[0][:11]  # device timestamps are cut without --timestamps
    assert _no_copies_left(device.sim)
    # the C8000V implements gNOI File; the C9300 does not, so the same call went over SSH
    expected = "gnoi" if "file" in device.sim.state.platform.gnoi_services else "ssh"
    assert device.files.via == expected
    moves = [r for r in device.sim.requests() if r["path"].endswith("Cisco-IOS-XE-rpc:app-hosting")]
    assert moves and moves[-1]["body"] == {"Cisco-IOS-XE-rpc:input": {"move": {"appid": "web1",
                                                                               "log": {"to": "bootflash:"}}}}


async def test_tail_timestamps_limit(device: Device) -> None:
    assert await device.logs("web1", tail_lines=2) == b"request 3\nrequest 4\n"
    assert await device.logs("web1", tail_lines=0) == b""
    stamped = (await device.logs("web1", tail_lines=1, timestamps=True)).decode()
    stamp, text = stamped.rstrip("\n").split(" ", 1)
    assert text == "request 4"
    assert stamp.endswith("Z") and len(stamp) == len("2026-11-21T08:25:14.123456000Z")
    assert await device.logs("web1", tail_lines=2, limit_bytes=12) == b"request 3\nre"


async def test_since(device: Device) -> None:
    with device.sim.state.lock:
        app = device.sim.state.apps["web1"]
        old = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        app.log_lines.insert(0, f"{old} ancient line")
    assert b"ancient line" in await device.logs("web1")
    recent = await device.logs("web1", since_seconds=3600)
    assert b"ancient line" not in recent and b"request 4" in recent
    since_time = datetime.now(UTC) - timedelta(minutes=1)
    assert b"ancient line" not in await device.logs("web1", since_time=since_time)


async def test_follow_polls_for_new_lines(device: Device) -> None:
    got = bytearray()

    async def reader() -> None:
        async for chunk in read_app_logs(device.restconf, device.files, "web1",
                                         LogOptions(follow=True, tail_lines=1), poll_interval=0.05,
                                         max_poll_interval=0.2):
            got.extend(chunk)

    task = asyncio.create_task(reader())
    try:
        deadline = time.monotonic() + 10
        while b"request 4" not in got:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        device.sim.state.add_log("web1", "late line")
        while b"late line" not in got:
            assert time.monotonic() < deadline, bytes(got)
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert bytes(got) == b"request 4\nlate line\n"


async def test_unknown_app_is_not_found(device: Device) -> None:
    with pytest.raises(NotFound, match="nosuch"):
        await device.logs("nosuch")
    with pytest.raises(InvalidInput):
        await device.logs("bad id")
    with pytest.raises(NotSupported, match="previous"):
        await device.logs("web1", previous=True)


async def test_no_file_service_and_no_ssh_is_a_clear_error(iosxe_sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = iosxe_sim_factory(platform="C9300", grpc=True)
    running_app(sim, "web1")
    dev = Device(sim, gnoi=True, ssh=False)
    try:
        with pytest.raises(NotSupported, match="SSH"):
            await dev.logs("web1")
    finally:
        await dev.close()


def test_parse_lines_keeps_unstamped_text() -> None:
    lines = parse_lines(b"2026-11-21T08:00:00.5+00:00 stamped\nplain line\n2026-11-21T08:00:01Z z form\n")
    assert [ln.text for ln in lines] == ["stamped", "plain line", "z form"]
    assert lines[1].at is None and lines[2].at is not None
