"""Which gNOI services a device lacks: the first UNIMPLEMENTED marks a service, later calls fail fast.

Entries expire after a TTL (10 minutes by default) and the whole cache is cleared when the channels
are rebuilt (reload, new credentials, a new CiscoDevice generation).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Counter

from cvk.transport.grpc.errors import ServiceUnsupported

SERVICES = ("system", "file", "os", "cert", "factory_reset", "gnmi")

CAPABILITY_CACHE = Counter(
    "cisco_vk_gnoi_capability_cache_total",
    "gNOI capability cache decisions, by service and result (hit: failed fast; miss: called the device; "
    "marked: UNIMPLEMENTED cached).",
    ["service", "result"],
)


class CapabilityCache:
    def __init__(self, target: str, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.target = target
        self.ttl = ttl
        self.clock = clock
        self._unsupported: dict[str, tuple[float, str]] = {}

    def check(self, service: str) -> None:
        """Raise ServiceUnsupported while ``service`` is marked; otherwise let the call go to the device."""
        entry = self._unsupported.get(service)
        if entry is not None:
            expires, detail = entry
            if self.clock() < expires:
                CAPABILITY_CACHE.labels(service, "hit").inc()
                raise ServiceUnsupported(service, self.target, f"cached: {detail}" if detail else "cached")
            del self._unsupported[service]
        CAPABILITY_CACHE.labels(service, "miss").inc()

    def mark_unsupported(self, service: str, detail: str = "") -> None:
        self._unsupported[service] = (self.clock() + self.ttl, detail)
        CAPABILITY_CACHE.labels(service, "marked").inc()

    def unsupported(self) -> set[str]:
        now = self.clock()
        return {s for s, (exp, _) in self._unsupported.items() if now < exp}

    def clear(self) -> None:
        self._unsupported.clear()
