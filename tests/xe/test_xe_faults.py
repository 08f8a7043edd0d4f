"""Faults: each converges with exactly one app per container and nothing left behind after delete."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from cvk.driver.xe import naming
from cvk.driver.xe.driver import XEDriver
from cvk.errors import DeviceAuthError, DeviceUnreachable, NotFound
from hack.iosxe_sim.fixtures import SimHandle
from tests.xe.helpers import FAST, apps_on, invalid_requests, phase_of, pod, spec_for, start_driver, wait_for

FILES = {"flash:/hello.tar": b"IOX-PACKAGE"}


def _installs(sim: SimHandle, app_id: str) -> int:
    return sum(
        1
        for r in sim.requests()
        if r["method"] == "POST"
        and isinstance(r["body"], dict)
        and '"install"' in str(r["body"]).replace("'", '"')
        and app_id in str(r["body"])
    )


async def _delete_and_check_clean(driver, p, sim: SimHandle) -> None:  # type: ignore[no-untyped-def]
    await driver.delete_pod(p)
    assert apps_on(sim) == {}
    assert invalid_requests(sim) == []


async def test_5xx_during_install_converges(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    # More failures than the client's retries: the step fails, backs off and is tried again.
    sim.control.fail(status=503, count=5, method="POST", path="operations")
    driver, rec = await start_driver(sim)
    try:
        p = pod("flaky")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "flaky") == "Running", within=30, what="Running after 5xx")
        app_id = naming.app_id("flaky", p["metadata"]["uid"], "app")
        assert list(apps_on(sim)) == [app_id]
        assert apps_on(sim)[app_id]["state"] == "RUNNING"
        await _delete_and_check_clean(driver, p, sim)
    finally:
        await driver.close()


async def test_device_reload_mid_install_converges(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES, delays={"install": 1.0})
    driver, rec = await start_driver(sim)
    try:
        p = pod("reload")
        await driver.create_pod(p)
        app_id = naming.app_id("reload", p["metadata"]["uid"], "app")
        await wait_for(lambda: apps_on(sim).get(app_id, {}).get("state") == "INSTALLING", what="INSTALLING")
        sim.control.reload(1.0)
        await wait_for(lambda: phase_of(rec, "reload") == "Running", within=30, what="Running after reload")
        assert list(apps_on(sim)) == [app_id]
        await _delete_and_check_clean(driver, p, sim)
    finally:
        await driver.close()


async def test_cisco_vk_restart_during_activate_resumes(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES, delays={"activate": 1.0})
    driver, rec = await start_driver(sim)
    p = pod("resume")
    app_id = naming.app_id("resume", p["metadata"]["uid"], "app")
    try:
        await driver.create_pod(p)
        await wait_for(
            lambda: any("activate" in str(r["body"]) for r in sim.requests() if r["method"] == "POST"),
            what="activate sent",
        )
    finally:
        await driver.close()  # cisco-vk dies while the device is activating
    driver2, rec2 = await start_driver(sim)
    try:
        restored = dict(p, status=dict(rec.latest("resume")["status"]))  # type: ignore[index]
        await driver2.create_pod(restored)  # the pod controller re-creates (adopts) every API pod
        await wait_for(lambda: phase_of(rec2, "resume") == "Running", within=30, what="Running after restart")
        assert list(apps_on(sim)) == [app_id]
        assert _installs(sim, app_id) == 1
        assert rec2.latest("resume")["status"]["startTime"] == restored["status"]["startTime"]  # type: ignore[index]
        first = rec2.latest("resume")["status"]  # type: ignore[index]
        # Adopting again with the status the API now holds changes nothing: no push, no API write.
        driver3, rec3 = await start_driver(sim)
        try:
            await driver3.create_pod(dict(p, status=first))
            await wait_for(lambda: rec3.latest("resume") is not None, what="adopted status")
            assert rec3.latest("resume")["status"] == first  # type: ignore[index]
        finally:
            await driver3.close()
        await _delete_and_check_clean(driver2, p, sim)
    finally:
        await driver2.close()


async def test_unreachable_device_never_means_not_found(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim)
    try:
        p = pod("steady")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "steady") == "Running", what="Running")
        pushes = rec.count("steady")
        fault = sim.control.drop(count=None)
        await wait_for(lambda: driver.source.last_error is not None, what="the loop sees the outage")
        for call in (
            lambda: driver.get_pod_status("default", "steady"),
            lambda: driver.get_pod("default", "steady"),
            driver.list_pods,
            driver.ping,
            lambda: driver.get_pod_status("default", "unknown-pod"),
        ):
            with pytest.raises(DeviceUnreachable):
                await call()
        assert rec.count("steady") == pushes  # nothing pushed while blind: the pod stays Running
        sim.control.remove_fault(fault)
        status = await wait_for(
            lambda: driver.source.last_error is None and rec.latest("steady")["status"],  # type: ignore[index]
            what="recovery",
        )
        assert status["phase"] == "Running"
        assert (await driver.get_pod_status("default", "steady"))["phase"] == "Running"
        assert len(apps_on(sim)) == 1
        await _delete_and_check_clean(driver, p, sim)
    finally:
        await driver.close()


async def test_delete_while_unreachable_finishes_when_the_device_answers(
    iosxe_sim_factory: Callable[..., SimHandle],
) -> None:
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim, settings=dataclasses.replace(FAST, delete_timeout=1.0))
    try:
        p = pod("gone")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "gone") == "Running", what="Running")
        fault = sim.control.drop(count=None)
        await wait_for(lambda: driver.source.last_error is not None, what="outage seen")
        with pytest.raises(DeviceUnreachable):
            await driver.delete_pod(p)
        assert len(apps_on(sim)) == 1  # nothing was assumed gone
        sim.control.remove_fault(fault)
        await wait_for(lambda: apps_on(sim) == {}, within=20, what="deletion resumes")
        with pytest.raises(NotFound):
            await driver.delete_pod(p)
        assert phase_of(rec, "gone") == "Succeeded"
    finally:
        await driver.close()


async def test_lock_denied_converges(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    sim.control.lock_denied(count=3)
    driver, rec = await start_driver(sim)
    try:
        p = pod("locked")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "locked") == "Running", within=30, what="Running after 409s")
        assert len(apps_on(sim)) == 1
        assert sum(1 for r in sim.requests() if r["status"] == 409) == 3
        sim.control.lock_denied(count=2)
        await _delete_and_check_clean(driver, p, sim)
    finally:
        await driver.close()


async def test_wrong_credentials_fail_ping_clearly(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(password="secret")
    driver = XEDriver(dataclasses.replace(spec_for(sim), password="wrong"), settings=FAST)
    await driver.connect()
    try:
        with pytest.raises(DeviceAuthError, match="refused the credentials") as e:
            await driver.ping()
        assert "wrong" not in str(e.value)
        with pytest.raises(DeviceAuthError):
            await driver.get_pod_status("default", "any")
    finally:
        await driver.close()
