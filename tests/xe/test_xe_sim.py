"""The XE driver against the IOS-XE simulator: every addressing mode, multi-container and long-named
pods, restart policies, deletion, list/ownership, and read-only observation."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest

from cvk.config.spec import (
    AppGigabitEthernetIf,
    AppGigMode,
    InterfaceType,
    ManagementIf,
    VirtualPortGroupIf,
    VlanIf,
    XEInterface,
)
from cvk.driver.xe import naming
from cvk.errors import InvalidInput, NotFound
from hack.iosxe_sim.fixtures import SimHandle
from tests.xe.helpers import apps_on, invalid_requests, phase_of, pod, start_driver, wait_for

FILES = {"flash:/hello.tar": b"IOX-PACKAGE"}


def _in(ip: str | None, net: str) -> bool:
    return ip is not None and ipaddress.ip_address(ip) in ipaddress.ip_network(net)


async def _run_pod_to_ip(sim: SimHandle, iface: XEInterface | None, net: str, **kw: Any) -> None:
    driver, rec = await start_driver(sim, iface, **kw)
    try:
        p = pod("web")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "web") == "Running", what="pod Running")
        status = await wait_for(
            lambda: (s := rec.latest("web")["status"]).get("podIP") and s,  # type: ignore[index]
            what="pod IP",
        )
        assert _in(status["podIP"], net), status["podIP"]
        assert status["podIPs"] == [{"ip": status["podIP"]}]
        assert status["hostIP"] == "127.0.0.1"
        app_id = naming.app_id("web", p["metadata"]["uid"], "app")
        assert apps_on(sim)[app_id]["state"] == "RUNNING"
        assert apps_on(sim)[app_id]["ip"] == status["podIP"]
        await driver.delete_pod(p)
        assert apps_on(sim) == {}
        assert phase_of(rec, "web") == "Succeeded"
        with pytest.raises(NotFound):
            await driver.get_pod_status("default", "web")
    finally:
        await driver.close()
    assert invalid_requests(sim) == []


async def test_vpg_dhcp_default_interface(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    await _run_pod_to_ip(sim, None, "192.168.1.0/24")


async def test_vpg1_dhcp_guest_interface(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    iface = XEInterface(
        type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=True, interface="1")
    )
    await _run_pod_to_ip(sim, iface, "192.168.100.0/24")


async def test_vpg_static_addresses_are_unique_with_the_device_gateway(
    iosxe_sim_factory: Callable[..., SimHandle],
) -> None:
    sim = iosxe_sim_factory(files=FILES)
    iface = XEInterface(type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=False))
    driver, rec = await start_driver(sim, iface, pod_cidr="192.168.1.0/24")
    try:
        pods = [pod(f"s{i}") for i in range(3)]
        for p in pods:
            await driver.create_pod(p)
        for p in pods:
            await wait_for(lambda p=p: phase_of(rec, p["metadata"]["name"]) == "Running", what="static pods Running")
        ips = {rec.latest(p["metadata"]["name"])["status"]["podIP"] for p in pods}  # type: ignore[index]
        assert len(ips) == 3 and all(_in(ip, "192.168.1.0/24") for ip in ips)
        assert "192.168.1.254" not in ips  # the VirtualPortGroup0 address (read from ARP) is the gateway
        cfg = sim.state.apps[naming.app_id("s0", pods[0]["metadata"]["uid"], "app")].config or {}
        res = cfg["application-network-resource"]
        assert res["virtualportgroup-application-default-gateway-1"] == "192.168.1.254"
        assert res["virtualportgroup-guest-ip-netmask-1"] == "255.255.255.0"
    finally:
        await driver.close()
    # A restarted cisco-vk recovers the allocations from the device and never reuses them.
    driver2, rec2 = await start_driver(sim, iface, pod_cidr="192.168.1.0/24")
    try:
        for p in pods:
            await driver2.create_pod(p)  # adopt
        extra = pod("s3")
        await driver2.create_pod(extra)
        await wait_for(lambda: phase_of(rec2, "s3") == "Running", what="4th static pod")
        for p in pods:
            await wait_for(lambda p=p: phase_of(rec2, p["metadata"]["name"]) == "Running", what="adopted pods")
        new_ip = rec2.latest("s3")["status"]["podIP"]  # type: ignore[index]
        assert new_ip not in ips
        assert {rec2.latest(p["metadata"]["name"])["status"]["podIP"] for p in pods} == ips  # type: ignore[index]
        assert len(apps_on(sim)) == 4
    finally:
        await driver2.close()
    assert invalid_requests(sim) == []


async def test_appgig_trunk_vlan_dhcp(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(platform="C9300", files=FILES)
    iface = XEInterface(
        type=InterfaceType.APP_GIGABIT_ETHERNET,
        app_gigabit_ethernet=AppGigabitEthernetIf(
            mode=AppGigMode.TRUNK, vlan_if=VlanIf(dhcp=True, vlan=200, mac_forwarding_enabled=True)
        ),
    )
    await _run_pod_to_ip(sim, iface, "10.200.0.0/24")


async def test_appgig_access_dhcp(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(platform="C9300", files=FILES)
    iface = XEInterface(
        type=InterfaceType.APP_GIGABIT_ETHERNET,
        app_gigabit_ethernet=AppGigabitEthernetIf(mode=AppGigMode.ACCESS, dhcp=True, guest_interface=0),
    )
    await _run_pod_to_ip(sim, iface, "10.1.0.0/24")


async def test_appgig_access_vlan_static(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(platform="C9300", files=FILES)
    iface = XEInterface(
        type=InterfaceType.APP_GIGABIT_ETHERNET,
        app_gigabit_ethernet=AppGigabitEthernetIf(mode=AppGigMode.ACCESS, vlan_if=VlanIf(dhcp=False, vlan=200)),
    )
    await _run_pod_to_ip(sim, iface, "10.200.0.0/24", pod_cidr="10.200.0.0/24")


async def test_management_dhcp(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    iface = XEInterface(type=InterfaceType.MANAGEMENT, management=ManagementIf(dhcp=True, guest_interface=0))
    await _run_pod_to_ip(sim, iface, "10.0.0.0/24")


async def test_management_static(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    iface = XEInterface(type=InterfaceType.MANAGEMENT, management=ManagementIf(dhcp=False, guest_interface=0))
    await _run_pod_to_ip(sim, iface, "10.0.0.0/24", pod_cidr="10.0.0.0/24")


async def test_vpg_static_ipv6(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    iface = XEInterface(
        type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=False, interface="0")
    )
    await _run_pod_to_ip(sim, iface, "fd00:10::/64", pod_cidr="fd00:10::/64")


async def test_appgig_access_vlan_static_ipv6(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(platform="C9300", files=FILES)
    iface = XEInterface(
        type=InterfaceType.APP_GIGABIT_ETHERNET,
        app_gigabit_ethernet=AppGigabitEthernetIf(mode=AppGigMode.ACCESS, vlan_if=VlanIf(dhcp=False, vlan=200)),
    )
    await _run_pod_to_ip(sim, iface, "fd00:200::/64", pod_cidr="fd00:200::/64")


async def test_ip_from_arp_when_oper_data_has_none(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES, oper_ip_mode="arp")
    await _run_pod_to_ip(sim, None, "192.168.1.0/24")


async def test_http_image_and_multi_container_pod(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim)
    try:
        p = pod(
            "multi",
            [
                {"name": "front", "image": "flash:/hello.tar"},
                {"name": "back", "image": "https://repo.example/pkgs/back.tar"},
                {"name": "side", "image": "flash:/hello.tar", "env": [{"name": "MODE", "value": "x"}]},
            ],
        )
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "multi") == "Running", what="multi Running")
        status = rec.latest("multi")["status"]  # type: ignore[index]
        assert [c["name"] for c in status["containerStatuses"]] == ["front", "back", "side"]
        assert all(c["ready"] for c in status["containerStatuses"])
        assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
        ids = {c["containerID"] for c in status["containerStatuses"]}
        assert len(ids) == 3 and all(i.startswith("cisco://cvk_multi_") for i in ids)
        assert len(apps_on(sim)) == 3
        listed = await driver.list_pods()
        assert [x["metadata"]["name"] for x in listed] == ["multi"]
        await driver.delete_pod(p)
        assert apps_on(sim) == {}
    finally:
        await driver.close()
    assert invalid_requests(sim) == []


async def test_long_names_map_back_after_restart(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    ns, name, cname = "n" * 63, "p" * 253, "c" * 63
    driver, rec = await start_driver(sim)
    try:
        p = pod(name, [{"name": cname, "image": "flash:/hello.tar"}], namespace=ns)
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, name) == "Running", what="long-named pod Running")
    finally:
        await driver.close()
    driver2, _ = await start_driver(sim)
    try:
        listed = await driver2.list_pods()
        assert [(x["metadata"]["namespace"], x["metadata"]["name"], x["metadata"]["uid"]) for x in listed] == [
            (ns, name, p["metadata"]["uid"])
        ]
        assert listed[0]["spec"]["containers"][0]["name"] == cname
        assert listed[0]["status"]["phase"] == "Running"
        status = await driver2.get_pod_status(ns, name)
        assert status["containerStatuses"][0]["name"] == cname
        await driver2.delete_pod(listed[0])  # startup reconciliation of a pod the API no longer has
        assert apps_on(sim) == {}
    finally:
        await driver2.close()
    assert invalid_requests(sim) == []


async def test_restart_policy_always_restarts_a_crashed_app(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim)
    try:
        p = pod("crashy", restart_policy="Always")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "crashy") == "Running", what="Running")
        app_id = naming.app_id("crashy", p["metadata"]["uid"], "app")
        for expected in (1, 2):
            sim.control.crash(app_id, exit_code=137)
            await wait_for(
                lambda n=expected: (
                    (s := rec.latest("crashy")["status"]["containerStatuses"][0])["restartCount"] == n  # type: ignore[index]
                    and "running" in s["state"]
                ),
                what=f"restart {expected}",
            )
        cs = rec.latest("crashy")["status"]["containerStatuses"][0]  # type: ignore[index]
        assert cs["lastState"]["terminated"]["exitCode"] == 137
        assert phase_of(rec, "crashy") == "Running"
        assert len(apps_on(sim)) == 1
    finally:
        await driver.close()


async def test_restart_policy_always_restarts_from_error_state(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim)
    try:
        p = pod("errapp", restart_policy="Always")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "errapp") == "Running", what="Running")
        app_id = naming.app_id("errapp", p["metadata"]["uid"], "app")
        sim.control.crash(app_id, exit_code=1, state="ERROR")
        await wait_for(
            lambda: (
                rec.latest("errapp")["status"]["containerStatuses"][0]["restartCount"] == 1  # type: ignore[index]
                and apps_on(sim)[app_id]["state"] == "RUNNING"
            ),
            what="restart from ERROR",
        )
    finally:
        await driver.close()


async def test_restart_policy_never_fails_the_pod(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim)
    try:
        p = pod("once", restart_policy="Never")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "once") == "Running", what="Running")
        app_id = naming.app_id("once", p["metadata"]["uid"], "app")
        sim.control.crash(app_id, exit_code=3)
        await wait_for(lambda: phase_of(rec, "once") == "Failed", what="Failed")
        term = rec.latest("once")["status"]["containerStatuses"][0]["state"]["terminated"]  # type: ignore[index]
        assert term["exitCode"] == 3 and term["reason"] == "Error"
        pushes = rec.count("once")
        for _ in range(3):
            await driver.pass_once()
        assert rec.count("once") == pushes  # terminal and unchanged: no more pushes, no restart
        assert apps_on(sim)[app_id]["state"] == "STOPPED"
        await driver.delete_pod(p)
        assert apps_on(sim) == {}
        assert phase_of(rec, "once") == "Failed"
    finally:
        await driver.close()


async def test_observation_never_writes_and_steady_pods_push_nothing(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.add_file("flash:/hello.tar")
    driver, rec = await start_driver(iosxe_sim)
    try:
        p = pod("steady")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "steady") == "Running", what="Running")
        await wait_for(lambda: rec.latest("steady")["status"].get("podIP"), what="IP")  # type: ignore[index]
        seq = iosxe_sim.requests()[-1]["seq"]
        pushes = rec.count("steady")
        first = await driver.get_pod_status("default", "steady")
        for _ in range(3):
            await driver.pass_once()
        await driver.ping()
        await driver.node_resources()
        await driver.list_pods()
        got = await driver.get_pod("default", "steady")
        assert got["status"] == first == await driver.get_pod_status("default", "steady")
        writes = [r for r in iosxe_sim.requests(seq) if r["method"] != "GET"]
        assert writes == []
        assert rec.count("steady") == pushes
    finally:
        await driver.close()


async def test_one_device_read_serves_every_pod(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.add_file("flash:/hello.tar")
    driver, rec = await start_driver(iosxe_sim)
    try:
        names = [f"p{i}" for i in range(6)]
        for n in names:
            await driver.create_pod(pod(n))
        for n in names:
            await wait_for(lambda n=n: phase_of(rec, n) == "Running", what="all Running")
        await wait_for(lambda: all(rec.latest(n)["status"].get("podIP") for n in names), what="IPs")  # type: ignore[index]
        seq = iosxe_sim.requests()[-1]["seq"]
        await driver.pass_once()
        reads = [r["path"].split("?")[0] for r in iosxe_sim.requests(seq)]
        assert reads == ["/restconf/data/Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data"]
    finally:
        await driver.close()


async def test_foreign_apps_are_never_touched(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.add_file("flash:/hello.tar")
    iosxe_sim.state.set_app_config("guest_app", {"application-name": "guest_app", "start": True})
    iosxe_sim.call(iosxe_sim.state.install("guest_app", "flash:/hello.tar"))
    driver, rec = await start_driver(iosxe_sim)
    try:
        p = pod("mine")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "mine") == "Running", what="Running")
        assert [x["metadata"]["name"] for x in await driver.list_pods()] == ["mine"]
        await driver.delete_pod(p)
        assert list(apps_on(iosxe_sim)) == ["guest_app"]
        with pytest.raises(NotFound):
            await driver.delete_pod(pod("never-created"))
        with pytest.raises(NotFound):
            await driver.get_pod_status("default", "never-created")
        assert not [r for r in iosxe_sim.requests() if "guest_app" in r["path"]]
    finally:
        await driver.close()


async def test_bad_image_fails_the_pod_before_touching_the_device(iosxe_sim: SimHandle) -> None:
    driver, _ = await start_driver(iosxe_sim)
    try:
        with pytest.raises(InvalidInput, match=r"spec.containers\[0\].image: 'nginx:latest'.*flash:"):
            await driver.create_pod(pod("bad", image="nginx:latest"))
        assert [r for r in iosxe_sim.requests() if r["method"] != "GET"] == []
    finally:
        await driver.close()


async def test_missing_package_is_reported_from_the_device(iosxe_sim: SimHandle) -> None:
    driver, rec = await start_driver(iosxe_sim)
    try:
        await driver.create_pod(pod("nopkg", image="flash:/missing.tar"))
        status = await wait_for(
            lambda: (s := rec.latest("nopkg")) and s["status"].get("reason") == "InstallFailed" and s["status"],
            what="install error in status",
        )
        waiting = status["containerStatuses"][0]["state"]["waiting"]
        assert waiting["reason"] == "InstallFailed"
        assert "flash:/missing.tar" in waiting["message"]
        assert status["phase"] == "Pending"
        iosxe_sim.control.add_file("flash:/missing.tar")
        await wait_for(lambda: phase_of(rec, "nopkg") == "Running", within=20, what="Running once the file exists")
    finally:
        await driver.close()


async def test_node_resources_from_the_device(iosxe_sim: SimHandle) -> None:
    driver, _ = await start_driver(iosxe_sim, max_pods=7)
    try:
        res = await driver.node_resources()
        assert res.capacity == {"pods": "7", "cpu": "7400m", "memory": "4096Mi", "ephemeral-storage": "11012Mi"}
        assert res.allocatable["pods"] == "7"
        assert res.node_info["machineID"] == iosxe_sim.state.platform.serial
        assert res.node_info["kernelVersion"].startswith("17.15")
        assert res.labels["cisco.vk/model"] == "C8000V"
        await driver.ping()
    finally:
        await driver.close()


async def test_installs_are_serialised_per_device(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES, delays={"install": 0.4})
    driver, rec = await start_driver(sim)
    try:
        names = [f"s{i}" for i in range(4)]
        for n in names:
            await driver.create_pod(pod(n))
        most = 0

        def all_running() -> bool:
            nonlocal most
            installing = sum(1 for a in apps_on(sim).values() if a["state"] == "INSTALLING")
            most = max(most, installing)
            return all(phase_of(rec, n) == "Running" for n in names)

        await wait_for(all_running, within=30, what="all Running")
        assert most == 1
    finally:
        await driver.close()


async def test_image_change_replaces_the_app(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files={**FILES, "flash:/v2.tar": b"IOX-PACKAGE-2"})
    driver, rec = await start_driver(sim)
    try:
        p = pod("upd")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "upd") == "Running", what="Running v1")
        app_id = naming.app_id("upd", p["metadata"]["uid"], "app")
        p2 = dict(p, spec=dict(p["spec"], containers=[{"name": "app", "image": "flash:/v2.tar"}]))
        await driver.update_pod(p2)
        await wait_for(
            lambda: apps_on(sim)[app_id]["package"] == "flash:/v2.tar" and apps_on(sim)[app_id]["state"] == "RUNNING",
            within=20,
            what="v2 running",
        )
        await wait_for(
            lambda: (
                rec.latest("upd")["status"]["containerStatuses"][0]["image"] == "flash:/v2.tar"  # type: ignore[index]
                and phase_of(rec, "upd") == "Running"
            ),
            what="status shows v2",
        )
        assert list(apps_on(sim)) == [app_id]
    finally:
        await driver.close()
    assert invalid_requests(sim) == []


async def test_stats_from_app_utilisation(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.add_file("flash:/hello.tar")
    driver, rec = await start_driver(iosxe_sim)
    try:
        await driver.create_pod(pod("busy"))
        await wait_for(lambda: phase_of(rec, "busy") == "Running", what="Running")
        stats = await driver.stats()
        assert [(p.name, [c.name for c in p.containers]) for p in stats.pods] == [("busy", ["app"])]
        c = stats.pods[0].containers[0]
        # The simulator reports 10% of the 1000 reserved units busy and a quarter of 512 MB used.
        assert c.cpu_usage_nano_cores == 100_000_000
        assert c.memory_working_set_bytes == 128 * 2**20
        assert stats.memory_available_bytes == (4096 - 512) * 2**20
        later = await driver.stats()
        assert later.pods[0].containers[0].cpu_usage_core_nano_seconds >= c.cpu_usage_core_nano_seconds
    finally:
        await driver.close()


async def test_allow_unsigned_apps_disables_verification_once(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.add_file("flash:/hello.tar")
    iosxe_sim.state.sign_verification = True
    driver, rec = await start_driver(iosxe_sim, allow_unsigned_apps=True)
    try:
        for n in ("u1", "u2"):
            await driver.create_pod(pod(n))
        await wait_for(lambda: phase_of(rec, "u1") == "Running" and phase_of(rec, "u2") == "Running", what="Running")
        assert iosxe_sim.state.sign_verification is False
        sent = [r for r in iosxe_sim.requests() if "verification" in str(r["body"])]
        assert len(sent) == 1
    finally:
        await driver.close()
    assert invalid_requests(iosxe_sim) == []


async def test_app_without_address_does_not_read_arp_every_pass(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    import dataclasses

    from tests.xe.helpers import FAST

    sim = iosxe_sim_factory(files=FILES)
    no_pool = XEInterface(
        type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=True, interface="3")
    )
    driver, rec = await start_driver(sim, no_pool, settings=dataclasses.replace(FAST, arp_retry_interval=60.0))
    try:
        await driver.create_pod(pod("noip"))
        await wait_for(lambda: phase_of(rec, "noip") == "Running", what="Running")
        for _ in range(5):
            await driver.pass_once()
        arp_reads = [r for r in sim.requests() if "arp-data" in r["path"]]
        assert len(arp_reads) == 1
        assert "podIP" not in rec.latest("noip")["status"]  # type: ignore[index]
    finally:
        await driver.close()


async def test_container_logs_over_gnoi_file(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    from cvk.config.spec import GnoiConfig
    from cvk.driver.base import LogOptions

    sim = iosxe_sim_factory(files=FILES, grpc=True)
    driver, rec = await start_driver(sim, gnoi=GnoiConfig(port=sim.grpc_port, transport_security="tls"))
    try:
        p = pod("talky")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "talky") == "Running", what="Running")
        sim.state.add_log(naming.app_id("talky", p["metadata"]["uid"], "app"), "hello from the app")
        out = b"".join([chunk async for chunk in driver.container_logs("default", "talky", "app", LogOptions())])
        assert b"hello from the app" in out
        tail = b"".join(
            [chunk async for chunk in driver.container_logs("default", "talky", "app", LogOptions(tail_lines=1))]
        )
        assert tail.strip().endswith(b"hello from the app") and tail.count(b"\n") == 1
        with pytest.raises(NotFound):
            async for _ in driver.container_logs("default", "talky", "nope", LogOptions()):
                pass
    finally:
        await driver.close()


async def test_adopt_pod_only_takes_over_apps_of_that_uid_after_a_restart(
    iosxe_sim_factory: Callable[..., SimHandle],
) -> None:
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim)
    p = pod("web")
    try:
        assert await driver.adopt_pod(p) is False  # nothing on the device yet
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "web") == "Running", what="pod Running")
        assert await driver.adopt_pod(p) is False  # the driver holds the pod: a difference is a real update
    finally:
        await driver.close()
    requests = len(sim.requests())
    driver2, rec2 = await start_driver(sim)
    try:
        other = pod("web")  # same name, another UID: not ours to adopt
        assert await driver2.adopt_pod(other) is False
        assert await driver2.adopt_pod(p) is True
        await wait_for(lambda: phase_of(rec2, "web") == "Running", what="adopted pod Running")
        assert (await driver2.get_pod("default", "web"))["spec"] == p["spec"]
        writes = [r for r in sim.requests()[requests:] if r["method"] != "GET"]
        assert writes == []  # adoption changes nothing on the device
    finally:
        await driver2.close()


async def test_env_with_spaces_reaches_the_device_and_the_pod_is_found_again(
    iosxe_sim_factory: Callable[..., SimHandle],
) -> None:
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim)
    p = pod("web", [{"name": "app", "image": "flash:/hello.tar",
                     "env": [{"name": "JAVA_OPTS", "value": "-Xmx64m --label io.kubernetes.pod.name=x"}]}])
    try:
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "web") == "Running", what="pod Running")
    finally:
        await driver.close()
    driver2, _ = await start_driver(sim)
    try:
        listed = await driver2.list_pods()
        assert [(x["metadata"]["name"], x["metadata"]["uid"]) for x in listed] == [("web", p["metadata"]["uid"])]
    finally:
        await driver2.close()
    assert invalid_requests(sim) == []
