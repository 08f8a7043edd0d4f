"""The IOx app state machine, pod status mapping, notifications and the pod lifecycle calls."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from cvk.driver.fake import FakeDriver
from cvk.errors import DeviceRejected, InvalidInput, NotFound

from .conftest import Clock, Pushed, make_pod, state_of


async def test_app_walks_installing_deployed_activated_running(driver: FakeDriver, clock: Clock) -> None:
    await driver.create_pod(make_pod())
    messages = []
    for _ in range(3):
        status = await driver.get_pod_status("default", "web")
        assert status["phase"] == "Pending"
        kind, detail = state_of(status)
        assert kind == "waiting" and detail["reason"] == "ContainerCreating"
        messages.append(detail["message"])
        clock.tick(1.0)
    assert [m.rsplit(" ", 1)[-1] for m in messages] == ["INSTALLING", "DEPLOYED", "ACTIVATED"]
    status = await driver.get_pod_status("default", "web")
    assert status["phase"] == "Running"
    kind, detail = state_of(status)
    assert kind == "running"
    cs = status["containerStatuses"][0]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert cs["containerID"].startswith("fake://cvk0000_")
    assert status["hostIP"] == "192.0.2.10"
    assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network("10.244.0.0/16")
    assert status["podIPs"] == [{"ip": status["podIP"]}]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Initialized": "True", "Ready": "True", "ContainersReady": "True",
                          "PodScheduled": "True"}
    assert status["qosClass"] == "BestEffort"


async def test_pod_ip_only_once_a_container_ran(driver: FakeDriver, clock: Clock) -> None:
    await driver.create_pod(make_pod())
    assert "podIP" not in await driver.get_pod_status("default", "web")
    clock.tick(3.0)
    assert "podIP" in await driver.get_pod_status("default", "web")


async def test_status_is_stable_while_nothing_changes(driver: FakeDriver, clock: Clock) -> None:
    await driver.create_pod(make_pod())
    clock.tick(3.0)
    first = await driver.get_pod_status("default", "web")
    clock.tick(600.0)
    assert await driver.get_pod_status("default", "web") == first


async def test_container_statuses_follow_spec_order(driver: FakeDriver, clock: Clock) -> None:
    names = ["zeta", "alpha", "mid"]
    await driver.create_pod(make_pod(containers=[{"name": n, "image": "busybox"} for n in names]))
    clock.tick(3.0)
    status = await driver.get_pod_status("default", "web")
    assert [c["name"] for c in status["containerStatuses"]] == names
    ids = [c["containerID"] for c in status["containerStatuses"]]
    assert len(set(ids)) == 3


async def test_every_change_is_pushed_once(driver: FakeDriver, clock: Clock, pushed: Pushed) -> None:
    await driver.create_pod(make_pod())
    assert len(pushed.pods) == 1
    assert not driver.advance()  # nothing due: nothing pushed
    assert len(pushed.pods) == 1
    for expected in (2, 3, 4):
        clock.tick(1.0)
        assert driver.advance()
        assert len(pushed.pods) == expected
    assert pushed.last["status"]["phase"] == "Running"
    assert pushed.last["metadata"]["name"] == "web"
    assert "managedFields" not in pushed.last["metadata"]
    pushed.last["status"]["phase"] = "Mutated"  # a copy: the driver's view is unaffected
    assert (await driver.get_pod_status("default", "web"))["phase"] == "Running"


async def test_crash_with_restart_policy_always(driver: FakeDriver, clock: Clock) -> None:
    pod = make_pod(containers=[{"name": "c", "image": "fake/crash:3"}])
    await driver.create_pod(pod)
    clock.tick(3.0 + 1.0)  # installed + ran for 1 s (the crash image's default) -> exited 3
    status = await driver.get_pod_status("default", "web")
    kind, detail = state_of(status)
    assert kind == "waiting" and detail["reason"] == "CrashLoopBackOff"
    last = status["containerStatuses"][0]["lastState"]["terminated"]
    assert last["exitCode"] == 3 and last["reason"] == "Error"
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["restartCount"] == 0
    clock.tick(10.0)  # first back-off
    status = await driver.get_pod_status("default", "web")
    assert state_of(status)[0] == "running"
    assert status["containerStatuses"][0]["restartCount"] == 1
    assert status["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 3
    clock.tick(1.0 + 19.9)  # crashed again; second back-off (20 s) not yet over
    status = await driver.get_pod_status("default", "web")
    assert state_of(status)[1]["reason"] == "CrashLoopBackOff"
    clock.tick(0.2)
    assert (await driver.get_pod_status("default", "web"))["containerStatuses"][0]["restartCount"] == 2


async def test_crash_with_restart_policy_never_fails_the_pod(driver: FakeDriver, clock: Clock) -> None:
    pod = make_pod(restart_policy="Never",
                   containers=[{"name": "c", "image": "busybox", "env": [{"name": "FAKE_EXIT_CODE", "value": "7"},
                                                                          {"name": "FAKE_EXIT_AFTER", "value": "2"}]}])
    await driver.create_pod(pod)
    clock.tick(3.0 + 2.0)
    status = await driver.get_pod_status("default", "web")
    assert status["phase"] == "Failed"
    kind, detail = state_of(status)
    assert kind == "terminated" and detail["exitCode"] == 7
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "PodCompleted"
    clock.tick(1000.0)
    assert (await driver.get_pod_status("default", "web"))["containerStatuses"][0]["restartCount"] == 0


@pytest.mark.parametrize(("code", "phase", "restarts"), [(0, "Succeeded", 0), (2, "Running", 1)])
async def test_restart_policy_on_failure(driver: FakeDriver, clock: Clock, code: int, phase: str,
                                         restarts: int) -> None:
    env = [{"name": "FAKE_EXIT_AFTER", "value": "1"}, {"name": "FAKE_EXIT_CODE", "value": str(code)}]
    await driver.create_pod(make_pod(restart_policy="OnFailure",
                                     containers=[{"name": "job", "image": "busybox", "env": env}]))
    clock.tick(3.0 + 1.0 + 10.0)
    status = await driver.get_pod_status("default", "web")
    assert status["phase"] == phase
    assert status["containerStatuses"][0]["restartCount"] == restarts


async def test_job_without_exit_code_completes(driver: FakeDriver, clock: Clock) -> None:
    env = [{"name": "FAKE_EXIT_AFTER", "value": "0.5"}]
    await driver.create_pod(make_pod(restart_policy="Never",
                                     containers=[{"name": "job", "image": "busybox", "env": env}]))
    clock.tick(4.0)
    status = await driver.get_pod_status("default", "web")
    assert status["phase"] == "Succeeded"
    assert state_of(status)[1]["reason"] == "Completed"


async def test_delete_pushes_a_terminal_status_then_forgets(driver: FakeDriver, clock: Clock,
                                                            pushed: Pushed) -> None:
    pod = make_pod()
    await driver.create_pod(pod)
    clock.tick(3.0)
    driver.advance()
    await driver.delete_pod(pod)
    final = pushed.last["status"]
    assert final["phase"] == "Succeeded"
    assert all("terminated" in c["state"] for c in final["containerStatuses"])
    with pytest.raises(NotFound):
        await driver.get_pod_status("default", "web")
    with pytest.raises(NotFound):
        await driver.get_pod("default", "web")
    with pytest.raises(NotFound):
        await driver.delete_pod(pod)
    assert await driver.list_pods() == []


async def test_create_is_idempotent_and_replaces_a_stale_pod(driver: FakeDriver, clock: Clock) -> None:
    pod = make_pod()
    await driver.create_pod(pod)
    clock.tick(3.0)
    before = await driver.get_pod_status("default", "web")
    await driver.create_pod(pod)  # adopted, not re-created
    assert await driver.get_pod_status("default", "web") == before
    assert len(await driver.list_pods()) == 1
    newer = make_pod(uid="11111111-2222-3333-4444-555555555555")
    await driver.create_pod(newer)
    status = await driver.get_pod_status("default", "web")
    assert status["phase"] == "Pending"
    assert (await driver.get_pod("default", "web"))["metadata"]["uid"] == newer["metadata"]["uid"]
    with pytest.raises(NotFound):
        await driver.delete_pod(pod)  # the old UID is gone; the new pod is not touched
    assert len(await driver.list_pods()) == 1


async def test_update_with_new_image_reinstalls_the_container(driver: FakeDriver, clock: Clock) -> None:
    pod = make_pod()
    await driver.create_pod(pod)
    clock.tick(3.0)
    pod["spec"]["containers"][0]["image"] = "nginx:1.27"
    pod["metadata"]["labels"]["tier"] = "front"
    await driver.update_pod(pod)
    status = await driver.get_pod_status("default", "web")
    cs = status["containerStatuses"][0]
    assert cs["image"] == "nginx:1.27" and cs["restartCount"] == 1
    assert state_of(status)[0] == "waiting"
    assert cs["lastState"]["terminated"]["reason"] == "Completed"
    clock.tick(3.0)
    assert state_of(await driver.get_pod_status("default", "web"))[0] == "running"
    assert (await driver.get_pod("default", "web"))["metadata"]["labels"]["tier"] == "front"


async def test_list_and_get_return_copies_with_status(driver: FakeDriver, clock: Clock) -> None:
    await driver.create_pod(make_pod("a", uid="a"))
    await driver.create_pod(make_pod("b", uid="b", namespace="other"))
    clock.tick(3.0)
    pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in await driver.list_pods()}
    assert set(pods) == {("default", "a"), ("other", "b")}
    assert all(p["status"]["phase"] == "Running" for p in pods.values())
    pods[("default", "a")]["spec"]["containers"].clear()
    assert (await driver.get_pod("default", "a"))["spec"]["containers"]


async def test_pod_addresses_are_unique_and_from_pod_cidr(new_driver: Callable[..., FakeDriver],
                                                          clock: Clock) -> None:
    driver = new_driver()
    driver.spec.pod_cidr = "192.168.50.0/29"  # gateway .1, apps .2 .. .6
    driver = type(driver)(driver.spec, clock=clock)
    for i in range(5):
        await driver.create_pod(make_pod(f"p{i}", uid=f"u{i}"))
    clock.tick(3.0)
    ips = [(await driver.get_pod_status("default", f"p{i}"))["podIP"] for i in range(5)]
    assert sorted(ips) == [f"192.168.50.{n}" for n in range(2, 7)]
    with pytest.raises(DeviceRejected, match="no free address"):
        await driver.create_pod(make_pod("p5", uid="u5"))
    await driver.delete_pod(make_pod("p0", uid="u0"))
    await driver.create_pod(make_pod("p5", uid="u5"))  # the freed address is reused
    clock.tick(3.0)
    assert (await driver.get_pod_status("default", "p5"))["podIP"] == ips[0]


async def test_max_pods_is_enforced(driver: FakeDriver) -> None:
    driver.spec.max_pods = 2
    await driver.create_pod(make_pod("a", uid="a"))
    await driver.create_pod(make_pod("b", uid="b"))
    with pytest.raises(DeviceRejected, match="maxPods 2"):
        await driver.create_pod(make_pod("c", uid="c"))


@pytest.mark.parametrize(("change", "field"), [
    ({"initContainers": [{"name": "i", "image": "x"}]}, "spec.initContainers"),
    ({"containers": []}, "spec.containers"),
    ({"containers": [{"name": "c", "image": "x", "env": [{"name": "FAKE_EXIT_CODE", "value": "x"}]}]},
     "spec.containers[0].env[FAKE_EXIT_CODE]"),
    ({"containers": [{"name": "c", "image": "fake/crash:boom"}]}, "spec.containers[0].image"),
    ({"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "lots"}}}]},
     "spec.containers[0].resources"),
])
async def test_invalid_pods_are_refused_naming_the_field(driver: FakeDriver, change: dict[str, object],
                                                         field: str) -> None:
    pod = make_pod()
    pod["spec"].update(change)
    with pytest.raises(InvalidInput) as err:
        await driver.create_pod(pod)
    assert str(err.value).startswith(field)
    assert await driver.list_pods() == []


async def test_node_resources_come_from_the_spec(new_driver: Callable[..., FakeDriver]) -> None:
    driver = new_driver(cpu="4", memory="8Gi", storage="50Gi")
    res = await driver.node_resources()
    assert res.capacity == {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "50Gi", "pods": "16"}
    assert res.allocatable == res.capacity
    assert res.node_info["machineID"] and res.node_info["osImage"].startswith("Cisco IOS-XE")
    assert driver.supports_notify


async def test_an_invalid_replacement_leaves_the_old_pod_alone(driver: FakeDriver, clock: Clock) -> None:
    await driver.create_pod(make_pod())
    clock.tick(3.0)
    bad = make_pod(uid="99999999-0000-0000-0000-000000000000")
    bad["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    with pytest.raises(InvalidInput):
        await driver.create_pod(bad)
    assert (await driver.get_pod_status("default", "web"))["phase"] == "Running"
