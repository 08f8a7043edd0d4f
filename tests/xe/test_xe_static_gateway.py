"""Static addressing: the default gateway is the device's own address in podCIDR, even when the first
read of the ARP table (where that address is found) fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cvk.config.spec import InterfaceType, VirtualPortGroupIf, XEInterface
from cvk.driver.xe import naming
from cvk.driver.xe.driver import XEDriver
from cvk.driver.xe.records import build_pod_record
from hack.iosxe_sim.fixtures import SimHandle
from tests.xe.helpers import FAST, invalid_requests, phase_of, pod, spec_for, start_driver, wait_for

FILES = {"flash:/hello.tar": b"IOX-PACKAGE"}


async def test_gateway_is_found_after_a_failed_arp_read(iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    # More failures than the client retries: the first ARP read fails as a whole.
    sim.control.fail(status=503, count=FAST.retries + 1, method="GET", path="arp-data")
    iface = XEInterface(type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=False))
    driver, rec = await start_driver(sim, iface, pod_cidr="192.168.1.0/24")
    try:
        p = pod("gw")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "gw") == "Running", what="static pod Running")
        cfg = sim.state.apps[naming.app_id("gw", p["metadata"]["uid"], "app")].config or {}
        res = cfg["application-network-resource"]
        assert res["virtualportgroup-application-default-gateway-1"] == "192.168.1.254"
        assert res["virtualportgroup-guest-ip-address-1"] != "192.168.1.254"
    finally:
        await driver.close()
    assert invalid_requests(sim) == []



async def test_an_arp_table_the_user_may_not_read_leaves_the_first_host_as_gateway(
    iosxe_sim_factory: Callable[..., SimHandle],
) -> None:
    sim = iosxe_sim_factory(files=FILES)
    sim.control.fail(status=403, count=None, method="GET", path="arp-data")  # a refusal that stays
    iface = XEInterface(type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=False))
    driver, rec = await start_driver(sim, iface, pod_cidr="192.168.1.0/24")
    try:
        p = pod("noarp")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "noarp") == "Running", what="static pod Running without ARP")
        cfg = sim.state.apps[naming.app_id("noarp", p["metadata"]["uid"], "app")].config or {}
        res = cfg["application-network-resource"]
        assert res["virtualportgroup-application-default-gateway-1"] == "192.168.1.1"
        assert res["virtualportgroup-guest-ip-address-1"] not in ("192.168.1.1", "192.168.1.254")
    finally:
        await driver.close()


async def test_addresses_handed_out_concurrently_are_unique_and_share_the_device_gateway(
    iosxe_sim_factory: Callable[..., SimHandle],
) -> None:
    """Configure steps of several containers run at once; a pass may observe the device before their
    config writes land. Every address stays handed out, and every app gets the discovered gateway."""
    sim = iosxe_sim_factory(files=FILES)
    sim.control.latency(0.2, count=None, method="GET", path="arp-data")  # discovery takes a while
    iface = XEInterface(type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=False))
    driver = XEDriver(spec_for(sim, iface, pod_cidr="192.168.1.0/24"), settings=FAST)
    try:
        p = pod("trio", [{"name": n, "image": "flash:/hello.tar"} for n in ("a", "b", "c")])
        record = build_pod_record(driver.spec, p, static_ready=True)
        first, second, third = record.containers
        entries = list(await asyncio.gather(driver._entry_for(first), driver._entry_for(second)))
        assert driver._allocator is not None
        driver._allocator.observe({})  # a pass read the device before either config write landed
        entries.append(await driver._entry_for(third))
        res = [e["application-network-resource"] for e in entries]
        assert [r["virtualportgroup-application-default-gateway-1"] for r in res] == ["192.168.1.254"] * 3
        ips = [r["virtualportgroup-guest-ip-address-1"] for r in res]
        assert len(set(ips)) == 3 and "192.168.1.254" not in ips, ips
    finally:
        await driver.close()
