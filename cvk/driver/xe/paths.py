"""RESTCONF resources of IOS-XE used by the XE driver, and the bodies of the app-hosting RPC."""

from __future__ import annotations

import urllib.parse
from typing import Any

CFG_MODULE = "Cisco-IOS-XE-app-hosting-cfg"
OPER_MODULE = "Cisco-IOS-XE-app-hosting-oper"
RPC_MODULE = "Cisco-IOS-XE-rpc"

CFG_APPS = f"/restconf/data/{CFG_MODULE}:app-hosting-cfg-data/apps"
OPER = f"/restconf/data/{OPER_MODULE}:app-hosting-oper-data"
OPER_GLOBALS = f"{OPER}/app-globals"
RPC_APP_HOSTING = f"/restconf/operations/{RPC_MODULE}:app-hosting"
ARP = "/restconf/data/Cisco-IOS-XE-arp-oper:arp-data"
HARDWARE = "/restconf/data/Cisco-IOS-XE-device-hardware-oper:device-hardware-data"

LIFECYCLE_OPS = ("install", "activate", "start", "stop", "deactivate", "uninstall")


def cfg_app(app_id: str) -> str:
    return f"{CFG_APPS}/app={urllib.parse.quote(app_id, safe='')}"


def app_body(entry: dict[str, Any]) -> dict[str, Any]:
    """PUT body of one ``apps/app`` list entry."""
    return {f"{CFG_MODULE}:app": [entry]}


def rpc_body(op: str, app_id: str, package: str | None = None) -> dict[str, Any]:
    """Input of ``Cisco-IOS-XE-rpc:app-hosting`` (RFC 8040 section 3.6.1: wrapped in ``input``)."""
    if op not in LIFECYCLE_OPS:
        raise ValueError(f"unknown app-hosting operation {op!r}")
    args: dict[str, Any] = {"appid": app_id}
    if op == "install":
        if not package:
            raise ValueError("install needs a package")
        args["package"] = package
    return {f"{RPC_MODULE}:input": {op: args}}


def verification_body(enable: bool) -> dict[str, Any]:
    """``app-hosting verification enable|disable`` (signature checks of app packages)."""
    return {f"{RPC_MODULE}:input": {"verification": {"enable" if enable else "disable": [None]}}}


def member(doc: Any, name: str) -> Any:
    """``doc[name]`` accepting a module-qualified key (``module:name``) too; None when absent."""
    if not isinstance(doc, dict):
        return None
    if name in doc:
        return doc[name]
    for key, value in doc.items():
        if isinstance(key, str) and key.endswith(":" + name):
            return value
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]
