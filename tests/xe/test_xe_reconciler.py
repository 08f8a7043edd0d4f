"""Step decisions of the per-container state machine, and pod status mapping."""

from __future__ import annotations

import pytest

from cvk.driver.xe.reconciler import Action, Context, Desired, Observation, decide
from cvk.driver.xe.status import ConditionClock, ContainerView, container_status, pod_phase, pod_status

R = Desired.RUNNING
D = Desired.DELETED
U = Desired.UNINSTALLED


@pytest.mark.parametrize(
    ("obs", "ctx", "action"),
    [
        (Observation(readable=False), Context(), Action.WAIT),
        (Observation(readable=True), Context(), Action.CONFIGURE),
        (Observation(readable=True, configured=True, config_current=False), Context(), Action.CONFIGURE),
        (Observation(readable=True, configured=True), Context(), Action.INSTALL),
        (Observation(readable=True, configured=True), Context(install_in_flight=True), Action.WAIT),
        (Observation(readable=True, configured=True, state="INSTALLING"), Context(), Action.WAIT),
        (Observation(readable=True, configured=True, state="DEPLOYED"), Context(), Action.ACTIVATE),
        (Observation(readable=True, configured=True, state="ACTIVATED"), Context(), Action.START),
        (Observation(readable=True, configured=True, state="RUNNING"), Context(), Action.NONE),
        (Observation(readable=True, configured=False, state="RUNNING"), Context(), Action.CONFIGURE),
        (Observation(readable=True, configured=True, state="STOPPED"), Context(), Action.NONE),
        (Observation(readable=True, configured=True, state="STOPPED"), Context(should_restart=True), Action.WAIT),
        (
            Observation(readable=True, configured=True, state="STOPPED"),
            Context(should_restart=True, restart_due=True),
            Action.RESTART,
        ),
        (Observation(readable=True, configured=True, state="ERROR"), Context(), Action.NONE),
        (
            Observation(readable=True, configured=True, state="ERROR"),
            Context(should_restart=True, restart_due=True),
            Action.RESTART,
        ),
        (Observation(readable=True, configured=True, state="SOMETHING-NEW"), Context(), Action.WAIT),
    ],
)
def test_forward(obs: Observation, ctx: Context, action: Action) -> None:
    assert decide(R, obs, ctx) is action


@pytest.mark.parametrize(
    ("obs", "action_delete", "action_replace"),
    [
        (Observation(readable=False, configured=True, state="RUNNING"), Action.WAIT, Action.WAIT),
        (Observation(readable=True, configured=True, state="RUNNING"), Action.STOP, Action.STOP),
        (Observation(readable=True, configured=True, state="ACTIVATED"), Action.DEACTIVATE, Action.DEACTIVATE),
        (Observation(readable=True, configured=True, state="STOPPED"), Action.DEACTIVATE, Action.DEACTIVATE),
        (Observation(readable=True, configured=True, state="ERROR"), Action.DEACTIVATE, Action.DEACTIVATE),
        (Observation(readable=True, configured=True, state="DEPLOYED"), Action.UNINSTALL, Action.UNINSTALL),
        (Observation(readable=True, configured=True, state="INSTALLING"), Action.WAIT, Action.WAIT),
        (Observation(readable=True, configured=True, state="WEIRD"), Action.WAIT, Action.WAIT),
        (Observation(readable=True, configured=True), Action.UNCONFIGURE, Action.DONE),
        (Observation(readable=True, configured=False), Action.DONE, Action.DONE),
    ],
)
def test_backward(obs: Observation, action_delete: Action, action_replace: Action) -> None:
    assert decide(D, obs) is action_delete
    assert decide(U, obs) is action_replace


def _view(**kw: object) -> ContainerView:
    base: dict[str, object] = {"name": "c", "image": "flash:/a.tar", "app_id": "cvk_a_0", "state": None}
    base.update(kw)
    return ContainerView(**base)  # type: ignore[arg-type]


def test_container_states() -> None:
    assert container_status(_view())["state"]["waiting"]["reason"] == "ContainerCreating"
    running = container_status(_view(state="RUNNING", started_at="2026-01-01T00:00:00Z"))
    assert running["state"] == {"running": {"startedAt": "2026-01-01T00:00:00Z"}} and running["ready"]
    assert running["containerID"] == "cisco://cvk_a_0"
    done = container_status(_view(state="STOPPED", exit_code=0))["state"]["terminated"]
    assert (done["exitCode"], done["reason"]) == (0, "Completed")
    err = container_status(_view(state="ERROR"))["state"]["terminated"]
    assert (err["exitCode"], err["reason"]) == (1, "Error")
    loop = container_status(_view(state="STOPPED", restarting=True, backoff_seconds=20))
    assert loop["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    refused = container_status(_view(error_reason="InstallFailed", error_message="no such file"))
    assert refused["state"]["waiting"] == {"reason": "InstallFailed", "message": "no such file"}
    weird = container_status(_view(state="WEIRD", device_message="disk full"))
    assert (
        weird["state"]["waiting"]["reason"] == "AppStateUnknown" and "disk full" in weird["state"]["waiting"]["message"]
    )


@pytest.mark.parametrize(
    ("views", "policy", "phase"),
    [
        ([_view()], "Always", "Pending"),
        ([_view(state="RUNNING"), _view(name="b")], "Always", "Pending"),
        ([_view(state="RUNNING"), _view(name="b", state="RUNNING")], "Always", "Running"),
        ([_view(state="STOPPED", exit_code=0)], "Never", "Succeeded"),
        ([_view(state="STOPPED", exit_code=2)], "Never", "Failed"),
        ([_view(state="STOPPED", exit_code=2)], "OnFailure", "Running"),
        ([_view(state="STOPPED", exit_code=0)], "OnFailure", "Succeeded"),
        ([_view(state="STOPPED", restarting=True)], "Always", "Running"),
        ([_view(state="RUNNING"), _view(name="b", state="STOPPED", exit_code=0)], "Never", "Running"),
        ([_view(deleted=True)], "Always", "Succeeded"),
    ],
)
def test_pod_phase(views: list[ContainerView], policy: str, phase: str) -> None:
    assert pod_phase(views, policy) == phase


def test_status_is_stable_and_ordered() -> None:
    clock = ConditionClock()
    views = [_view(name="z", state="RUNNING", started_at="t1", ip="10.0.0.5"), _view(name="a", state="RUNNING")]
    one = pod_status(views, restart_policy="Always", start_time="t0", host_ip="192.0.2.1", clock=clock)
    two = pod_status(views, restart_policy="Always", start_time="t0", host_ip="192.0.2.1", clock=clock)
    assert one == two
    assert [c["name"] for c in one["containerStatuses"]] == ["z", "a"]
    assert one["podIP"] == "10.0.0.5" and one["podIPs"] == [{"ip": "10.0.0.5"}]
    assert one["hostIPs"] == [{"ip": "192.0.2.1"}]
    assert {c["type"] for c in one["conditions"]} == {"PodScheduled", "Initialized", "ContainersReady", "Ready"}


def test_no_ip_means_no_pod_ip_field() -> None:
    status = pod_status(
        [_view(state="RUNNING")], restart_policy="Always", start_time="t", host_ip=None, clock=ConditionClock()
    )
    assert "podIP" not in status and "podIPs" not in status and "hostIP" not in status


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from cvk.driver.xe.driver import XESettings
    from cvk.errors import ConfigError

    monkeypatch.setenv("CVK_XE_POLL_INTERVAL", "2.5")
    monkeypatch.setenv("CVK_XE_RETRIES", "7")
    s = XESettings.from_env()
    assert (s.poll_interval, s.retries) == (2.5, 7)
    monkeypatch.setenv("CVK_XE_RETRIES", "many")
    with pytest.raises(ConfigError, match="CVK_XE_RETRIES"):
        XESettings.from_env()


def test_package_policy_invalid_is_explained() -> None:
    import time

    from cvk.config.spec import DeviceSpec, DriverName
    from cvk.driver.xe.driver import XEDriver
    from cvk.driver.xe.oper import OperData, parse_app
    from cvk.driver.xe.records import build_pod_record
    from cvk.driver.xe.snapshot import Snapshot

    spec = DeviceSpec(driver=DriverName.XE, address="192.0.2.1", username="admin", password="x")
    driver = XEDriver(spec)
    p = {
        "metadata": {"namespace": "default", "name": "signed", "uid": "u-1"},
        "spec": {"containers": [{"name": "app", "image": "flash:/unsigned.tar"}]},
    }
    rec = build_pod_record(spec, p, static_ready=False)
    app = rec.containers[0].app_id
    oper = OperData(
        apps={app: parse_app({"name": app, "details": {"state": "DEPLOYED"}, "pkg-policy": "iox-pkg-policy-invalid"})},
        notifications=(),
        resources=None,
        iox_enabled=True,
    )
    status = driver._status_of(rec, Snapshot(at=time.monotonic(), configs={}, oper=oper))
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "PackagePolicyInvalid" and "allowUnsignedApps" in waiting["message"]


def test_bad_device_networking_is_a_config_error() -> None:
    from cvk.config.spec import (
        DeviceSpec,
        DriverName,
        InterfaceType,
        VirtualPortGroupIf,
        XEConfig,
        XEInterface,
        XENetworking,
    )
    from cvk.driver.xe.driver import XEDriver
    from cvk.errors import ConfigError

    vpg = XEInterface(type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=False))
    spec = DeviceSpec(
        driver=DriverName.XE,
        address="192.0.2.1",
        username="admin",
        xe=XEConfig(networking=XENetworking(interface=vpg)),
        pod_cidr="10.0.0.0/33",
    )
    with pytest.raises(ConfigError, match=r"device.podCIDR"):
        XEDriver(spec)
    spec.pod_cidr = None
    spec.xe = XEConfig(
        networking=XENetworking(
            interface=XEInterface(
                type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(interface="x")
            )
        )
    )
    with pytest.raises(ConfigError, match=r"device.xe.networking.interface.virtualPortGroup.interface"):
        XEDriver(spec)
