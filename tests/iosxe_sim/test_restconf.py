"""RFC 8040 semantics as the simulator implements them (and the IOS-XE quirks it models)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from hack.iosxe_sim.fixtures import SimHandle
from tests.iosxe_sim.helpers import APPS, ARP, CFG, HW, JSON, OPER, app_config, rpc, session


def error(r: requests.Response) -> dict[str, Any]:
    assert r.headers["Content-Type"].startswith(JSON)
    (err,) = r.json()["ietf-restconf:errors"]["error"]
    return dict(err)


def test_host_meta_points_at_restconf(iosxe_sim: SimHandle) -> None:
    r = session(iosxe_sim).get(iosxe_sim.url + "/.well-known/host-meta")
    assert r.status_code == 200
    assert "<Link rel='restconf' href='/restconf'/>" in r.text


def test_tls_is_verified_with_the_written_ca(iosxe_sim: SimHandle) -> None:
    s = requests.Session()
    s.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        s.get(iosxe_sim.url + "/.well-known/host-meta", verify=True, timeout=5)
    assert s.get(iosxe_sim.url + "/restconf", verify=iosxe_sim.ca_file, auth=("admin", "admin")).ok


def test_bad_credentials_get_401_with_www_authenticate(iosxe_sim: SimHandle) -> None:
    for auth in (("admin", "wrong"), ("nobody", "admin")):
        r = session(iosxe_sim, auth=auth).get(iosxe_sim.url + CFG)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"].startswith("Basic")
        assert error(r)["error-tag"] == "access-denied"
    s = requests.Session()
    s.trust_env = False
    assert s.get(iosxe_sim.url + CFG, verify=iosxe_sim.ca_file).status_code == 401


def test_custom_credentials(iosxe_sim_factory: Any) -> None:
    sim = iosxe_sim_factory(username="ops", password="s3cret")
    assert session(sim, auth=("admin", "admin")).get(sim.url + CFG).status_code == 401
    assert session(sim).get(sim.url + CFG).status_code == 204


def test_empty_container_is_204_and_missing_entry_404(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    assert s.get(iosxe_sim.url + CFG).status_code == 204
    r = s.get(iosxe_sim.url + APPS + "/app=nope")
    assert r.status_code == 404
    err = error(r)
    assert err["error-tag"] == "invalid-value"
    assert err["error-message"] == "uri keypath not found"
    assert s.delete(iosxe_sim.url + APPS + "/app=nope").status_code == 404


def test_unknown_paths_are_404(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    assert s.get(iosxe_sim.url + "/restconf/data/Cisco-IOS-XE-app-hosting-cfg:nope").status_code == 404
    assert s.get(iosxe_sim.url + "/restconf/data/no-such-module:data").status_code == 404
    assert s.get(iosxe_sim.url + "/restconf/data/app-hosting-cfg-data").status_code == 400


def test_post_creates_then_conflicts(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    r = s.post(iosxe_sim.url + APPS, json=app_config("a1"))
    assert r.status_code == 201
    assert r.headers["Location"].endswith(APPS + "/app=a1")
    r = s.post(iosxe_sim.url + APPS, json=app_config("a1"))
    assert r.status_code == 409
    err = error(r)
    assert err["error-tag"] == "data-exists"
    assert err["error-path"] == "/Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps/app=a1"
    body = s.get(iosxe_sim.url + CFG).json()
    assert [
        a["application-name"] for a in body["Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data"]["apps"]["app"]
    ] == ["a1"]


def test_post_on_the_top_container_and_datastore_root(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    apps = {"apps": {"app": app_config("r1")["Cisco-IOS-XE-app-hosting-cfg:app"]}}
    r = s.post(iosxe_sim.url + "/restconf/data", json={"Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data": apps})
    assert r.status_code == 201
    assert iosxe_sim.state.apps["r1"].config is not None
    r = s.post(iosxe_sim.url + "/restconf/data", json={"Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data": apps})
    assert r.status_code == 409


def test_put_creates_201_then_replaces_204(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    url = iosxe_sim.url + APPS + "/app=p1"
    assert s.put(url, json=app_config("p1", memory=256)).status_code == 201
    assert s.put(url, json=app_config("p1", memory=128)).status_code == 204
    prof = s.get(url).json()["Cisco-IOS-XE-app-hosting-cfg:app"][0]["application-resource-profile"]
    assert prof["memory-capacity-mb"] == 128
    r = s.put(url, json=app_config("other"))
    assert r.status_code == 400
    assert "do not match the URI" in error(r)["error-message"]


def test_patch_merges_and_needs_an_existing_target(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    url = iosxe_sim.url + APPS + "/app=m1"
    patch = {"Cisco-IOS-XE-app-hosting-cfg:app": [{"application-name": "m1", "start": True}]}
    assert s.patch(url, json=patch).status_code == 404
    s.post(iosxe_sim.url + APPS, json=app_config("m1"))
    assert s.patch(url, json=patch).status_code == 204
    app = s.get(url).json()["Cisco-IOS-XE-app-hosting-cfg:app"][0]
    assert app["start"] is True
    assert app["application-resource-profile"]["memory-capacity-mb"] == 512


def test_leaf_resources(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    s.post(iosxe_sim.url + APPS, json=app_config("l1"))
    url = iosxe_sim.url + APPS + "/app=l1/start"
    assert s.get(url).json() == {"Cisco-IOS-XE-app-hosting-cfg:start": False}
    assert s.put(url, json={"Cisco-IOS-XE-app-hosting-cfg:start": True}).status_code == 204
    assert s.get(url).json() == {"Cisco-IOS-XE-app-hosting-cfg:start": True}
    assert s.delete(url).status_code == 204
    assert s.get(url).status_code == 404


def test_xml_is_refused(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    r = s.get(iosxe_sim.url + CFG, headers={"Accept": "application/yang-data+xml"})
    assert r.status_code == 406
    r = s.post(
        iosxe_sim.url + APPS,
        data="<app><application-name>x</application-name></app>",
        headers={"Content-Type": "application/yang-data+xml"},
    )
    assert r.status_code == 415


def test_malformed_bodies(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    r = s.post(iosxe_sim.url + APPS, data="{not json")
    assert r.status_code == 400
    assert error(r)["error-tag"] == "malformed-message"
    r = s.post(iosxe_sim.url + APPS, json={"a": 1, "b": 2})
    assert r.status_code == 400


def test_oper_data_is_read_only(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    r = s.put(iosxe_sim.url + OPER, json={"Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data": {}})
    assert r.status_code == 405


def test_query_parameters(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    s.post(iosxe_sim.url + APPS, json=app_config("q1"))
    body = s.get(iosxe_sim.url + OPER + "?fields=app-resources(name;memory)").json()
    (res,) = body["Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data"]["app-resources"]
    assert set(res) == {"name", "memory"}
    body = s.get(iosxe_sim.url + CFG + "?depth=2").json()
    assert body == {"Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data": {"apps": {}}}
    body = s.get(iosxe_sim.url + APPS + "/app=q1?depth=1").json()
    assert body == {"Cisco-IOS-XE-app-hosting-cfg:app": [{"application-name": "q1"}]}
    assert s.get(iosxe_sim.url + OPER + "?content=config").status_code == 204
    assert s.get(iosxe_sim.url + CFG + "?content=nonconfig").status_code == 204
    assert s.get(iosxe_sim.url + CFG + "?content=config").status_code == 200
    assert s.get(iosxe_sim.url + CFG + "?depth=0").status_code == 400
    assert s.get(iosxe_sim.url + CFG + "?fields=a(b").status_code == 400
    assert s.get(iosxe_sim.url + CFG + "?bogus=1").status_code == 400
    whole = s.get(iosxe_sim.url + "/restconf/data?content=config").json()["ietf-restconf:data"]
    assert set(whole) == {"Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data"}


def test_operations_and_api_root(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    ops = s.get(iosxe_sim.url + "/restconf/operations").json()["ietf-restconf:operations"]
    assert "Cisco-IOS-XE-rpc:app-hosting" in ops
    assert "ietf-restconf:restconf" in s.get(iosxe_sim.url + "/restconf").json()
    r = s.post(iosxe_sim.url + "/restconf/operations/Cisco-IOS-XE-rpc:nope", json={})
    assert r.status_code == 404
    r = s.post(iosxe_sim.url + "/restconf/operations/Cisco-IOS-XE-rpc:guestshell", json={"enable": [None]})
    assert r.status_code == 501


def test_rpc_input_wrapper_is_accepted(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    iosxe_sim.control.add_file("flash:/w.tar")
    r = s.post(
        iosxe_sim.url + "/restconf/operations/Cisco-IOS-XE-rpc:app-hosting",
        json={"Cisco-IOS-XE-rpc:input": {"install": {"appid": "w1", "package": "flash:w.tar"}}},
    )
    assert r.status_code == 200
    assert "Installing" in r.json()["Cisco-IOS-XE-rpc:output"]["result"]


def test_device_hardware_gives_node_info(iosxe_sim_factory: Any) -> None:
    sim = iosxe_sim_factory(platform="C9300")
    body = session(sim).get(sim.url + HW).json()["Cisco-IOS-XE-device-hardware-oper:device-hardware-data"]
    chassis = [i for i in body["device-hardware"]["device-inventory"] if i["hw-type"] == "hw-type-chassis"]
    assert chassis[0]["serial-number"] == sim.state.platform.serial
    assert chassis[0]["part-number"] == "C9300-24P"
    assert "Version 17.18.02" in body["device-hardware"]["device-system-data"]["software-version"]


def test_arp_table_has_gateway_entries(iosxe_sim: SimHandle) -> None:
    body = session(iosxe_sim).get(iosxe_sim.url + ARP).json()
    (vrf,) = body["Cisco-IOS-XE-arp-oper:arp-data"]["arp-vrf"]
    assert {"address": "192.168.1.254", "interface": "VirtualPortGroup0"}.items() <= vrf["arp-oper"][0].items()


def test_app_ids_are_percent_decoded_in_paths(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    s.post(iosxe_sim.url + APPS, json=app_config("x_1"))
    assert s.get(iosxe_sim.url + APPS + "/app=x%5F1").status_code == 200
    assert rpc(s, iosxe_sim, "stop", appid="x_1").status_code == 200
