"""Small RESTCONF client helpers for the simulator tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from hack.iosxe_sim.fixtures import SimHandle

CFG = "/restconf/data/Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data"
APPS = CFG + "/apps"
OPER = "/restconf/data/Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data"
RPC = "/restconf/operations/Cisco-IOS-XE-rpc:app-hosting"
ARP = "/restconf/data/Cisco-IOS-XE-arp-oper:arp-data"
HW = "/restconf/data/Cisco-IOS-XE-device-hardware-oper:device-hardware-data"
JSON = "application/yang-data+json"


def session(sim: SimHandle, *, auth: tuple[str, str] | None = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # else $REQUESTS_CA_BUNDLE overrides Session.verify
    s.verify = sim.ca_file
    s.auth = auth or (sim.username, sim.password)
    s.headers.update({"Accept": JSON, "Content-Type": JSON})
    return s


def app_config(app_id: str, *, start: bool = False, memory: int = 512, cpu: int = 1000, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "application-name": app_id,
        "application-network-resource": {"vnic-gateway-0": "0", "virtualportgroup-guest-interface-name-1": "0"},
        "run-optss": {"run-opts": [{"line-index": 1, "line-run-opts": f"--label io.kubernetes.pod.name={app_id}"}]},
        "application-resource-profile": {
            "profile-name": "custom",
            "cpu-units": cpu,
            "memory-capacity-mb": memory,
            "disk-size-mb": 64,
            "vcpu": 1,
        },
        "start": start,
    }
    entry.update(extra)
    return {"Cisco-IOS-XE-app-hosting-cfg:app": [entry]}


def rpc(s: requests.Session, sim: SimHandle, op: str, **args: Any) -> requests.Response:
    return s.post(sim.url + RPC, json={op: args})


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def oper_state(s: requests.Session, sim: SimHandle, app_id: str) -> str:
    r = s.get(sim.url + OPER + "?fields=app")
    if r.status_code == 204:
        return ""
    r.raise_for_status()
    apps = r.json()["Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data"].get("app", [])
    return next((a["details"]["state"] for a in apps if a["name"] == app_id), "")
