"""Fault switches (from the state file and from Python) and state that outlives the driver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cvk.driver.fake import FakeDriver, Faults, update_faults
from cvk.errors import ConfigError, DeviceAuthError, DeviceBusy, DeviceUnreachable, NotFound

from .conftest import Clock, Pushed, list_dir, make_pod, read_json, read_text, state_of, write_text


async def test_unreachable_from_the_state_file_fails_every_call(driver: FakeDriver, state_file: Path) -> None:
    pod = make_pod()
    await driver.create_pod(pod)
    update_faults(str(state_file), unreachable=True)  # as a test in another process would
    calls = [driver.ping(), driver.get_pod_status("default", "web"), driver.get_pod_status("default", "absent"),
             driver.get_pod("default", "web"), driver.list_pods(), driver.node_resources(), driver.stats(),
             driver.create_pod(make_pod("x", uid="x")), driver.update_pod(pod), driver.delete_pod(pod)]
    for call in calls:
        with pytest.raises(DeviceUnreachable, match="unreachable"):
            await call
    update_faults(str(state_file), unreachable=False)
    await driver.ping()
    assert (await driver.get_pod_status("default", "web"))["phase"] == "Pending"


async def test_while_unreachable_nothing_is_pushed_and_recovery_pushes(driver: FakeDriver, clock: Clock,
                                                                      pushed: Pushed) -> None:
    await driver.create_pod(make_pod())
    driver.set_faults(unreachable=True)
    count = len(pushed.pods)
    clock.tick(3.0)
    driver.advance()  # the device keeps running...
    assert len(pushed.pods) == count  # ...but cannot tell anyone
    driver.set_faults(unreachable=False)
    assert pushed.last["status"]["phase"] == "Running"


async def test_auth_failure(driver: FakeDriver) -> None:
    driver.set_faults(auth_failure=True)
    with pytest.raises(DeviceAuthError, match="admin"):
        await driver.ping()
    with pytest.raises(DeviceAuthError):
        await driver.list_pods()


async def test_busy_refuses_lifecycle_calls_only(driver: FakeDriver) -> None:
    driver.set_faults(busy=True)
    with pytest.raises(DeviceBusy) as err:
        await driver.create_pod(make_pod())
    assert err.value.status == 409
    assert await driver.list_pods() == []  # observation still works


async def test_latency_delays_every_call(driver: FakeDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float, *args: object) -> None:
        delays.append(delay)
        await real_sleep(0)

    driver.set_faults(latency_seconds=2.5)
    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    await driver.ping()
    await driver.list_pods()
    assert delays == [2.5, 2.5]


async def test_failing_installs_retry_and_recover(driver: FakeDriver, clock: Clock) -> None:
    driver.set_faults(fail_installs=True)
    await driver.create_pod(make_pod())
    clock.tick(1.0)
    status = await driver.get_pod_status("default", "web")
    kind, detail = state_of(status)
    assert status["phase"] == "Pending"
    assert kind == "waiting" and detail["reason"] == "InstallFailed" and "nginx:1.25" in detail["message"]
    driver.set_faults(fail_installs=False)
    clock.tick(10.0 + 3.0)  # back-off, then install, activate, start
    status = await driver.get_pod_status("default", "web")
    assert status["phase"] == "Running"


async def test_faults_set_in_python_are_in_the_file(driver: FakeDriver, state_file: Path) -> None:
    driver.set_faults(latency_seconds=0.0, busy=True)
    on_disk = read_json(state_file)["faults"]
    assert on_disk["busy"] is True and on_disk["unreachable"] is False
    assert driver.faults == Faults(busy=True)
    with pytest.raises(TypeError, match="unknown fault"):
        driver.set_faults(explode=True)


async def test_a_fault_flip_is_not_lost_when_the_driver_writes(driver: FakeDriver, state_file: Path,
                                                               clock: Clock) -> None:
    await driver.create_pod(make_pod())
    update_faults(str(state_file), busy=True)
    clock.tick(1.0)
    driver.advance()  # writes the state file: must keep the faults written by someone else
    assert read_json(state_file)["faults"]["busy"] is True


async def test_malformed_faults_are_reported(state_file: Path,
                                             new_driver: Callable[..., FakeDriver]) -> None:
    write_text(state_file, json.dumps({"version": 1, "device": {}, "pods": [], "faults": {"unreachable": "yes"}}))
    with pytest.raises(ConfigError) as err:
        await new_driver().ping()
    assert err.value.field == "device.fake.stateFile"
    assert "faults.unreachable" in err.value.message


async def test_apps_outlive_the_driver(new_driver: Callable[..., FakeDriver], clock: Clock) -> None:
    first = new_driver()
    await first.create_pod(make_pod(containers=[{"name": "c", "image": "fake/crash:4"}]))
    await first.create_pod(make_pod("steady", uid="s"))
    clock.tick(3.0)
    running = await first.get_pod_status("default", "steady")
    await first.close()
    clock.tick(1.0 + 10.0 + 0.5)  # while cisco-vk is away the crashing app exits and is restarted
    second = new_driver()
    pushed = Pushed()
    second.notify_pods(pushed)
    assert {p["metadata"]["name"] for p in await second.list_pods()} == {"web", "steady"}
    assert await second.get_pod_status("default", "steady") == running
    web = await second.get_pod_status("default", "web")
    assert web["containerStatuses"][0]["restartCount"] == 1
    assert web["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 4


async def test_corrupt_state_file_is_a_config_error(state_file: Path,
                                                    new_driver: Callable[..., FakeDriver]) -> None:
    write_text(state_file, "{not json")
    with pytest.raises(ConfigError) as err:
        await new_driver().connect()
    assert err.value.field == "device.fake.stateFile"
    assert "delete" in err.value.message


async def test_state_is_written_atomically(driver: FakeDriver, state_file: Path, clock: Clock) -> None:
    await driver.create_pod(make_pod())
    doc = read_json(state_file)
    assert doc["version"] == 1 and len(doc["pods"]) == 1
    assert not [name for name in list_dir(state_file.parent) if name.endswith(".tmp")]


async def test_background_ticker_pushes_without_being_asked(new_driver: Callable[..., FakeDriver],
                                                            state_file: Path) -> None:
    from .conftest import make_spec

    driver = FakeDriver(make_spec(state_file, install_seconds=0.05, activate_seconds=0.05,
                                  start_seconds=0.05))  # real clock
    pushed = Pushed()
    driver.notify_pods(pushed)
    await driver.connect()
    try:
        await driver.create_pod(make_pod())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not pushed.pods or pushed.last["status"]["phase"] != "Running":
            assert loop.time() < deadline, "pod never pushed as Running"
            await asyncio.sleep(0.02)
        phases = [p["status"]["phase"] for p in pushed.pods]
        assert phases[0] == "Pending" and phases[-1] == "Running"
    finally:
        await driver.close()


async def test_two_drivers_share_one_device(new_driver: Callable[..., FakeDriver], clock: Clock) -> None:
    first, second = new_driver(), new_driver()
    seen_by_second = Pushed()
    second.notify_pods(seen_by_second)
    pod = make_pod()
    await first.create_pod(pod)
    clock.tick(3.0)
    assert [p["metadata"]["name"] for p in await second.list_pods()] == ["web"]
    assert seen_by_second.last["status"]["phase"] == "Running"
    await second.delete_pod(pod)
    with pytest.raises(NotFound):
        await first.get_pod_status("default", "web")
    assert await first.list_pods() == []


async def test_unwritable_state_path_is_a_config_error(tmp_path: Path, clock: Clock) -> None:
    from .conftest import make_spec

    blocker = tmp_path / "file"
    write_text(blocker, "")
    driver = FakeDriver(make_spec(blocker / "state.json"), clock=clock)  # a directory below a file
    with pytest.raises(ConfigError) as err:
        await driver.connect()
    assert err.value.field == "device.fake.stateFile" and "writable path" in err.value.message


async def test_faults_edited_by_hand_in_the_file(driver: FakeDriver, state_file: Path) -> None:
    await driver.ping()
    text = read_text(state_file)
    assert '"unreachable": false' in text  # one line per section: easy to find and edit
    write_text(state_file, text.replace('"unreachable": false', '"unreachable": true'))
    with pytest.raises(DeviceUnreachable):
        await driver.ping()


def test_fault_command_line(state_file: Path) -> None:
    from cvk.driver.fake.__main__ import main

    assert main([str(state_file), "unreachable=true", "latencySeconds=0.5"]) == 0
    assert read_json(state_file)["faults"]["unreachable"] is True
    assert Faults.from_dict(read_json(state_file)["faults"]) == Faults(unreachable=True, latency_seconds=0.5)
    assert main([str(state_file), "unreachable=False"]) == 0
    assert read_json(state_file)["faults"]["unreachable"] is False
    assert main([str(state_file), "explode=true"]) == 2
    assert main([str(state_file), "unreachable"]) == 2
    assert main([str(state_file), "busy=maybe"]) == 2
