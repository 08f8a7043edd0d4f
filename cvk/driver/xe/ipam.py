"""Static addressing: a per-device allocator over ``podCIDR`` (IPv4, or IPv6 for the model's static
IPv6 leaves).

Every app (one per container) gets its own address, unique on the device; the default gateway is
the first host of the CIDR unless told otherwise (e.g. the VirtualPortGroup's own address). The
device's app configuration is the persistent store: ``observe`` is fed the static addresses found in
every app config (ours and foreign ones), so after a restart of cisco-vk the allocator knows every
address in use and hands out the same one again to an app that already has it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from cvk.driver.xe.network import StaticAddress
from cvk.errors import InvalidInput


class StaticAllocator:
    def __init__(self, pod_cidr: str, gateway: str | None = None) -> None:
        try:
            net = ipaddress.ip_network(pod_cidr, strict=False)
        except ValueError as e:
            raise InvalidInput(f"podCIDR: {pod_cidr!r} is not a CIDR (e.g. 192.168.10.0/24): {e}") from e
        smallest = 29 if net.version == 4 else 125
        if net.prefixlen > smallest:
            raise InvalidInput(f"podCIDR: {pod_cidr!r} is too small for apps; use a /{smallest} or larger")
        self.network: ipaddress.IPv4Network | ipaddress.IPv6Network = net
        self.ipv6 = net.version == 6
        self.netmask = "" if self.ipv6 else str(net.netmask)
        self.prefix_len = net.prefixlen if self.ipv6 else None
        gw = self._address(gateway) if gateway else net.network_address + 1
        if gw not in net:
            raise InvalidInput(f"podCIDR: gateway {gw} is outside {net}")
        self.gateway = str(gw)
        self._device: dict[str, str] = {}  # app id -> address, as configured on the device
        self._local: dict[str, str] = {}  # app id -> address, handed out and not yet seen on the device

    def use_gateway(self, gateway: str) -> None:
        """Set the default gateway (the device's own address in the CIDR); allocations are kept."""
        gw = self._address(gateway)
        if gw not in self.network:
            raise InvalidInput(f"podCIDR: gateway {gw} is outside {self.network}")
        self.gateway = str(gw)

    def _address(self, text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        addr = ipaddress.ip_address(text)
        if addr.version != self.network.version:
            raise InvalidInput(f"podCIDR: gateway {addr} is not an IPv{self.network.version} address")
        return addr

    def _static(self, ip: str) -> StaticAddress:
        return StaticAddress(ip=ip, netmask=self.netmask, gateway=self.gateway, prefix_len=self.prefix_len)

    def observe(self, configured: Mapping[str, str]) -> None:
        """Record the static addresses of every app configured on the device (app id -> address)."""
        self._device = {k: v for k, v in configured.items() if self._inside(v)}
        for app, ip in list(self._local.items()):
            if app in self._device:
                del self._local[app]
            elif ip in self._device.values():
                del self._local[app]  # the device gave it to someone else: hand out another one

    def _inside(self, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in self.network
        except ValueError:
            return False

    def allocate(self, app: str) -> StaticAddress:
        """The address of ``app``: the one it already has, else the lowest free host."""
        current = self._device.get(app) or self._local.get(app)
        if current is not None:
            return self._static(current)
        used = set(self._device.values()) | set(self._local.values()) | {self.gateway}
        for host in self.network.hosts():
            ip = str(host)
            if ip not in used:
                self._local[app] = ip
                return self._static(ip)
        raise InvalidInput(
            f"podCIDR: {self.network} has no free address left for another app "
            f"({len(used) - 1} in use); use a larger podCIDR"
        )

    def release(self, app: str) -> None:
        self._local.pop(app, None)
        self._device.pop(app, None)

    def in_use(self) -> dict[str, str]:
        return {**self._device, **self._local}
