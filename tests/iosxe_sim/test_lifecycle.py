"""App lifecycle through RESTCONF: config, install/activate/start, oper data, stop/teardown."""

from __future__ import annotations

import pytest

from hack.iosxe_sim.fixtures import SimHandle
from tests.iosxe_sim.helpers import APPS, OPER, app_config, oper_state, rpc, session, wait_for


@pytest.fixture
def sim(iosxe_sim: SimHandle) -> SimHandle:
    iosxe_sim.control.add_file("bootflash:/hello.tar")
    return iosxe_sim


def test_full_lifecycle_reports_states_and_ip(sim: SimHandle) -> None:
    s = session(sim)
    assert s.post(sim.url + APPS, json=app_config("app1")).status_code == 201
    r = rpc(s, sim, "install", appid="app1", package="bootflash:/hello.tar")
    assert r.status_code == 200
    assert "Installing package" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]
    wait_for(lambda: oper_state(s, sim, "app1") == "DEPLOYED", what="DEPLOYED")
    assert rpc(s, sim, "activate", appid="app1").status_code == 200
    assert oper_state(s, sim, "app1") == "ACTIVATED"
    assert rpc(s, sim, "start", appid="app1").status_code == 200
    assert oper_state(s, sim, "app1") == "RUNNING"
    body = s.get(sim.url + OPER + "/app=app1").json()
    (app,) = body["Cisco-IOS-XE-app-hosting-oper:app"]
    (nic,) = app["network-interfaces"]["network-interface"]
    assert nic["ipv4-address"].startswith("192.168.1.")
    assert app["details"]["resource-reservation"]["memory"] == "512"
    for op, state in (("stop", "STOPPED"), ("deactivate", "DEPLOYED")):
        assert rpc(s, sim, op, appid="app1").status_code == 200
        assert oper_state(s, sim, "app1") == state
    rpc(s, sim, "uninstall", appid="app1")
    assert oper_state(s, sim, "app1") == ""
    assert s.delete(sim.url + APPS + "/app=app1").status_code == 204
    assert s.get(sim.url + APPS + "/app=app1").status_code == 404
    assert sim.state.apps == {}


def test_start_true_config_makes_the_device_advance_to_running(sim: SimHandle) -> None:
    s = session(sim)
    s.post(sim.url + APPS, json=app_config("auto", start=True))
    rpc(s, sim, "install", appid="auto", package="bootflash:/hello.tar")
    wait_for(lambda: oper_state(s, sim, "auto") == "RUNNING", what="RUNNING")


def test_install_waits_in_installing_for_the_configured_delay(iosxe_sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = iosxe_sim_factory(delays={"install": 30.0}, files={"bootflash:/a.tar": b"x"})
    s = session(sim)
    s.post(sim.url + APPS, json=app_config("slow"))
    rpc(s, sim, "install", appid="slow", package="bootflash:/a.tar")
    assert oper_state(s, sim, "slow") == "INSTALLING"
    sim.control.set_delays(install=0.0)
    rpc(s, sim, "install", appid="slow", package="bootflash:/a.tar")  # refused: already installing
    assert oper_state(s, sim, "slow") == "INSTALLING"


def test_missing_image_fails_like_the_device(sim: SimHandle) -> None:
    s = session(sim)
    s.post(sim.url + APPS, json=app_config("app2"))
    r = rpc(s, sim, "install", appid="app2", package="bootflash:/missing.tar")
    assert r.status_code == 200
    assert r.json()["Cisco-IOS-XE-rpc:output"]["result"].startswith("% Error: Package file bootflash:/missing.tar")
    assert oper_state(s, sim, "app2") == ""
    r = rpc(s, sim, "install", appid="app2", package="nginx:latest")
    assert "Invalid package" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]
    sim.control.settings(rpc_error_mode="http")
    r = rpc(s, sim, "install", appid="app2", package="bootflash:/missing.tar")
    assert r.status_code == 400
    assert r.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "operation-failed"


def test_url_package_installs(sim: SimHandle) -> None:
    s = session(sim)
    s.post(sim.url + APPS, json=app_config("web"))
    rpc(s, sim, "install", appid="web", package="https://example.invalid/app.tar")
    wait_for(lambda: oper_state(s, sim, "web") == "DEPLOYED")
    sim.control.set_url("https://example.invalid/bad.tar", fail=True)
    s.post(sim.url + APPS, json=app_config("web2"))
    r = rpc(s, sim, "install", appid="web2", package="https://example.invalid/bad.tar")
    assert "Failed to download" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]


def test_wrong_order_operations_are_refused(sim: SimHandle) -> None:
    s = session(sim)
    s.post(sim.url + APPS, json=app_config("app3"))
    r = rpc(s, sim, "start", appid="app3")
    assert "not installed" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]
    rpc(s, sim, "install", appid="app3", package="bootflash:/hello.tar")
    wait_for(lambda: oper_state(s, sim, "app3") == "DEPLOYED")
    r = rpc(s, sim, "start", appid="app3")
    assert "DEPLOYED state" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]
    assert oper_state(s, sim, "app3") == "DEPLOYED"


def test_config_of_installed_app_cannot_be_deleted(sim: SimHandle) -> None:
    s = session(sim)
    s.post(sim.url + APPS, json=app_config("app4"))
    rpc(s, sim, "install", appid="app4", package="bootflash:/hello.tar")
    wait_for(lambda: oper_state(s, sim, "app4") == "DEPLOYED")
    r = s.delete(sim.url + APPS + "/app=app4")
    assert r.status_code == 409
    err = r.json()["ietf-restconf:errors"]["error"][0]
    assert err["error-tag"] == "in-use"
    assert "uninstall" in err["error-message"]
    assert s.get(sim.url + APPS + "/app=app4").status_code == 200


def test_activation_checks_the_device_budget(sim: SimHandle) -> None:
    s = session(sim)
    budget = sim.state.platform.memory_mb
    s.post(sim.url + APPS, json=app_config("big1", memory=budget // 2 + 1))
    s.post(sim.url + APPS, json=app_config("big2", memory=budget // 2 + 1))
    for a in ("big1", "big2"):
        rpc(s, sim, "install", appid=a, package="bootflash:/hello.tar")
    wait_for(lambda: oper_state(s, sim, "big1") == oper_state(s, sim, "big2") == "DEPLOYED")
    assert rpc(s, sim, "activate", appid="big1").status_code == 200
    r = rpc(s, sim, "activate", appid="big2")
    assert "insufficient memory" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]
    assert oper_state(s, sim, "big2") == "DEPLOYED"
    res = s.get(sim.url + OPER + "/app-resources=global").json()["Cisco-IOS-XE-app-hosting-oper:app-resources"][0]
    assert res["memory"][0]["available"] == budget - (budget // 2 + 1)
