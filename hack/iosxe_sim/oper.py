"""Operational data trees (RFC 7951 JSON) built from a :class:`DeviceState` on every read.

Shapes follow Cisco-IOS-XE-app-hosting-oper (2023-03-01), Cisco-IOS-XE-arp-oper and
Cisco-IOS-XE-device-hardware-oper; 64-bit integers are JSON strings as RFC 7951 requires. The tests
validate every tree built here against the models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hack.iosxe_sim.state import ACTIVATED, RUNNING, STOPPED, App, DeviceState, Interface, now_iso

APP_OPER = "Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data"
ARP_OPER = "Cisco-IOS-XE-arp-oper:arp-data"
HW_OPER = "Cisco-IOS-XE-device-hardware-oper:device-hardware-data"

_NOTIFY_STATE = {
    "DEPLOYED": "im-state-deployed",
    "ACTIVATED": "im-state-activated",
    "RUNNING": "im-state-running",
    "STOPPED": "im-state-stopped",
    "": "im-state-uninstalled",
}
_NOTIFY_EVENT = {
    "DEPLOYED": "im-app-install",
    "ACTIVATED": "im-app-activate",
    "RUNNING": "im-app-start",
    "STOPPED": "im-app-no-start",
    "": "im-app-uninstall",
}


def _uptime(since: str) -> str:
    if not since:
        return "0"
    started = datetime.fromisoformat(since)
    secs = int((datetime.now(UTC) - started).total_seconds())
    return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def app_entry(state: DeviceState, app: App) -> dict[str, Any]:
    """One ``app`` list entry of app-hosting-oper-data."""
    prof = app.profile()
    active = app.state in (ACTIVATED, RUNNING, STOPPED)
    pkg_name = app.package.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or app.app_id
    entry: dict[str, Any] = {
        "name": app.app_id,
        "details": {
            "state": app.state,
            "package-information": {
                "name": pkg_name,
                "path": app.package,
                "application": {
                    "name": app.app_id,
                    "installed-version": "1.0",
                    "description": "",
                    "type": "docker",
                    "owner": "iox",
                    "activation-allowed": True,
                    "author": "",
                },
                "signing": {"key-type": "", "method": ""},
                "licensing": {"name": "", "version": ""},
                "url-path": app.package if app.package.startswith(("http://", "https://")) else "",
            },
            "detailed-guest-status": {
                "processes": {
                    "name": app.app_id if app.state == RUNNING else "",
                    "status": "Running" if app.state == RUNNING else "",
                    "pid": str(1000 + sum(map(ord, app.app_id)) % 9000) if app.state == RUNNING else "",
                    "uptime": _uptime(app.started_at) if app.state == RUNNING else "",
                    "memory": f"{app.memory_used_mb}M" if app.state == RUNNING else "",
                }
            },
            "activated-profile-name": "custom" if active else "",
            "resource-reservation": {
                "disk": str(prof["disk"] if active else 0),
                "memory": str(prof["memory"] if active else 0),
                "cpu": str(prof["cpu"] if active else 0),
                "vcpu": str(prof["vcpu"] if active else 0),
                "cpu-percent": 0,
            },
            "guest-interface": ",".join(f"eth{i.guest_index}" for i in app.interfaces),
            "resource-admission": {
                "state": "Satisfied" if active else "",
                "disk-space": f"{prof['disk']}MB" if active else "",
                "memory": f"{prof['memory']}MB" if active else "",
                "cpu": str(prof["cpu"] if active else 0),
                "vcpus": str(prof["vcpu"]) if active else "",
            },
            "docker-run-opts": _run_opts(app),
            "command": "",
            "entry-point": "",
            "health-status": 0,
            "last-health-probe-error": "",
            "last-health-probe-output": "",
            "pkg-run-opt": "",
        },
        "utilization": {
            "name": app.app_id,
            "cpu-util": {
                "requested-application-util": str(prof["cpu"] if active else 0),
                "actual-application-util": str(app.cpu_util),
                "cpu-state": "Running" if app.state == RUNNING else "",
            },
            "memory-util": {
                "memory-allocation": str(prof["memory"]) if active else "0",
                "memory-used": str(app.memory_used_mb * 1024),
            },
        },
        "network-interfaces": {
            "network-interface": [_network_interface(i, state.oper_ip_mode == "oper" and app.state == RUNNING)
                                  for i in app.interfaces]
        },
        "pkg-policy": "iox-pkg-policy-none",
    }
    if app.state == RUNNING:
        entry["processes"] = {
            "process": [
                {
                    "name": app.app_id,
                    "status": "Running",
                    "pid": entry["details"]["detailed-guest-status"]["processes"]["pid"],
                    "uptime": _uptime(app.started_at),
                    "memory": f"{app.memory_used_mb}M",
                }
            ]
        }
    return entry


def _run_opts(app: App) -> str:
    lines = (app.config or {}).get("run-optss", {}).get("run-opts", [])
    return " ".join(str(x.get("line-run-opts", "")) for x in sorted(lines, key=lambda x: x.get("line-index", 0)))


def app_resources(state: DeviceState) -> list[dict[str, Any]]:
    p = state.platform
    used = state.usage()
    cpu_avail_units = max(0, p.cpu_units - used["cpu"])
    cpu_avail_pct = p.cpu_percent * cpu_avail_units // p.cpu_units if p.cpu_units else 0
    return [
        {
            "name": "global",
            "cpu": [
                {
                    "name": "system CPU",
                    "quota": p.cpu_percent,
                    "available": cpu_avail_pct,
                    "quota-unit": str(p.cpu_units),
                    "available-unit": str(cpu_avail_units),
                }
            ],
            "memory": [{"name": "memory", "quota": p.memory_mb, "available": max(0, p.memory_mb - used["memory"])}],
            "storage-device": [
                {"name": name, "quota": quota, "available": max(0, quota - used["disk"])}
                for name, quota in p.storage.items()
            ],
        }
    ]


def app_hosting_oper(state: DeviceState) -> dict[str, Any]:
    """The whole ``app-hosting-oper-data`` tree (installed apps, budget, last notification, globals)."""
    with state.lock:
        apps = [app_entry(state, a) for a in state.apps.values() if a.installed]
        body: dict[str, Any] = {}
        if apps:
            body["app"] = apps
        body["app-resources"] = app_resources(state)
        if state.notifications:
            n = state.notifications[-1]
            body["app-notifications"] = [
                {
                    "name": "event",
                    "timestamp": n["timestamp"],
                    "severity-level": "minor",
                    "host-name": state.hostname,
                    "vrf-name": "",
                    "app-id": n["app-id"],
                    "ev-type": _NOTIFY_EVENT.get(n["new"], "im-app-unsolicited"),
                    "status": "im-app-pass",
                    "message": n["message"] or f"{n['app-id']} {n['new'] or 'uninstalled'}",
                    "app-state": _NOTIFY_STATE.get(n["new"], "im-state-stopped"),
                }
            ]
        body["app-globals"] = {"iox-enabled": state.iox_enabled}
    return {APP_OPER: body}


def arp_data(state: DeviceState) -> dict[str, Any]:
    entries = state.arp_table()
    common = {"enctype": "ios-encaps-type-arpa", "type": "ios-linktype-ip", "hwtype": "ios-snpa-type-ieee48"}
    entry = [
        {"address": e.address, "interface": e.interface, "mode": e.mode, "hardware": e.hardware, "time": e.time}
        | common
        for e in entries
    ]
    # arp-oper is keyed by address alone: keep the first entry per address as the device does
    by_address: dict[str, dict[str, str]] = {}
    for e in entry:
        by_address.setdefault(e["address"], dict(e))
    oper = list(by_address.values())
    return {ARP_OPER: {"arp-vrf": [{"vrf": "Default", "arp-oper": oper, "arp-entry": entry}]}}


def device_hardware(state: DeviceState) -> dict[str, Any]:
    p = state.platform
    return {
        HW_OPER: {
            "device-hardware": {
                "device-inventory": [
                    {
                        "hw-type": "hw-type-chassis",
                        "hw-dev-index": 0,
                        "version": "V01",
                        "part-number": p.model,
                        "serial-number": p.serial,
                        "hw-description": p.description,
                        "dev-name": "Chassis",
                        "field-replaceable": True,
                        "hw-class": "hw-class-virtual" if p.name == "C8000V" else "hw-class-physical",
                    },
                    {
                        "hw-type": "hw-type-cpu",
                        "hw-dev-index": 0,
                        "version": "",
                        "part-number": "",
                        "serial-number": "",
                        "hw-description": f"{p.vcpus} CPU cores",
                        "dev-name": "CPU",
                        "field-replaceable": False,
                        "hw-class": "hw-class-virtual" if p.name == "C8000V" else "hw-class-physical",
                    },
                ],
                "device-system-data": {
                    "current-time": now_iso(),
                    "boot-time": state.boot_time,
                    "software-version": p.software_version,
                    "rommon-version": p.rommon_version,
                    "last-reboot-reason": "reload" if state.reload_count else "power-on",
                    "mac-address": p.pools[0].gateway_mac if p.pools else "00:00:00:00:00:01",
                },
            }
        }
    }


def _network_interface(i: Interface, show_ip: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mac-address": i.mac,
        "attached-interface": i.attachment,
        "ipv4-address": (i.ip if show_ip else "") or "0.0.0.0",
        "network-name": i.attachment,
    }
    if show_ip and i.ip6:
        out["ipv6-address"] = i.ip6
    return out
