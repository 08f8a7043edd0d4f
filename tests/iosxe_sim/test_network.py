"""DHCP pools, static addressing, ARP fallback, and oper data shapes per platform."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from hack.iosxe_sim import oper
from hack.iosxe_sim.fixtures import SimHandle
from hack.iosxe_sim.platforms import PLATFORMS
from hack.yang.validate import validate
from tests.iosxe_sim.helpers import APPS, ARP, OPER, app_config, oper_state, rpc, session, wait_for


def run_app(sim: SimHandle, app_id: str, **cfg: Any) -> dict[str, Any]:
    """Configure, install and start an app; return its oper entry."""
    s = session(sim)
    if "bootflash:/a.tar" not in sim.state.files:
        sim.control.add_file("bootflash:/a.tar")
    r = s.post(sim.url + APPS, json=app_config(app_id, start=True, **cfg))
    assert r.status_code == 201, r.text
    rpc(s, sim, "install", appid=app_id, package="bootflash:/a.tar")
    wait_for(lambda: oper_state(s, sim, app_id) == "RUNNING", what=f"{app_id} RUNNING")
    body = s.get(sim.url + OPER + f"/app={app_id}").json()
    return dict(body["Cisco-IOS-XE-app-hosting-oper:app"][0])


def nics(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return list(entry["network-interfaces"]["network-interface"])


def arp_ip(sim: SimHandle, mac: str) -> str | None:
    vrf = session(sim).get(sim.url + ARP).json()["Cisco-IOS-XE-arp-oper:arp-data"]["arp-vrf"][0]
    return next((e["address"] for e in vrf["arp-oper"] if e["hardware"] == mac), None)


def test_dhcp_gives_unique_addresses_in_the_vpg_pool(iosxe_sim: SimHandle) -> None:
    ips = set()
    for n in range(3):
        (nic,) = nics(run_app(iosxe_sim, f"d{n}"))
        assert nic["attached-interface"] == "VirtualPortGroup0"
        assert ipaddress.ip_address(nic["ipv4-address"]) in ipaddress.ip_network("192.168.1.0/24")
        assert arp_ip(iosxe_sim, nic["mac-address"]) == nic["ipv4-address"]
        ips.add(nic["ipv4-address"])
    assert len(ips) == 3
    assert "192.168.1.254" not in ips  # the gateway


def test_lease_survives_stop_start_and_is_released_on_uninstall(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    (nic,) = nics(run_app(iosxe_sim, "keep"))
    for op in ("stop", "start"):
        rpc(s, iosxe_sim, op, appid="keep")
    again = s.get(iosxe_sim.url + OPER + "/app=keep").json()["Cisco-IOS-XE-app-hosting-oper:app"][0]
    assert nics(again)[0]["ipv4-address"] == nic["ipv4-address"]
    for op in ("stop", "deactivate", "uninstall"):
        rpc(s, iosxe_sim, op, appid="keep")
    assert iosxe_sim.state.leases == {}
    assert arp_ip(iosxe_sim, nic["mac-address"]) is None


def test_arp_mode_hides_the_ip_from_oper_data(iosxe_sim_factory: Any) -> None:
    sim = iosxe_sim_factory(oper_ip_mode="arp")
    (nic,) = nics(run_app(sim, "hidden"))
    assert nic["ipv4-address"] == "0.0.0.0"
    ip = arp_ip(sim, nic["mac-address"])
    assert ip is not None and ip.startswith("192.168.1.")
    sim.control.set_oper_ip_mode("oper")
    entry = session(sim).get(sim.url + OPER + "/app=hidden").json()["Cisco-IOS-XE-app-hosting-oper:app"][0]
    assert nics(entry)[0]["ipv4-address"] == ip


def test_static_vpg_address(iosxe_sim: SimHandle) -> None:
    res = {
        "vnic-gateway-0": "0",
        "virtualportgroup-guest-interface-name-1": "0",
        "virtualportgroup-guest-ip-address-1": "192.168.1.77",
        "virtualportgroup-guest-ip-netmask-1": "255.255.255.0",
        "virtualportgroup-application-default-gateway-1": "192.168.1.254",
    }
    (nic,) = nics(run_app(iosxe_sim, "st", **{"application-network-resource": res}))
    assert nic["ipv4-address"] == "192.168.1.77"
    assert iosxe_sim.state.leases == {}
    # a DHCP app never gets the statically used address
    (other,) = nics(run_app(iosxe_sim, "dyn"))
    assert other["ipv4-address"] != "192.168.1.77"


def test_appgig_trunk_vlan_on_c9300(iosxe_sim_factory: Any) -> None:
    sim = iosxe_sim_factory(platform="C9300")
    cfg = {
        "application-network-resource": {"appintf-vlan-mode": "appintf-trunk"},
        "appintf-vlan-rules": {
            "appintf-vlan-rule": [
                {"vlan-id": 200, "guest-interface": 0, "mac-forward-enable": True, "mcast-enable": True}
            ]
        },
    }
    (nic,) = nics(run_app(sim, "trunk", **cfg))
    assert nic["attached-interface"] == "Vlan200"
    assert ipaddress.ip_address(nic["ipv4-address"]) in ipaddress.ip_network("10.200.0.0/24")


def test_vlan_without_dhcp_pool_gets_no_address(iosxe_sim_factory: Any) -> None:
    sim = iosxe_sim_factory(platform="C9300")
    cfg = {
        "application-network-resource": {"appintf-vlan-mode": "appintf-access"},
        "appintf-vlan-rules": {"appintf-vlan-rule": [{"vlan-id": 999, "guest-interface": 0}]},
    }
    (nic,) = nics(run_app(sim, "nopool", **cfg))
    assert nic["ipv4-address"] == "0.0.0.0"
    assert arp_ip(sim, nic["mac-address"]) is None


def test_management_static_address(iosxe_sim: SimHandle) -> None:
    cfg = {
        "application-network-resource": {
            "management-interface-name": "0",
            "management-guest-ip-address": "10.0.0.50",
            "management-guest-ip-netmask": "255.255.255.0",
        },
        "appintf-mgmt": {"access-if-num": 0},
    }
    (nic,) = nics(run_app(iosxe_sim, "mgmt", **cfg))
    assert (nic["attached-interface"], nic["ipv4-address"]) == ("GigabitEthernet0", "10.0.0.50")


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_oper_trees_conform_to_the_yang_models(iosxe_sim_factory: Any, platform: str) -> None:
    sim = iosxe_sim_factory(platform=platform)
    run_app(sim, "running")
    s = session(sim)
    s.post(sim.url + APPS, json=app_config("deployed", memory=64))
    rpc(s, sim, "install", appid="deployed", package="bootflash:/a.tar")
    wait_for(lambda: oper_state(s, sim, "deployed") == "DEPLOYED")
    for tree in (oper.app_hosting_oper(sim.state), oper.arp_data(sim.state), oper.device_hardware(sim.state)):
        assert validate("", tree, "nonconfig") == []
    res = s.get(sim.url + OPER + "/app-resources=global").json()["Cisco-IOS-XE-app-hosting-oper:app-resources"][0]
    p = sim.state.platform
    assert res["cpu"][0]["quota-unit"] == str(p.cpu_units)
    assert res["cpu"][0]["available-unit"] == str(p.cpu_units - 1000)
    assert res["memory"][0]["quota"] == p.memory_mb
    assert sim.control.state()["gnoi_services"] == sorted(p.gnoi_services)
