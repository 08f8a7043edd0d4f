"""Pod addresses of the FAKE device: a small allocator over podCIDR (or 10.244.<x>.0/24)."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable


def default_network(address: str) -> str:
    """10.244.<x>.0/24 with x derived from the device address, so fake devices rarely overlap."""
    x = hashlib.sha256(address.encode()).digest()[0]
    return f"10.244.{x}.0/24"


class AddressPool:
    """Hosts of ``network`` except the first one (the gateway the device keeps for itself)."""

    def __init__(self, network: str) -> None:
        self.network = ipaddress.ip_network(network, strict=False)

    def allocate(self, in_use: Iterable[str]) -> str | None:
        used = set(in_use)
        hosts = self.network.hosts()
        next(hosts, None)  # gateway
        for host in hosts:
            if str(host) not in used:
                return str(host)
        return None
