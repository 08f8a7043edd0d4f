"""Fault injection through /_sim and request recording."""

from __future__ import annotations

import pytest
import requests

from hack.iosxe_sim.control import SimControl, SimControlError
from hack.iosxe_sim.fixtures import SimHandle
from tests.iosxe_sim.helpers import APPS, CFG, OPER, app_config, oper_state, rpc, session, wait_for


def test_5xx_for_n_requests_then_recovers(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    iosxe_sim.control.fail(503, count=2, path="app-hosting-oper")
    assert s.get(iosxe_sim.url + OPER).status_code == 503
    assert s.get(iosxe_sim.url + CFG).status_code == 204  # other paths unaffected
    r = s.get(iosxe_sim.url + OPER)
    assert r.status_code == 503
    assert r.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "operation-failed"
    assert s.get(iosxe_sim.url + OPER).status_code == 200
    assert iosxe_sim.control.faults() == []


def test_fault_matching_method_and_removal(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    fid = iosxe_sim.control.fail(500, count=None, method="POST")
    assert s.get(iosxe_sim.url + CFG).status_code == 204
    assert s.post(iosxe_sim.url + APPS, json=app_config("f1")).status_code == 500
    assert s.post(iosxe_sim.url + APPS, json=app_config("f1")).status_code == 500
    assert iosxe_sim.state.apps == {}
    (f,) = iosxe_sim.control.faults()
    assert f["hits"] == 2
    iosxe_sim.control.remove_fault(fid)
    assert s.post(iosxe_sim.url + APPS, json=app_config("f1")).status_code == 201


def test_401_fault(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.unauthorized(count=1)
    r = session(iosxe_sim).get(iosxe_sim.url + CFG)
    assert r.status_code == 401
    assert "WWW-Authenticate" in r.headers
    assert session(iosxe_sim).get(iosxe_sim.url + CFG).status_code == 204


def test_lock_denied_applies_to_writes(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    iosxe_sim.control.lock_denied(count=1)
    assert s.get(iosxe_sim.url + CFG).status_code == 204
    r = s.post(iosxe_sim.url + APPS, json=app_config("l1"))
    assert r.status_code == 409
    err = r.json()["ietf-restconf:errors"]["error"][0]
    assert (err["error-type"], err["error-tag"]) == ("protocol", "lock-denied")
    assert s.post(iosxe_sim.url + APPS, json=app_config("l1")).status_code == 201


def test_dropped_connection(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.drop(count=1, path="arp-data")
    s = session(iosxe_sim)
    with pytest.raises(requests.exceptions.ConnectionError):
        s.get(iosxe_sim.url + "/restconf/data/Cisco-IOS-XE-arp-oper:arp-data")
    assert s.get(iosxe_sim.url + "/restconf/data/Cisco-IOS-XE-arp-oper:arp-data").status_code == 200
    recs = [r for r in iosxe_sim.requests() if "arp-data" in r["path"]]
    assert [(r["fault"], r["status"]) for r in recs] == [("drop", None), ("", 200)]


def test_latency_fault_delays_but_answers(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.latency(0.2, count=1)
    s = session(iosxe_sim)
    with pytest.raises(requests.exceptions.Timeout):
        s.get(iosxe_sim.url + CFG, timeout=0.05)
    iosxe_sim.control.latency(0.05, count=1)
    assert s.get(iosxe_sim.url + CFG, timeout=10).status_code == 204


def test_reload_window_loses_installs_and_restarts_running_apps(iosxe_sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = iosxe_sim_factory(delays={"install": 60.0}, files={"bootflash:/a.tar": b"x"})
    s = session(sim)
    s.post(sim.url + APPS, json=app_config("inflight"))
    rpc(s, sim, "install", appid="inflight", package="bootflash:/a.tar")
    assert oper_state(s, sim, "inflight") == "INSTALLING"
    sim.control.reload(0.5)
    with pytest.raises(requests.exceptions.ConnectionError):
        s.get(sim.url + CFG)
    wait_for(lambda: not sim.state.reloading, what="reload end")
    assert oper_state(s, sim, "inflight") == ""  # the install died with the reload
    assert sim.state.apps["inflight"].config is not None  # config survives (saved)
    assert sim.state.reload_count == 1


def test_crash_makes_app_stopped_with_exit_info(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    iosxe_sim.control.add_file("bootflash:/a.tar")
    s.post(iosxe_sim.url + APPS, json=app_config("c1", start=True))
    rpc(s, iosxe_sim, "install", appid="c1", package="bootflash:/a.tar")
    wait_for(lambda: oper_state(s, iosxe_sim, "c1") == "RUNNING")
    iosxe_sim.control.crash("c1", exit_code=3)
    assert oper_state(s, iosxe_sim, "c1") == "STOPPED"
    info = iosxe_sim.control.apps()["c1"]
    assert (info["exit_code"], info["exit_reason"]) == (3, "crashed")
    assert rpc(s, iosxe_sim, "start", appid="c1").status_code == 200
    assert oper_state(s, iosxe_sim, "c1") == "RUNNING"
    assert iosxe_sim.control.apps()["c1"]["restart_count"] == 1
    iosxe_sim.control.crash("c1", exit_code=139, state="ERROR")
    assert oper_state(s, iosxe_sim, "c1") == "ERROR"
    with pytest.raises(SimControlError):
        iosxe_sim.control.crash("c1")  # not running any more
    r = rpc(s, iosxe_sim, "move", appid="c1", log={"to": "bootflash:"})
    assert "iox_c1_log.txt" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]
    log = iosxe_sim.state.files["bootflash:/iox_c1_log.txt"].decode()
    assert "exited with code 139" in log
    r = rpc(s, iosxe_sim, "move", appid="c1", core={"to": "bootflash:cores/"})
    assert "bootflash:/cores/iox_c1_core.tar" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]


def test_recording_hides_credentials_and_keeps_bodies(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    iosxe_sim.control.clear_requests()
    body = app_config("r1")
    s.post(iosxe_sim.url + APPS, json=body)
    s.get(iosxe_sim.url + OPER + "?fields=app")
    recs = iosxe_sim.control.requests()
    assert [(r["method"], r["status"]) for r in recs] == [("POST", 201), ("GET", 200)]
    assert recs[0]["body"] == body
    assert recs[1]["path"].endswith("?fields=app")
    assert recs[1]["query"] == {"fields": "app"}
    headers = {k.lower() for k in recs[0]["headers"]}
    assert "authorization" not in headers
    assert "content-type" in headers
    assert iosxe_sim.requests(since=recs[0]["seq"]) == [r for r in iosxe_sim.requests() if r["seq"] > recs[0]["seq"]]
    assert not any(r["path"].startswith("/_sim") for r in iosxe_sim.requests())


def test_reset_forgets_everything(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    s.post(iosxe_sim.url + APPS, json=app_config("z1"))
    iosxe_sim.control.add_file("bootflash:/z.tar", b"z")
    iosxe_sim.control.fail(500, count=None, path="nothing-matches-this")
    iosxe_sim.control.reset()
    st = iosxe_sim.control.state()
    assert st["apps"] == {} and st["files"] == []
    assert iosxe_sim.control.faults() == []
    assert iosxe_sim.requests() == []


def test_control_token(iosxe_sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = iosxe_sim_factory(control_token="t0k")
    assert sim.control.state()["platform"] == "C8000V"
    anon = SimControl(sim.url, sim.ca_file)
    with pytest.raises(SimControlError, match="403"):
        anon.state()
    anon.close()


def test_control_rejects_bad_input_with_a_message(iosxe_sim: SimHandle) -> None:
    with pytest.raises(SimControlError, match="fault kind must be one of"):
        iosxe_sim.control.add_fault("explode")
    with pytest.raises(SimControlError, match="unknown delay"):
        iosxe_sim.control.set_delays(instal=1.0)
    with pytest.raises(SimControlError, match="oper_ip_mode"):
        iosxe_sim.control.settings(oper_ip_mode="dhcp")


def test_files_roundtrip(iosxe_sim: SimHandle) -> None:
    key = iosxe_sim.control.add_file("flash:images/app.tar", b"\x00\x01")
    assert key == "bootflash:/images/app.tar"
    assert iosxe_sim.state.files[key] == b"\x00\x01"
    s = session(iosxe_sim)
    r = s.post(
        iosxe_sim.url + "/restconf/operations/Cisco-IOS-XE-rpc:copy",
        json={"source-drop-node-name": "bootflash:images/app.tar", "destination-drop-node-name": "harddisk:app.tar"},
    )
    assert "Copy complete" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]
    assert iosxe_sim.state.files["harddisk:/app.tar"] == b"\x00\x01"
    r = s.post(
        iosxe_sim.url + "/restconf/operations/Cisco-IOS-XE-rpc:delete",
        json={"filename-drop-node-name": "harddisk:app.tar"},
    )
    assert "Deleted" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]
    iosxe_sim.control.delete_file(key)
    assert iosxe_sim.control.state()["files"] == []


def test_recorded_requests_can_be_audited_against_yang(iosxe_sim: SimHandle) -> None:
    from hack.iosxe_sim.audit import invalid_requests

    s = session(iosxe_sim)
    s.post(iosxe_sim.url + APPS, json=app_config("ok1"))
    s.put(iosxe_sim.url + APPS + "/app=ok1", json=app_config("ok1", memory=128))
    rpc(s, iosxe_sim, "stop", appid="ok1")
    s.get(iosxe_sim.url + OPER)
    assert invalid_requests(iosxe_sim.requests()) == []
    s.post(iosxe_sim.url + APPS, json=app_config("bad", memory=70000))
    rpc(s, iosxe_sim, "install", appid="x", pkg="y")
    problems = invalid_requests(iosxe_sim.requests())
    assert len(problems) == 2
    assert problems[0].startswith("POST /restconf/data/Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps:")
    assert "memory-capacity-mb" in problems[0]
    assert "pkg" in problems[1]
