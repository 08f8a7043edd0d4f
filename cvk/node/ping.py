"""Device ping: one probe in flight at a time, the latest result published to every reader.

This is virtual-kubelet's node ping controller (vk-library.md 1.2, behaviour 11) with one
deliberate difference in what a failed ping *means*:

- upstream treats any ping error as "the provider is unhealthy" and stops renewing the Lease and
  patching the node, so the node goes NotReady and the node-lifecycle controller evicts its pods
  after five minutes;
- here the ping probes the *device*. Losing the device is not the cisco-vk process being
  unhealthy, and it must never delete or fail pods (issue 5), so a device failure
  (``cvk.errors.DeviceError`` or a ping time-out) only turns the ``DeviceReachable`` node
  condition False. Only an unexpected exception (a driver bug) counts as *unhealthy* and gates
  the Lease and the status writes the way upstream does.

A ping that exceeds its time-out is recorded as ``DeviceUnreachable`` and keeps running; the next
round waits for that same call instead of starting a second one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import Gauge, Histogram

from cvk.errors import DeviceAuthError, DeviceError, DeviceUnreachable

log = logging.getLogger(__name__)

DEVICE_REACHABLE = Gauge("cisco_vk_device_reachable", "1 while the device answers cisco-vk's ping, else 0.")
PING_SECONDS = Histogram(
    "cisco_vk_device_ping_duration_seconds", "Duration of one device ping (until its time-out).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

PingListener = Callable[["PingResult"], None]

REASON_OK = "DeviceOK"
REASON_UNREACHABLE = "DeviceUnreachable"
REASON_AUTH = "DeviceAuthFailed"
REASON_ERROR = "DeviceError"


@dataclasses.dataclass(frozen=True)
class PingResult:
    """One ping outcome. ``error`` is None when the device answered."""

    at: float  # time.time() when the ping started
    duration: float
    error: BaseException | None = None

    @property
    def device_ok(self) -> bool:
        return self.error is None

    @property
    def healthy(self) -> bool:
        """False only for failures that are not about the device (a driver bug)."""
        return self.error is None or isinstance(self.error, DeviceError)

    @property
    def reason(self) -> str:
        return device_reason(self.error)

    @property
    def message(self) -> str:
        if self.error is None:
            return "the device answers"
        return f"{type(self.error).__name__}: {self.error}"


def device_reason(err: BaseException | None) -> str:
    """The condition reason naming the kind of device failure."""
    if err is None:
        return REASON_OK
    if isinstance(err, DeviceAuthError):
        return REASON_AUTH
    if isinstance(err, DeviceUnreachable):
        return REASON_UNREACHABLE
    return REASON_ERROR


class PingController:
    """Ping the device every ``interval`` seconds (measured from the end of the previous ping)."""

    def __init__(
        self,
        ping: Callable[[], Coroutine[Any, Any, None]],
        *,
        interval: float,
        timeout: float | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("ping interval must be > 0")
        if timeout is not None and timeout <= 0:
            raise ValueError("ping timeout must be > 0")
        self._ping = ping
        self._interval = interval
        self._timeout = timeout if timeout is not None else max(interval, 1.0)
        self._inflight: asyncio.Task[None] | None = None
        self._latest: PingResult | None = None
        self._first = asyncio.Event()
        self._changed = asyncio.Event()
        self._listeners: list[PingListener] = []
        self.calls = 0  # number of driver.ping() calls started (for tests and metrics)

    @property
    def latest(self) -> PingResult | None:
        return self._latest

    def add_listener(self, listener: PingListener) -> None:
        """Called with the new result whenever ``device_ok`` or the failure reason changes."""
        self._listeners.append(listener)

    async def wait_first(self) -> PingResult:
        await self._first.wait()
        assert self._latest is not None
        return self._latest

    async def ping_once(self) -> PingResult:
        """Run (or join) one ping and publish its result."""
        start = time.time()
        t0 = time.monotonic()
        if self._inflight is None or self._inflight.done():
            self.calls += 1
            self._inflight = asyncio.create_task(self._ping(), name="cvk-device-ping")
        task = self._inflight
        done, _ = await asyncio.wait({task}, timeout=self._timeout)
        err: BaseException | None
        if not done:
            err = DeviceUnreachable(f"the device did not answer a ping within {self._timeout:g}s")
        elif task.cancelled():
            err = DeviceUnreachable("the ping was cancelled")
        else:
            err = task.exception()
        result = PingResult(at=start, duration=time.monotonic() - t0, error=err)
        self._publish(result)
        return result

    def _publish(self, result: PingResult) -> None:
        DEVICE_REACHABLE.set(1 if result.device_ok else 0)
        PING_SECONDS.observe(result.duration)
        old = self._latest
        self._latest = result
        self._first.set()
        changed = old is None or old.device_ok != result.device_ok or old.reason != result.reason
        if not changed:
            return
        if result.device_ok:
            log.info("device ping ok", extra={"duration": round(result.duration, 3)})
        elif result.healthy:
            log.warning("device ping failed", extra={"reason": result.reason, "error": result.message})
        else:
            log.error("device ping raised an unexpected error", extra={"error": repr(result.error)})
        for listener in list(self._listeners):
            try:
                listener(result)
            except Exception:  # a listener bug must not stop the ping loop
                log.exception("ping listener failed")

    async def run(self) -> None:
        """Ping forever (until cancelled)."""
        try:
            while True:
                await self.ping_once()
                await asyncio.sleep(self._interval)
        finally:
            if self._inflight is not None and not self._inflight.done():
                self._inflight.cancel()
