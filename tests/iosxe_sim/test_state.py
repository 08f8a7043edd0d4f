"""DeviceState used directly (as the gRPC/SSH front ends do): events, locking, lifecycle errors."""

from __future__ import annotations

import asyncio

import pytest

from hack.iosxe_sim.state import DEPLOYED, RUNNING, Delays, DeviceState, OperationFailed, StateEvent, normalise_file


async def next_state(q: asyncio.Queue[StateEvent], app_id: str, want: str) -> None:
    while True:
        ev = await asyncio.wait_for(q.get(), 5)
        if ev.kind == "app-state" and ev.app_id == app_id and ev.new == want:
            return


async def test_subscribers_see_every_transition() -> None:
    st = DeviceState(delays=Delays(install=0.01, auto_advance=0.0))
    st.bind_loop(asyncio.get_running_loop())
    q = st.subscribe()
    st.add_file("bootflash:/a.tar", b"x")
    st.set_app_config("e1", {"application-name": "e1", "start": True})
    await st.install("e1", "bootflash:/a.tar")
    seen: list[str] = []
    while len(seen) < 4:
        ev = await asyncio.wait_for(q.get(), 5)
        if ev.kind == "app-state":
            seen.append(ev.new)
    assert seen == ["INSTALLING", "DEPLOYED", "ACTIVATED", "RUNNING"]
    st.crash("e1", 1)
    await next_state(q, "e1", "STOPPED")
    st.unsubscribe(q)
    st.add_log("e1", "after unsubscribe")
    await asyncio.sleep(0.01)
    assert q.empty()


async def test_events_reach_a_subscriber_on_another_loop_thread() -> None:
    st = DeviceState()
    q = st.subscribe()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, st.add_file, "flash:x", b"1")
    ev = await asyncio.wait_for(q.get(), 5)
    assert (ev.kind, ev.detail) == ("file", "bootflash:/x")


async def test_lifecycle_refusals_name_the_problem() -> None:
    st = DeviceState(delays=Delays(install=0.0))
    st.bind_loop(asyncio.get_running_loop())
    with pytest.raises(OperationFailed, match="needs a package"):
        await st.install("a", "")
    with pytest.raises(OperationFailed, match="not installed"):
        await st.activate("a")
    st.add_file("bootflash:/a.tar", b"x")
    await st.install("a", "bootflash:/a.tar")
    await asyncio.sleep(0.01)
    assert st.apps["a"].state == DEPLOYED
    with pytest.raises(OperationFailed, match="no app-hosting configuration"):
        await st.activate("a")
    st.iox_enabled = False
    with pytest.raises(OperationFailed, match="IOx is not enabled"):
        await st.uninstall("a")


async def test_reload_restarts_running_apps_after_the_window() -> None:
    st = DeviceState(delays=Delays(install=0.0, auto_advance=0.0))
    st.bind_loop(asyncio.get_running_loop())
    st.add_file("bootflash:/a.tar", b"x")
    st.set_app_config("r", {"application-name": "r", "start": True})
    q = st.subscribe()
    await st.install("r", "bootflash:/a.tar")
    await next_state(q, "r", RUNNING)
    before = st.apps["r"].started_at
    st.reload(0.05)
    assert st.reloading
    with pytest.raises(OperationFailed, match="reloading"):
        await st.stop("r")
    while True:
        ev = await asyncio.wait_for(q.get(), 5)
        if ev.kind == "reload" and ev.detail == "up":
            break
    assert not st.reloading
    assert st.apps["r"].state == RUNNING and st.apps["r"].started_at != before


def test_file_paths_normalise() -> None:
    assert normalise_file("flash:a.tar") == "bootflash:/a.tar"
    assert normalise_file("bootflash:/d/a.tar") == "bootflash:/d/a.tar"
    assert normalise_file("harddisk:a") == "harddisk:/a"
    with pytest.raises(ValueError, match="filesystem prefix"):
        normalise_file("a.tar")


def test_unknown_platform_and_ip_mode_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown platform"):
        DeviceState("C1234")
    with pytest.raises(ValueError, match="oper_ip_mode"):
        DeviceState(oper_ip_mode="dhcp")
