"""One device-wide read shared by every pod: app configs, app oper data, and ARP when needed.

Per interval the device is asked once for ``app-hosting-oper-data`` (every app's state, plus IOx
resources and notifications) and, when something is in progress or every ``config_refresh_every``
intervals otherwise, once for the app configs. ARP is read only when a running app shows no address
in oper data, and an address found there is remembered until the app stops running. Reads only.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import time
from typing import Any

from cvk.driver.xe import paths
from cvk.driver.xe.oper import OperData, parse_arp, parse_configs, parse_oper
from cvk.errors import DeviceError, NotFound
from cvk.transport.restconf import RestconfClient

log = logging.getLogger(__name__)

NOT_INSTALLED = frozenset({"", "UNINSTALLED", "NOT INSTALLED"})


@dataclasses.dataclass(frozen=True)
class Snapshot:
    at: float  # time.monotonic() when the read finished
    configs: dict[str, dict[str, Any]]
    oper: OperData
    started: float = 0.0  # time.monotonic() when the read began: it shows nothing done after this

    def state_of(self, app_id: str) -> str | None:
        """The app's details/state; None when the device shows it not installed."""
        app = self.oper.apps.get(app_id)
        if app is None or app.state in NOT_INSTALLED:
            return None
        return app.state


class SnapshotSource:
    """Takes snapshots; concurrent callers share one read."""

    def __init__(self, client: RestconfClient, *, config_refresh_every: int = 12) -> None:
        self.client = client
        self.config_refresh_every = max(1, config_refresh_every)
        self.latest: Snapshot | None = None
        self.last_error: DeviceError | None = None
        self._error_at = 0.0
        self._configs: dict[str, dict[str, Any]] | None = None
        self._since_config = 0
        self._lock = asyncio.Lock()

    def note_configured(self, app_id: str, entry: dict[str, Any]) -> None:
        if self._configs is not None:
            self._configs[app_id] = entry

    def note_unconfigured(self, app_id: str) -> None:
        if self._configs is not None:
            self._configs.pop(app_id, None)

    def invalidate_configs(self) -> None:
        self._configs = None

    async def take(self, *, need_config: bool = False, max_age: float | None = None) -> Snapshot:
        """A snapshot no older than ``max_age`` (None: a new one). Raises the DeviceError of the read."""
        started = time.monotonic()
        async with self._lock:
            err = self.last_error
            if err is not None and max_age is not None and started - self._error_at <= max_age:
                # A read failed moments ago: answer with that failure instead of waiting on the device
                # again (a blackholed device costs timeout x retries per read).
                raise copy.copy(err)
            latest = self.latest
            fresh = latest is not None and max_age is not None and time.monotonic() - latest.at <= max_age
            if fresh and latest is not None and self.last_error is None and (
                not need_config or self._configs is not None
            ):
                return latest
            if latest is not None and latest.at >= started and self.last_error is None:
                return latest  # someone read while we waited for the lock
            try:
                snap = await self._read(need_config)
            except DeviceError as e:
                self.last_error = e
                self._error_at = time.monotonic()
                raise
            self.last_error = None
            self.latest = snap
            return snap

    async def _read(self, need_config: bool) -> Snapshot:
        started = time.monotonic()
        if need_config or self._configs is None or self._since_config >= self.config_refresh_every:
            try:
                cfg_doc = await self.client.get(paths.CFG_APPS)
            except NotFound:
                cfg_doc = {}
            self._configs = parse_configs(cfg_doc)
            self._since_config = 0
        else:
            self._since_config += 1
        try:
            oper_doc = await self.client.get(paths.OPER)
        except NotFound:
            oper_doc = {}
        return Snapshot(
            at=time.monotonic(), started=started, configs=dict(self._configs), oper=parse_oper(oper_doc)
        )

    async def arp(self) -> list[Any]:
        """The ARP table; empty when it cannot be read (the address simply stays unknown)."""
        try:
            return parse_arp(await self.client.get(paths.ARP))
        except (DeviceError, NotFound) as e:
            log.info("arp read failed error=%s", e)
            return []
