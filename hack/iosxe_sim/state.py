"""The simulated device: app-hosting config and IOx runtime state, filesystem, DHCP/ARP, reloads.

``DeviceState`` is shared by every front end of the simulator (RESTCONF here, gRPC and SSH written
elsewhere). Rules:

- Every read or write of the public fields holds ``state.lock`` (a re-entrant thread lock), because
  tests read the state from their own thread while the server loop mutates it.
- The lifecycle operations (``install`` ... ``uninstall``, ``move_log``) are coroutines that run on the
  loop given to :meth:`DeviceState.bind_loop`; they raise :class:`OperationFailed` with the device's
  message when IOx refuses, and return the CLI-style result text otherwise.
- Every change is published to the queues handed out by :meth:`DeviceState.subscribe` (for ON_CHANGE
  telemetry and tests).

App state machine (IOx): config only -> ``install`` -> INSTALLING -> (install delay) DEPLOYED ->
``activate`` -> ACTIVATED -> ``start`` -> RUNNING -> ``stop`` -> STOPPED -> ``start`` -> RUNNING;
``deactivate`` (ACTIVATED/STOPPED) -> DEPLOYED; ``uninstall`` (DEPLOYED) -> gone from oper data. An app
whose config says ``start: true`` is activated and started by the device itself once DEPLOYED. A
crash turns RUNNING into STOPPED (or ERROR) with an exit code and a log line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import ipaddress
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hack.iosxe_sim.platforms import DhcpPool, Platform, platform

log = logging.getLogger("iosxe_sim.state")

INSTALLING = "INSTALLING"
DEPLOYED = "DEPLOYED"
ACTIVATED = "ACTIVATED"
RUNNING = "RUNNING"
STOPPED = "STOPPED"
ERROR = "ERROR"

DEVICE_PREFIXES = ("bootflash:", "flash:", "harddisk:", "usbflash0:", "usbflash1:", "sdflash:")


class OperationFailed(Exception):
    """IOx refused a lifecycle operation; ``str(err)`` is the device's message."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "+00:00")


def normalise_file(path: str) -> str:
    """``flash:x``, ``bootflash:x``, ``bootflash:/x`` -> ``bootflash:/x`` (flash: aliases bootflash:)."""
    fs, colon, rest = path.partition(":")
    if not colon:
        raise ValueError(f"file path {path!r} has no filesystem prefix such as bootflash:")
    if fs == "flash":
        fs = "bootflash"
    return f"{fs}:/{rest.lstrip('/')}"


@dataclass
class Delays:
    """Seconds each IOx operation takes. ``install`` runs in the background (state INSTALLING)."""

    install: float = 0.05
    activate: float = 0.0
    start: float = 0.0
    stop: float = 0.0
    deactivate: float = 0.0
    uninstall: float = 0.0
    auto_advance: float = 0.02  # pause between DEPLOYED and the device's own activate/start (start: true)


@dataclass
class Interface:
    """One guest interface of an app: where it is attached and the address it holds."""

    guest_index: int
    attachment: str  # device interface: VirtualPortGroup0, Vlan200, GigabitEthernet0 ...
    mac: str
    ip: str = ""  # current IPv4 (static or leased); "" when none
    static: bool = False
    vlan: int = 0
    ip6: str = ""  # static IPv6 (the model's *-ipv6-addr leaves); "" when none


@dataclass
class App:
    """One app-hosting application: its running-config entry and its IOx runtime state."""

    app_id: str
    config: dict[str, Any] | None = None  # the app list entry (unqualified member names)
    state: str = ""  # "" = not installed
    package: str = ""
    installed_at: str = ""
    started_at: str = ""
    finished_at: str = ""
    restart_count: int = 0  # starts after the first
    start_count: int = 0
    exit_code: int | None = None
    exit_reason: str = ""
    core_file: bool = False
    interfaces: list[Interface] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    install_seq: int = 0  # bumped per install so a stale background install cannot finish a new one
    cpu_util: int = 0  # actual-application-util percent while running
    memory_used_mb: int = 0

    @property
    def installed(self) -> bool:
        return self.state != ""

    def profile(self) -> dict[str, int]:
        prof = (self.config or {}).get("application-resource-profile", {})
        return {
            "cpu": int(prof.get("cpu-units", 1000)),
            "memory": int(prof.get("memory-capacity-mb", 64)),
            "disk": int(prof.get("disk-size-mb", 10)),
            "vcpu": int(prof.get("vcpu", 1)),
        }

    def log(self, message: str) -> None:
        self.log_lines.append(f"{now_iso()} {message}")


@dataclass(frozen=True)
class StateEvent:
    """A change of device state, published to subscribers."""

    kind: str  # "app-state" | "app-config" | "file" | "reload" | "hostname" | "reset"
    app_id: str = ""
    old: str = ""
    new: str = ""
    detail: str = ""
    timestamp: float = field(default_factory=time.time)


@dataclass
class ArpEntry:
    address: str
    interface: str
    hardware: str
    mode: str = "ios-arp-mode-dynamic"
    time: str = field(default_factory=now_iso)


class DeviceState:
    """The simulated device. See the module docstring for the locking and event rules."""

    def __init__(
        self,
        platform_name: str = "C8000V",
        *,
        hostname: str = "",
        oper_ip_mode: str = "oper",
        delays: Delays | None = None,
        state_file: str | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.platform: Platform = platform(platform_name)
        self.hostname = hostname or f"sim-{self.platform.name.lower()}"
        if oper_ip_mode not in ("oper", "arp"):
            raise ValueError("oper_ip_mode must be 'oper' (IP in app oper data) or 'arp' (only in ARP table)")
        self.oper_ip_mode = oper_ip_mode
        self.delays = delays or Delays()
        self.apps: dict[str, App] = {}
        self.controls: dict[str, Any] | None = None  # app-hosting-cfg-data/controls presence container
        self.files: dict[str, bytes] = {}
        self.notifications: list[dict[str, Any]] = []
        self.leases: dict[str, str] = {}  # mac -> ip, kept across stop/start
        self.static_arp: list[ArpEntry] = []
        self.iox_enabled = True
        self.sign_verification = False
        self.failing_urls: set[str] = set()  # http(s) packages whose download fails
        self.url_content: dict[str, bytes] = {}  # what copying an http(s) URL yields
        self.boot_time = now_iso()
        self.reloading_until = 0.0
        self.reload_count = 0
        self.state_file = Path(state_file) if state_file else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._install_seq = itertools.count(1)
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[StateEvent]]] = []
        self._load()

    # ------------------------------------------------------------------ loop, events, persistence

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop on which background transitions (install, auto start, reload) are scheduled."""
        self._loop = loop

    def subscribe(self) -> asyncio.Queue[StateEvent]:
        """A queue receiving every later :class:`StateEvent`; call from the consumer's running loop."""
        q: asyncio.Queue[StateEvent] = asyncio.Queue()
        with self.lock:
            self._subscribers.append((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, q: asyncio.Queue[StateEvent]) -> None:
        with self.lock:
            self._subscribers = [(lp, s) for lp, s in self._subscribers if s is not q]

    def _emit(self, ev: StateEvent) -> None:
        for loop, q in list(self._subscribers):
            if loop.is_closed():
                continue
            try:
                loop.call_soon_threadsafe(q.put_nowait, ev)
            except RuntimeError:
                continue
        self._save()

    def _save(self) -> None:
        if self.state_file is None:
            return
        with self.lock:
            doc = {
                "hostname": self.hostname,
                "controls": self.controls,
                "apps": {
                    a.app_id: {"config": a.config, "state": a.state, "package": a.package, "log": a.log_lines}
                    for a in self.apps.values()
                },
                "files": {k: base64.b64encode(v).decode() for k, v in self.files.items()},
                "leases": self.leases,
            }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(self.state_file)

    def _load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        doc = json.loads(self.state_file.read_text())
        self.hostname = doc.get("hostname", self.hostname)
        self.controls = doc.get("controls")
        self.files = {k: base64.b64decode(v) for k, v in doc.get("files", {}).items()}
        self.leases = dict(doc.get("leases", {}))
        for app_id, a in doc.get("apps", {}).items():
            st = a.get("state", "")
            app = App(app_id, config=a.get("config"), state=DEPLOYED if st == INSTALLING else st)
            app.package = a.get("package", "")
            app.log_lines = list(a.get("log", []))
            self.apps[app_id] = app
            if app.state:
                self._plan_interfaces(app)
                if app.state == RUNNING:
                    self._assign_addresses(app)

    def _spawn(self, coro: Any) -> None:
        loop = self._loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                coro.close()
                raise RuntimeError("DeviceState.bind_loop() was not called") from None
        if loop is _running_loop():
            task = loop.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            asyncio.run_coroutine_threadsafe(coro, loop)

    # ------------------------------------------------------------------ queries

    @property
    def reloading(self) -> bool:
        """True while the device is reloading (no front end answers)."""
        return time.monotonic() < self.reloading_until

    def app(self, app_id: str) -> App | None:
        with self.lock:
            return self.apps.get(app_id)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """A JSON-friendly summary of every app (for the control endpoint and test assertions)."""
        with self.lock:
            return {
                a.app_id: {
                    "configured": a.config is not None,
                    "state": a.state,
                    "package": a.package,
                    "ip": next((i.ip or i.ip6 for i in a.interfaces if i.ip or i.ip6), ""),
                    "macs": [i.mac for i in a.interfaces],
                    "restart_count": a.restart_count,
                    "exit_code": a.exit_code,
                    "exit_reason": a.exit_reason,
                }
                for a in self.apps.values()
            }

    def usage(self) -> dict[str, int]:
        """Resources reserved by activated (ACTIVATED/RUNNING/STOPPED) apps."""
        with self.lock:
            used = {"cpu": 0, "memory": 0, "disk": 0}
            for a in self.apps.values():
                if a.state in (ACTIVATED, RUNNING, STOPPED):
                    p = a.profile()
                    used["cpu"] += p["cpu"]
                    used["memory"] += p["memory"]
                    used["disk"] += p["disk"]
            return used

    def arp_table(self) -> list[ArpEntry]:
        """Interface entries for every pool gateway plus a dynamic entry per running app address."""
        with self.lock:
            out = [
                ArpEntry(p.gateway, p.interface, p.gateway_mac, "ios-arp-mode-interface", self.boot_time)
                for p in self.platform.pools
            ]
            for a in self.apps.values():
                if a.state != RUNNING:
                    continue
                for i in a.interfaces:
                    if i.ip:
                        out.append(ArpEntry(i.ip, i.attachment, i.mac, time=a.started_at))
            out.extend(self.static_arp)
            return out

    # ------------------------------------------------------------------ config (running-config)

    def set_app_config(self, app_id: str, config: dict[str, Any] | None) -> None:
        """Replace (or with ``None`` remove) an app's config entry; the app must allow it."""
        with self.lock:
            app = self.apps.get(app_id)
            if config is None:
                if app is None:
                    return
                app.config = None
                if not app.installed:
                    del self.apps[app_id]
            else:
                if app is None:
                    app = self.apps[app_id] = App(app_id)
                app.config = copy.deepcopy(config)
        self._emit(StateEvent("app-config", app_id, detail="deleted" if config is None else "set"))

    def check_config_delete(self, app_id: str) -> None:
        """IOS-XE refuses to remove the config of an app that is still installed."""
        with self.lock:
            app = self.apps.get(app_id)
            if app is not None and app.installed:
                raise OperationFailed(
                    f"Application {app_id} is in {app.state} state; stop, deactivate and uninstall it "
                    "before removing its app-hosting configuration"
                )

    # ------------------------------------------------------------------ files

    def add_file(self, path: str, data: bytes) -> str:
        key = normalise_file(path)
        with self.lock:
            self.files[key] = data
        self._emit(StateEvent("file", detail=key, new="added"))
        return key

    def has_file(self, path: str) -> bool:
        try:
            key = normalise_file(path)
        except ValueError:
            return False
        with self.lock:
            return key in self.files

    def delete_file(self, path: str) -> bool:
        key = normalise_file(path)
        with self.lock:
            gone = self.files.pop(key, None) is not None
        if gone:
            self._emit(StateEvent("file", detail=key, new="deleted"))
        return gone

    # ------------------------------------------------------------------ lifecycle

    def _set_state(self, app: App, new: str, detail: str = "") -> None:
        old = app.state
        app.state = new
        self.notifications.append(
            {"app-id": app.app_id, "old": old, "new": new, "timestamp": now_iso(), "message": detail}
        )
        del self.notifications[:-200]
        log.info("app state app_id=%s old=%s new=%s %s", app.app_id, old or "-", new or "-", detail)
        self._emit(StateEvent("app-state", app.app_id, old, new, detail))

    def _require(self, app_id: str, allowed: tuple[str, ...], op: str) -> App:
        app = self.apps.get(app_id)
        if app is None or not app.installed:
            raise OperationFailed(f"Application {app_id} is not installed")
        if app.state not in allowed:
            raise OperationFailed(
                f"Cannot {op} application {app_id}: it is in {app.state} state (needs {'/'.join(allowed)})"
            )
        return app

    def _check_running(self) -> None:
        if self.reloading:
            raise OperationFailed("device is reloading")
        if not self.iox_enabled:
            raise OperationFailed("IOx is not enabled; configure 'iox'")

    async def install(self, app_id: str, package: str) -> str:
        if not app_id:
            raise OperationFailed("install needs an appid")
        if not package:
            raise OperationFailed(f"install of {app_id} needs a package")
        with self.lock:
            self._check_running()
            app = self.apps.get(app_id)
            if app is not None and app.installed:
                raise OperationFailed(f"Application {app_id} is already installed (state {app.state})")
            if package.startswith(("http://", "https://")):
                if package in self.failing_urls:
                    raise OperationFailed(f"Failed to download package {package}: Connection timed out")
            elif package.startswith(DEVICE_PREFIXES):
                if not self.has_file(package):
                    raise OperationFailed(f"Package file {package} does not exist")
            else:
                raise OperationFailed(
                    f"Invalid package {package!r}: give a device file (bootflash:, flash:, harddisk:, "
                    "usbflash0:) or an http(s) URL"
                )
            if app is None:
                app = self.apps[app_id] = App(app_id)
            app.package = package
            app.install_seq = next(self._install_seq)
            seq = app.install_seq
            app.installed_at = now_iso()
            app.log(f"Installing package {package}")
            self._plan_interfaces(app)
            self._set_state(app, INSTALLING)
        self._spawn(self._finish_install(app_id, seq))
        return f"Installing package '{package}' for '{app_id}'. Use 'show app-hosting list' for progress."

    async def _finish_install(self, app_id: str, seq: int) -> None:
        await asyncio.sleep(self.delays.install)
        with self.lock:
            app = self.apps.get(app_id)
            if app is None or app.state != INSTALLING or app.install_seq != seq:
                return
            app.log("Install succeeded")
            self._set_state(app, DEPLOYED)
            auto = bool((app.config or {}).get("start"))
        if auto:
            await self._auto_start(app_id)

    async def _auto_start(self, app_id: str) -> None:
        """A config with ``start: true`` makes IOx activate and start the app on its own."""
        await asyncio.sleep(self.delays.auto_advance)
        with contextlib.suppress(OperationFailed):
            app = self.app(app_id)
            if app is not None and app.state == DEPLOYED:
                await self.activate(app_id)
            await asyncio.sleep(self.delays.auto_advance)
            app = self.app(app_id)
            if app is not None and app.state == ACTIVATED:
                await self.start(app_id)

    async def activate(self, app_id: str) -> str:
        await asyncio.sleep(self.delays.activate)
        with self.lock:
            self._check_running()
            app = self._require(app_id, (DEPLOYED,), "activate")
            if app.config is None:
                raise OperationFailed(f"Application {app_id} has no app-hosting configuration; configure it first")
            need = app.profile()
            used = self.usage()
            p = self.platform
            disk_quota = max(p.storage.values()) if p.storage else 0
            for res, quota, unit in (
                ("cpu", p.cpu_units, "units"),
                ("memory", p.memory_mb, "MB"),
                ("disk", disk_quota, "MB"),
            ):
                if used[res] + need[res] > quota:
                    msg = (
                        f"Activation failed for {app_id}: insufficient {res} "
                        f"(requested {need[res]} {unit}, available {quota - used[res]} {unit})"
                    )
                    app.log(msg)
                    raise OperationFailed(msg)
            if need["vcpu"] > p.vcpus:
                raise OperationFailed(
                    f"Activation failed for {app_id}: {need['vcpu']} vCPUs requested, platform has {p.vcpus}"
                )
            self._plan_interfaces(app)
            app.log("Activated")
            self._set_state(app, ACTIVATED)
        return f"Current state is: {ACTIVATED}"

    async def start(self, app_id: str) -> str:
        await asyncio.sleep(self.delays.start)
        with self.lock:
            self._check_running()
            app = self._require(app_id, (ACTIVATED, STOPPED), "start")
            if app.start_count > 0:
                app.restart_count += 1
            app.start_count += 1
            app.started_at = now_iso()
            app.finished_at = ""
            app.exit_code = None
            app.exit_reason = ""
            self._assign_addresses(app)
            prof = app.profile()
            app.cpu_util = min(100, max(1, prof["cpu"] // 100))
            app.memory_used_mb = max(1, prof["memory"] // 4)
            app.log("Container started")
            self._set_state(app, RUNNING)
        return f"Current state is: {RUNNING}"

    async def stop(self, app_id: str) -> str:
        await asyncio.sleep(self.delays.stop)
        with self.lock:
            self._check_running()
            app = self._require(app_id, (RUNNING,), "stop")
            app.finished_at = now_iso()
            app.exit_code = 0
            app.exit_reason = "stopped"
            app.cpu_util = 0
            app.memory_used_mb = 0
            app.log("Container stopped")
            self._set_state(app, STOPPED)
        return f"Current state is: {STOPPED}"

    async def deactivate(self, app_id: str) -> str:
        await asyncio.sleep(self.delays.deactivate)
        with self.lock:
            self._check_running()
            app = self._require(app_id, (ACTIVATED, STOPPED, ERROR), "deactivate")
            for i in app.interfaces:
                i.ip = "" if not i.static else i.ip
            app.log("Deactivated")
            self._set_state(app, DEPLOYED)
        return f"Current state is: {DEPLOYED}"

    async def uninstall(self, app_id: str) -> str:
        await asyncio.sleep(self.delays.uninstall)
        with self.lock:
            self._check_running()
            app = self._require(app_id, (DEPLOYED, INSTALLING), "uninstall")
            for i in app.interfaces:
                self.leases.pop(i.mac, None)
            app.interfaces = []
            app.package = ""
            app.start_count = 0
            app.restart_count = 0
            self._set_state(app, "", "uninstalled")
            if app.config is None:
                del self.apps[app_id]
        return f"Uninstalling '{app_id}'"

    async def upgrade(self, app_id: str, package: str) -> str:
        """Replace the package of an installed app, keeping its state."""
        with self.lock:
            self._check_running()
            app = self._require(app_id, (DEPLOYED, ACTIVATED, RUNNING, STOPPED), "upgrade")
            if package.startswith(DEVICE_PREFIXES) and not self.has_file(package):
                raise OperationFailed(f"Package file {package} does not exist")
            if not package.startswith((*DEVICE_PREFIXES, "http://", "https://")):
                raise OperationFailed(f"Invalid package {package!r}")
            app.package = package
            app.log(f"Upgraded to package {package}")
            self._emit(StateEvent("app-config", app_id, detail="upgraded"))
        return f"Upgrading application {app_id} to package '{package}'"

    async def move(self, app_id: str, what: str, to: str) -> str:
        """``app-hosting move appid X log|core to bootflash:``: copy the app's log (or core) to a file."""
        with self.lock:
            self._check_running()
            app = self.apps.get(app_id)
            if app is None or not app.installed:
                raise OperationFailed(f"Application {app_id} is not installed")
            if what == "core" and not app.core_file:
                raise OperationFailed(f"No core file for application {app_id}")
            fs, _, rest = to.partition(":")
            directory = rest.strip("/")
            name = f"iox_{app_id}_{what}.{'txt' if what == 'log' else 'tar'}"
            path = f"{fs}:/{directory + '/' if directory else ''}{name}"
            data = ("\n".join(app.log_lines) + "\n").encode() if what == "log" else b"CORE " + app_id.encode()
        key = self.add_file(path, data)
        return f"Successfully moved {what} of {app_id} to {key}"

    # ------------------------------------------------------------------ faults

    def crash(self, app_id: str, exit_code: int = 137, *, state: str = STOPPED, reason: str = "crashed") -> None:
        """Make a RUNNING app exit as if its process died (``state`` STOPPED or ERROR)."""
        if state not in (STOPPED, ERROR):
            raise ValueError("a crashed app goes to STOPPED or ERROR")
        with self.lock:
            app = self.apps.get(app_id)
            if app is None or app.state != RUNNING:
                raise OperationFailed(f"Application {app_id} is not RUNNING")
            app.finished_at = now_iso()
            app.exit_code = exit_code
            app.exit_reason = reason
            app.core_file = True
            app.cpu_util = 0
            app.memory_used_mb = 0
            app.log(f"Container exited with code {exit_code} ({reason})")
            self._set_state(app, state, f"exit {exit_code}")

    def add_log(self, app_id: str, line: str) -> None:
        with self.lock:
            app = self.apps.get(app_id)
            if app is None:
                raise KeyError(app_id)
            app.log(line)
        self._emit(StateEvent("app-log", app_id, detail=line))

    def reload(self, seconds: float) -> None:
        """Reload: nothing answers for ``seconds``; installs in flight are lost; running apps restart."""
        with self.lock:
            self.reloading_until = time.monotonic() + seconds
            self.reload_count += 1
            for app in list(self.apps.values()):
                if app.state == INSTALLING:
                    app.log("Install aborted by reload")
                    app.state = ""
                    app.package = ""
                    app.interfaces = []
                    if app.config is None:
                        del self.apps[app.app_id]
        self._emit(StateEvent("reload", detail=f"{seconds}s"))
        self._spawn(self._end_reload(seconds))

    async def _end_reload(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        with self.lock:
            self.boot_time = now_iso()
            for app in self.apps.values():
                if app.state == RUNNING:
                    app.started_at = now_iso()
                    app.log("Container restarted after reload")
        self._emit(StateEvent("reload", detail="up"))

    def reset(self) -> None:
        """Forget every app, file and lease (a factory-fresh device of the same platform)."""
        with self.lock:
            self.apps.clear()
            self.files.clear()
            self.leases.clear()
            self.static_arp.clear()
            self.notifications.clear()
            self.controls = None
            self.reloading_until = 0.0
            self.iox_enabled = True
        self._emit(StateEvent("reset"))

    # ------------------------------------------------------------------ networking

    def _plan_interfaces(self, app: App) -> None:
        """Derive guest interfaces (attachment, static IP, MAC) from the app's network config."""
        cfg = app.config or {}
        res = cfg.get("application-network-resource", {})
        planned: list[Interface] = []
        for n in range(4):
            suffix = n + 1
            gw = res.get("vnic-gateway-0") if n == 0 else res.get(f"vnic-gateway-{n}")
            guest = res.get(f"virtualportgroup-guest-interface-name-{suffix}")
            if gw is None and guest is None:
                continue
            ip = res.get(f"virtualportgroup-guest-ip-address-{suffix}", "")
            ip6 = res.get(f"vpg-guest-ipv6-addr-{suffix}", "")
            planned.append(Interface(int(guest or n), f"VirtualPortGroup{gw or 0}", "", ip=ip,
                                     static=bool(ip or ip6), ip6=ip6))
        rules = cfg.get("appintf-vlan-rules", {}).get("appintf-vlan-rule", [])
        mode = res.get("appintf-vlan-mode")
        if mode or rules:
            for rule in rules:
                ip = rule.get("guest-ip", "")
                ip6 = rule.get("guest-ipv6", "")
                planned.append(
                    Interface(
                        int(rule.get("guest-interface", 0)),
                        f"Vlan{rule['vlan-id']}",
                        "",
                        ip=ip,
                        static=bool(ip or ip6),
                        vlan=int(rule["vlan-id"]),
                        ip6=ip6,
                    )
                )
            if not rules:
                guest = int(res.get("appintf-access-interface-number", res.get("appintf-guest-interface-number", 0)))
                planned.append(Interface(guest, "Vlan1", ""))
        if "management-interface-name" in res or "appintf-mgmt" in cfg:
            ip = res.get("management-guest-ip-address", "")
            ip6 = res.get("mgmt-guest-ipv6-addr", "")
            mgmt = cfg.get("appintf-mgmt", {})
            guest = int(mgmt.get("access-if-num", res.get("management-interface-name", 0)))
            planned.append(Interface(guest, self.platform.management_interface, "", ip=ip,
                                     static=bool(ip or ip6), ip6=ip6))
        for i in planned:
            seed = f"{self.hostname}/{app.app_id}/{i.guest_index}/{i.attachment}"
            digest = hashlib.sha256(seed.encode()).digest()
            i.mac = "52:54:dd:" + ":".join(f"{b:02x}" for b in digest[:3])
        old = {i.mac: i.ip for i in app.interfaces if i.ip and not i.static}
        for i in planned:
            if not i.static and i.mac in old:
                i.ip = old[i.mac]
        app.interfaces = planned

    def _pool(self, attachment: str) -> DhcpPool | None:
        return self.platform.pool_for(attachment)

    def _assign_addresses(self, app: App) -> None:
        """DHCP: every non-static interface on a pooled network gets (or keeps) a lease."""
        for i in app.interfaces:
            if i.static:
                continue
            pool = self._pool(i.attachment)
            if pool is None:
                i.ip = ""
                continue
            lease = self.leases.get(i.mac)
            if lease is None:
                taken = set(self.leases.values()) | {
                    x.ip for a in self.apps.values() for x in a.interfaces if x.static and x.ip
                }
                lease = next((h for h in pool.hosts() if h not in taken), "")
                if not lease:
                    app.log(f"DHCP pool on {pool.interface} exhausted")
                    i.ip = ""
                    continue
                self.leases[i.mac] = lease
            i.ip = lease

    def pool_network(self, attachment: str) -> ipaddress.IPv4Network | None:
        pool = self._pool(attachment)
        return ipaddress.IPv4Network(pool.network) if pool else None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@contextlib.contextmanager
def locked(state: DeviceState) -> Iterator[DeviceState]:
    """``with locked(state) as s:`` sugar for tests."""
    with state.lock:
        yield state
