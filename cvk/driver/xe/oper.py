"""Read-only views of what the device reports: app configs, app oper data, ARP, resources, hardware.

Everything is parsed leniently from RFC 7951 JSON: unknown leaves are ignored, missing ones become
empty values, module-qualified and bare member names are both accepted.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Any

from cvk.driver.xe.paths import as_list, member

# App states as IOS-XE reports them in details/state.
INSTALLING = "INSTALLING"
DEPLOYED = "DEPLOYED"
ACTIVATED = "ACTIVATED"
RUNNING = "RUNNING"
STOPPED = "STOPPED"
ERROR = "ERROR"
EXITED = (STOPPED, ERROR)  # the app's process is gone; restartPolicy decides what happens next

_EXIT_CODE = re.compile(r"(?:exit(?:ed)?(?:\s+code)?|exit-code)\s*[:=(]?\s*(-?\d+)", re.I)


def normalize_mac(mac: str) -> str:
    """``0011.2233.4455`` / ``00-11-22-33-44-55`` / ``00:11:...`` → ``00:11:22:33:44:55``."""
    hexdigits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(hexdigits) != 12:
        return mac.lower()
    return ":".join(hexdigits[i:i + 2] for i in range(0, 12, 2))


def _usable_ip(value: Any) -> str | None:
    try:
        ip = ipaddress.ip_address(str(value).split("/")[0])
    except ValueError:
        return None
    if ip.is_unspecified:
        return None
    return str(ip)


@dataclasses.dataclass(frozen=True)
class AppOper:
    """One entry of ``app-hosting-oper-data/app``."""

    name: str
    state: str
    ips: tuple[str, ...]
    macs: tuple[str, ...]
    pkg_policy: str
    package_path: str
    process_status: str
    cpu_units: int
    memory_mb: int
    disk_mb: int
    cpu_util: int
    memory_used: str

    @property
    def exit_code(self) -> int | None:
        return exit_code_in(self.process_status)


def exit_code_in(text: str) -> int | None:
    """An exit code mentioned in device text ("exit 137", "Exited (1)", "exit code: 2"), if any."""
    m = _EXIT_CODE.search(text)
    return int(m.group(1)) if m else None


def _int(value: Any) -> int:
    try:
        return int(str(value).split()[0])
    except (ValueError, IndexError):
        return 0


def parse_app(entry: dict[str, Any]) -> AppOper:
    details = member(entry, "details") or {}
    pkg = member(details, "package-information") or {}
    ips: list[str] = []
    macs: list[str] = []
    for nif in as_list(member(member(entry, "network-interfaces"), "network-interface")):
        if not isinstance(nif, dict):
            continue
        if nif.get("mac-address"):
            macs.append(normalize_mac(str(nif["mac-address"])))
        ip = _usable_ip(nif.get("ipv4-address", ""))
        if ip:
            ips.append(ip)
        ip6 = _usable_ip(nif.get("ipv6-address", ""))
        if ip6 and not ipaddress.ip_address(ip6).is_link_local:  # fe80:: is no pod address
            ips.append(ip6)
    statuses = []
    guest = member(details, "detailed-guest-status") or {}
    for proc in as_list(member(member(guest, "processes"), "process")) or as_list(
        member(member(entry, "processes"), "process")
    ):
        if isinstance(proc, dict) and proc.get("status"):
            statuses.append(str(proc["status"]))
    reservation = member(details, "resource-reservation") or {}
    util = member(entry, "utilization") or {}
    return AppOper(
        name=str(entry.get("name", "")),
        state=str(details.get("state", "") or "").strip().upper(),
        ips=tuple(ips),
        macs=tuple(macs),
        pkg_policy=str(entry.get("pkg-policy", "") or ""),
        package_path=str(pkg.get("path", "") or ""),
        process_status="; ".join(statuses),
        cpu_units=_int(reservation.get("cpu", 0)),
        memory_mb=_int(reservation.get("memory", 0)),
        disk_mb=_int(reservation.get("disk", 0)),
        cpu_util=_int((member(util, "cpu-util") or {}).get("actual-application-util", 0)),
        memory_used=str((member(util, "memory-util") or {}).get("memory-used", "") or ""),
    )


@dataclasses.dataclass(frozen=True)
class Notification:
    app_id: str
    timestamp: str
    status: str
    message: str
    event: str
    host_name: str = ""


@dataclasses.dataclass(frozen=True)
class Resources:
    """``app-resources``: IOx quota and availability (CPU in units, memory and storage in MB)."""

    cpu_quota_units: int
    cpu_available_units: int
    memory_quota_mb: int
    memory_available_mb: int
    storage_quota_mb: int
    storage_available_mb: int


@dataclasses.dataclass(frozen=True)
class OperData:
    apps: dict[str, AppOper]
    notifications: tuple[Notification, ...]
    resources: Resources | None
    iox_enabled: bool | None


def parse_oper(doc: dict[str, Any]) -> OperData:
    root = member(doc, "app-hosting-oper-data")
    if root is None:
        root = doc
    apps: dict[str, AppOper] = {}
    for entry in as_list(member(root, "app")):
        if isinstance(entry, dict) and entry.get("name"):
            app = parse_app(entry)
            apps[app.name] = app
    notes = tuple(
        Notification(
            app_id=str(n.get("app-id", "") or ""),
            timestamp=str(n.get("timestamp", "") or ""),
            status=str(n.get("status", "") or ""),
            message=str(n.get("message", "") or ""),
            event=str(n.get("ev-type", "") or ""),
            host_name=str(n.get("host-name", "") or ""),
        )
        for n in as_list(member(root, "app-notifications"))
        if isinstance(n, dict)
    )
    resources = parse_resources(as_list(member(root, "app-resources")))
    globals_ = member(root, "app-globals")
    iox = member(globals_, "iox-enabled") if isinstance(globals_, dict) else None
    return OperData(
        apps=apps, notifications=notes, resources=resources, iox_enabled=None if iox is None else bool(iox)
    )


def parse_resources(entries: list[Any]) -> Resources | None:
    entries = [e for e in entries if isinstance(e, dict)]
    if not entries:
        return None
    glob = next((e for e in entries if e.get("name") == "global"), entries[0])
    cpus = [c for c in as_list(member(glob, "cpu")) if isinstance(c, dict)]
    mems = [m for m in as_list(member(glob, "memory")) if isinstance(m, dict)]
    disks = [d for d in as_list(member(glob, "storage-device")) if isinstance(d, dict)]
    cpu = next((c for c in cpus if "system" in str(c.get("name", "")).lower()), cpus[0] if cpus else {})
    mem = mems[0] if mems else {}
    # Apps' persistent disks live on the IOx persist-disk when there is one, else on the first device.
    disk = next((d for d in disks if "persist" in str(d.get("name", "")).lower()), disks[0] if disks else {})
    return Resources(
        cpu_quota_units=_int(cpu.get("quota-unit", 0)),
        cpu_available_units=_int(cpu.get("available-unit", 0)),
        memory_quota_mb=_int(mem.get("quota", 0)),
        memory_available_mb=_int(mem.get("available", 0)),
        storage_quota_mb=_int(disk.get("quota", 0)),
        storage_available_mb=_int(disk.get("available", 0)),
    )


def parse_configs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``app-hosting-cfg-data/apps`` → app id → app entry."""
    apps = member(doc, "apps")
    if apps is None:
        apps = member(member(doc, "app-hosting-cfg-data"), "apps")
    out: dict[str, dict[str, Any]] = {}
    for entry in as_list(member(apps, "app") if apps is not None else member(doc, "app")):
        if isinstance(entry, dict) and entry.get("application-name"):
            out[str(entry["application-name"])] = entry
    return out


@dataclasses.dataclass(frozen=True)
class ArpEntry:
    address: str
    mac: str
    interface: str
    mode: str


def parse_arp(doc: dict[str, Any]) -> list[ArpEntry]:
    root = member(doc, "arp-data")
    if root is None:
        root = doc
    out: list[ArpEntry] = []
    for vrf in as_list(member(root, "arp-vrf")):
        for key in ("arp-entry", "arp-oper"):
            for e in as_list(member(vrf, key)):
                if isinstance(e, dict) and e.get("address") and e.get("hardware"):
                    out.append(
                        ArpEntry(
                            address=str(e["address"]),
                            mac=normalize_mac(str(e["hardware"])),
                            interface=str(e.get("interface", "") or ""),
                            mode=str(e.get("mode", "") or ""),
                        )
                    )
    return out


def ip_for_macs(arp: list[ArpEntry], macs: tuple[str, ...]) -> str | None:
    wanted = set(macs)
    for e in arp:
        if e.mac in wanted and "interface" not in e.mode:
            ip = _usable_ip(e.address)
            if ip:
                return ip
    return None


def interface_address(arp: list[ArpEntry], interface: str) -> str | None:
    """The device's own address on ``interface`` (ARP entries of mode ``...-interface``)."""
    for e in arp:
        if e.interface.lower() == interface.lower() and e.mode.endswith("interface"):
            return _usable_ip(e.address)
    return None


@dataclasses.dataclass(frozen=True)
class Hardware:
    software_version: str
    version: str
    serial: str
    part_number: str
    description: str
    boot_time: str
    mac: str


_VERSION = re.compile(r"Version\s+([0-9]+\.[0-9]+(?:\.[0-9]+[a-zA-Z0-9]*)?)")


def parse_hardware(doc: dict[str, Any]) -> Hardware:
    root = member(doc, "device-hardware-data")
    if root is None:
        root = doc
    hw = member(root, "device-hardware") or {}
    sysdata = member(hw, "device-system-data") or {}
    sw = str(sysdata.get("software-version", "") or "")
    m = _VERSION.search(sw)
    chassis = [
        e
        for e in as_list(member(hw, "device-inventory"))
        if isinstance(e, dict) and str(e.get("hw-type", "")).endswith("chassis") and e.get("serial-number")
    ]
    chassis.sort(key=lambda e: _int(e.get("hw-dev-index", 0)))
    first = chassis[0] if chassis else {}
    return Hardware(
        software_version=sw,
        version=m.group(1) if m else sw.strip(),
        serial=str(first.get("serial-number", "") or ""),
        part_number=str(first.get("part-number", "") or ""),
        description=str(first.get("hw-description", "") or ""),
        boot_time=str(sysdata.get("boot-time", "") or ""),
        mac=str(sysdata.get("mac-address", "") or ""),
    )
