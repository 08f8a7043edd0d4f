"""Static addressing: the default gateway is the device's own address in podCIDR, even when the first
read of the ARP table (where that address is found) fails."""

from __future__ import annotations

from collections.abc import Callable

from cvk.config.spec import InterfaceType, VirtualPortGroupIf, XEInterface
from cvk.driver.xe import naming
from hack.iosxe_sim.fixtures import SimHandle
from tests.xe.helpers import FAST, invalid_requests, phase_of, pod, start_driver, wait_for

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
