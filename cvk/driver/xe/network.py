"""The network part of an app config, per ``xe.networking.interface``, exactly as the YANG defines it.

Leaves of ``Cisco-IOS-XE-app-hosting-cfg`` used (``app`` list entry):

VirtualPortGroup (``app-vnic gateway0 virtualportgroup <n> guest-interface <g>``)
    ``application-network-resource/vnic-gateway-0`` = the VirtualPortGroup number ("0".."99");
    ``virtualportgroup-guest-interface-name-1`` = the guest interface ("0".."3");
    static: ``virtualportgroup-guest-ip-address-1`` / ``-netmask-1``, and the default gateway
    ``virtualportgroup-application-default-gateway-1`` on guest interface
    ``virtualportgroup-guest-interface-default-gateway-1``.
    (The Go original wrote the VirtualPortGroup number into the guest-interface leaf and hard-coded
    gateway "0"; this module follows the model's descriptions.)

AppGigabitEthernet
    access: ``appintf-vlan-mode`` = ``appintf-access``, ``appintf-access-interface-number`` = guest
    interface; trunk: ``appintf-vlan-mode`` = ``appintf-trunk``, ``appintf-guest-interface-number`` =
    guest interface. With ``vlanIf.vlan`` > 0 an ``appintf-vlan-rules/appintf-vlan-rule`` {vlan-id,
    guest-interface, mac-forward-enable, mcast-enable, mirror-enable[, guest-ip, guest-ipnetmask]};
    with vlan 0 the ``vlanIf`` flags sit on the network resource. Static addressing needs a VLAN rule.
    Static: the default gateway as for VirtualPortGroup (guest interfaces 0..3).

Management (``app-vnic management guest-interface <g>``)
    ``management-interface-name`` = guest interface ("0".."3"); static:
    ``management-guest-ip-address`` / ``-netmask``, ``management-application-gateway``.

Static IPv6 (an IPv6 podCIDR; the model's "static IPV6 support" revision)
    VirtualPortGroup: ``vpg-guest-ipv6-addr-1`` / ``ipv6-prefix-len-1``; AppGigabitEthernet: the VLAN
    rule's ``guest-ipv6`` / ``guest-ipv6-prefix-len``; Management: ``mgmt-guest-ipv6-addr`` /
    ``mgmt-ipv6-prefix-len``. The default gateway is ``vpg-app-default-ipv6-gw`` on guest interface
    ``vpg-guest-if-ipv6-def-gw`` (VirtualPortGroup and AppGigabitEthernet; the model has no IPv6
    gateway leaf for Management, where the app learns its router from router advertisements).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from cvk.config.spec import (
    AppGigabitEthernetIf,
    AppGigMode,
    InterfaceType,
    ManagementIf,
    VirtualPortGroupIf,
    XEInterface,
)
from cvk.errors import InvalidInput

FIELD = "xe.networking.interface"
_VPG_NUMBER = re.compile(r"^[0-9]{1,2}$")


@dataclasses.dataclass(frozen=True)
class StaticAddress:
    ip: str
    netmask: str  # IPv4 dotted mask; "" for IPv6
    gateway: str | None = None
    prefix_len: int | None = None  # IPv6 only

    @property
    def ipv6(self) -> bool:
        return ":" in self.ip


def effective_interface(iface: XEInterface | None) -> XEInterface:
    """``None`` means VirtualPortGroup 0 with DHCP."""
    if iface is None:
        return XEInterface(type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf())
    return iface


def _vpg(iface: XEInterface) -> VirtualPortGroupIf:
    if iface.virtual_port_group is None:
        raise InvalidInput(f"{FIELD}.virtualPortGroup: required when type is VirtualPortGroup")
    return iface.virtual_port_group


def _appgig(iface: XEInterface) -> AppGigabitEthernetIf:
    if iface.app_gigabit_ethernet is None:
        raise InvalidInput(f"{FIELD}.appGigabitEthernet: required when type is AppGigabitEthernet")
    return iface.app_gigabit_ethernet


def _mgmt(iface: XEInterface) -> ManagementIf:
    if iface.management is None:
        raise InvalidInput(f"{FIELD}.management: required when type is Management")
    return iface.management


def appgig_guest_interface(ag: AppGigabitEthernetIf) -> int:
    if ag.vlan_if is not None and ag.vlan_if.guest_interface is not None:
        return ag.vlan_if.guest_interface
    return ag.guest_interface


def appgig_vlan(ag: AppGigabitEthernetIf) -> int:
    return ag.vlan_if.vlan if ag.vlan_if is not None else 0


def uses_dhcp(iface: XEInterface | None) -> bool:
    """Whether apps get their address by DHCP (else from the static allocator over podCIDR)."""
    iface = effective_interface(iface)
    if iface.type == InterfaceType.VIRTUAL_PORT_GROUP:
        return _vpg(iface).dhcp
    if iface.type == InterfaceType.MANAGEMENT:
        return _mgmt(iface).dhcp
    ag = _appgig(iface)
    if ag.vlan_if is not None and ag.vlan_if.vlan > 0:
        return ag.vlan_if.dhcp
    return ag.dhcp


def validate_interface(iface: XEInterface | None) -> None:
    """InvalidInput naming the field when the interface settings cannot be expressed in the model."""
    iface = effective_interface(iface)
    if iface.type == InterfaceType.VIRTUAL_PORT_GROUP:
        vpg = _vpg(iface)
        if not _VPG_NUMBER.match(vpg.interface):
            raise InvalidInput(
                f"{FIELD}.virtualPortGroup.interface: {vpg.interface!r} must be the VirtualPortGroup "
                "number, 0..99 (e.g. \"0\" for VirtualPortGroup0)"
            )
        if not 0 <= vpg.guest_interface <= 3:
            raise InvalidInput(f"{FIELD}.virtualPortGroup.guestInterface: {vpg.guest_interface} must be 0..3")
    elif iface.type == InterfaceType.MANAGEMENT:
        m = _mgmt(iface)
        if not 0 <= m.guest_interface <= 3:
            raise InvalidInput(f"{FIELD}.management.guestInterface: {m.guest_interface} must be 0..3")
    elif iface.type == InterfaceType.APP_GIGABIT_ETHERNET:
        ag = _appgig(iface)
        if ag.mode not in (AppGigMode.ACCESS, AppGigMode.TRUNK):
            raise InvalidInput(f"{FIELD}.appGigabitEthernet.mode: {ag.mode!r} must be access or trunk")
        gi = appgig_guest_interface(ag)
        if not 0 <= gi <= 63:
            raise InvalidInput(f"{FIELD}.appGigabitEthernet.guestInterface: {gi} must be 0..63")
        vlan = appgig_vlan(ag)
        if not 0 <= vlan <= 4094:
            raise InvalidInput(f"{FIELD}.appGigabitEthernet.vlanIf.vlan: {vlan} must be 0..4094 (0: no VLAN)")
        if not uses_dhcp(iface) and vlan == 0:
            raise InvalidInput(
                f"{FIELD}.appGigabitEthernet.vlanIf.vlan: static addressing (dhcp: false) on "
                "AppGigabitEthernet needs a VLAN (vlanIf.vlan 1..4094) to carry the guest address"
            )
    else:
        raise InvalidInput(f"{FIELD}.type: {iface.type!r} must be VirtualPortGroup, AppGigabitEthernet or Management")


# (address leaf, netmask or prefix-length leaf) per interface type and family
_VPG_V4 = ("virtualportgroup-guest-ip-address-1", "virtualportgroup-guest-ip-netmask-1")
_VPG_V6 = ("vpg-guest-ipv6-addr-1", "ipv6-prefix-len-1")
_MGMT_V4 = ("management-guest-ip-address", "management-guest-ip-netmask")
_MGMT_V6 = ("mgmt-guest-ipv6-addr", "mgmt-ipv6-prefix-len")
_RULE_V4 = ("guest-ip", "guest-ipnetmask")
_RULE_V6 = ("guest-ipv6", "guest-ipv6-prefix-len")


def _address_leaves(addr: StaticAddress, v4: tuple[str, str], v6: tuple[str, str]) -> dict[str, Any]:
    """The guest address and its netmask (IPv4) or prefix length (IPv6) under this type's leaf names."""
    if addr.ipv6:
        return {v6[0]: addr.ip, v6[1]: addr.prefix_len}
    return {v4[0]: addr.ip, v4[1]: addr.netmask}


def _gateway_leaves(addr: StaticAddress, guest_if: int) -> dict[str, Any]:
    if addr.ipv6:
        if addr.gateway is None or guest_if > 31:
            return {}
        return {"vpg-app-default-ipv6-gw": addr.gateway, "vpg-guest-if-ipv6-def-gw": guest_if}
    if addr.gateway is None or guest_if > 3:
        return {}
    return {
        "virtualportgroup-application-default-gateway-1": addr.gateway,
        "virtualportgroup-guest-interface-default-gateway-1": guest_if,
    }


def network_config(iface: XEInterface | None, addr: StaticAddress | None) -> dict[str, Any]:
    """The network leaves of one app entry (merged into the ``app`` object)."""
    iface = effective_interface(iface)
    validate_interface(iface)
    out: dict[str, Any] = {}
    if iface.type == InterfaceType.VIRTUAL_PORT_GROUP:
        vpg = _vpg(iface)
        res: dict[str, Any] = {
            "vnic-gateway-0": vpg.interface,
            "virtualportgroup-guest-interface-name-1": str(vpg.guest_interface),
        }
        if addr is not None:
            res.update(_address_leaves(addr, _VPG_V4, _VPG_V6))
            res.update(_gateway_leaves(addr, vpg.guest_interface))
        out["application-network-resource"] = res
    elif iface.type == InterfaceType.MANAGEMENT:
        m = _mgmt(iface)
        res = {"management-interface-name": str(m.guest_interface)}
        if addr is not None:
            res.update(_address_leaves(addr, _MGMT_V4, _MGMT_V6))
            if addr.gateway is not None and not addr.ipv6:  # the model has no IPv6 gateway for Management
                res["management-application-gateway"] = addr.gateway
        out["application-network-resource"] = res
    else:
        ag = _appgig(iface)
        gi = appgig_guest_interface(ag)
        vlan = appgig_vlan(ag)
        vif = ag.vlan_if
        res = {}
        if ag.mode == AppGigMode.ACCESS:
            res["appintf-vlan-mode"] = "appintf-access"
            res["appintf-access-interface-number"] = gi
        else:
            res["appintf-vlan-mode"] = "appintf-trunk"
            res["appintf-guest-interface-number"] = gi
        if vlan == 0 and vif is not None:
            res["mac-forward-enable"] = vif.mac_forwarding_enabled
            res["mirror-enable"] = vif.mirror_enabled
            res["mcast-enable"] = vif.multicast_enabled
        if addr is not None:
            res.update(_gateway_leaves(addr, gi))
        out["application-network-resource"] = res
        if vlan > 0:
            rule: dict[str, Any] = {"vlan-id": vlan, "guest-interface": gi}
            if addr is not None:
                rule.update(_address_leaves(addr, _RULE_V4, _RULE_V6))
            if vif is not None:
                rule["mac-forward-enable"] = vif.mac_forwarding_enabled
                rule["mirror-enable"] = vif.mirror_enabled
                rule["mcast-enable"] = vif.multicast_enabled
            out["appintf-vlan-rules"] = {"appintf-vlan-rule": [rule]}
    return out


def static_ip_of(app_cfg: dict[str, Any]) -> str | None:
    """The static guest address configured in an app entry (any interface type), if any."""
    res = app_cfg.get("application-network-resource") or {}
    for leaf in (_VPG_V4[0], _MGMT_V4[0], _VPG_V6[0], _MGMT_V6[0]):
        if res.get(leaf):
            return str(res[leaf])
    rules = (app_cfg.get("appintf-vlan-rules") or {}).get("appintf-vlan-rule") or []
    if isinstance(rules, dict):
        rules = [rules]
    for rule in rules:
        if isinstance(rule, dict) and (rule.get(_RULE_V4[0]) or rule.get(_RULE_V6[0])):
            return str(rule.get(_RULE_V4[0]) or rule[_RULE_V6[0]])
    return None
