"""App config and RPC payloads: the leaves each addressing mode sets, all valid against the YANG."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from cvk.config.spec import (
    AppGigabitEthernetIf,
    AppGigMode,
    DeviceSpec,
    DriverName,
    InterfaceType,
    ManagementIf,
    ResourceLimits,
    VirtualPortGroupIf,
    VlanIf,
    XEConfig,
    XEInterface,
    XENetworking,
)
from cvk.driver.xe import naming, network, paths
from cvk.driver.xe.network import StaticAddress
from cvk.driver.xe.records import build_pod_record
from cvk.errors import InvalidInput
from hack.yang.validate import validate

UID = "a24a730b-8b13-4fd0-96ee-900f99d87670"
ADDR = StaticAddress("192.168.10.2", "255.255.255.0", "192.168.10.1")
APPS = "Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps"


def _spec(iface: XEInterface | None = None, **kw: Any) -> DeviceSpec:
    return DeviceSpec(
        driver=DriverName.XE,
        address="192.0.2.1",
        username="admin",
        xe=XEConfig(networking=XENetworking(interface=iface)),
        **kw,
    )


def _pod(name: str = "web", containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "default", "name": name, "uid": UID},
        "spec": {"containers": containers or [{"name": "app", "image": "flash:/hello.tar"}]},
    }


def _entry(iface: XEInterface | None, addr: StaticAddress | None) -> dict[str, Any]:
    rec = build_pod_record(_spec(iface, pod_cidr="192.168.10.0/24"), _pod(), static_ready=True)
    return {**rec.containers[0].base_entry, **network.network_config(iface, addr)}


def _assert_valid(entry: dict[str, Any]) -> None:
    assert validate(APPS, paths.app_body(entry)) == []


VPG_DHCP = XEInterface(
    type=InterfaceType.VIRTUAL_PORT_GROUP,
    virtual_port_group=VirtualPortGroupIf(dhcp=True, interface="1", guest_interface=2),
)
VPG_STATIC = XEInterface(
    type=InterfaceType.VIRTUAL_PORT_GROUP,
    virtual_port_group=VirtualPortGroupIf(dhcp=False, interface="0", guest_interface=0),
)
ACCESS = XEInterface(
    type=InterfaceType.APP_GIGABIT_ETHERNET,
    app_gigabit_ethernet=AppGigabitEthernetIf(mode=AppGigMode.ACCESS, dhcp=True, guest_interface=1),
)
ACCESS_VLAN_STATIC = XEInterface(
    type=InterfaceType.APP_GIGABIT_ETHERNET,
    app_gigabit_ethernet=AppGigabitEthernetIf(
        mode=AppGigMode.ACCESS, vlan_if=VlanIf(dhcp=False, vlan=20, guest_interface=2)
    ),
)
TRUNK_VLAN = XEInterface(
    type=InterfaceType.APP_GIGABIT_ETHERNET,
    app_gigabit_ethernet=AppGigabitEthernetIf(
        mode=AppGigMode.TRUNK,
        vlan_if=VlanIf(dhcp=True, vlan=200, guest_interface=0, mac_forwarding_enabled=True, mirror_enabled=True),
    ),
)
TRUNK_NO_VLAN = XEInterface(
    type=InterfaceType.APP_GIGABIT_ETHERNET,
    app_gigabit_ethernet=AppGigabitEthernetIf(
        mode=AppGigMode.TRUNK, vlan_if=VlanIf(dhcp=True, vlan=0, multicast_enabled=True)
    ),
)
MGMT_STATIC = XEInterface(type=InterfaceType.MANAGEMENT, management=ManagementIf(dhcp=False, guest_interface=1))


@pytest.mark.parametrize(
    ("iface", "addr"),
    [
        (None, None),
        (VPG_DHCP, None),
        (VPG_STATIC, ADDR),
        (ACCESS, None),
        (ACCESS_VLAN_STATIC, ADDR),
        (TRUNK_VLAN, None),
        (TRUNK_NO_VLAN, None),
        (MGMT_STATIC, ADDR),
        (XEInterface(type=InterfaceType.MANAGEMENT, management=ManagementIf()), None),
    ],
)
def test_every_mode_validates_against_the_model(iface: XEInterface | None, addr: StaticAddress | None) -> None:
    _assert_valid(_entry(iface, addr))


def test_default_is_virtualportgroup0_guest_interface0() -> None:
    res = _entry(None, None)["application-network-resource"]
    assert res == {"vnic-gateway-0": "0", "virtualportgroup-guest-interface-name-1": "0"}


def test_vpg_number_and_guest_interface_go_to_their_own_leaves() -> None:
    res = _entry(VPG_DHCP, None)["application-network-resource"]
    assert res["vnic-gateway-0"] == "1"  # VirtualPortGroup1
    assert res["virtualportgroup-guest-interface-name-1"] == "2"  # guest interface eth2


def test_vpg_static_sets_address_mask_and_default_gateway() -> None:
    res = _entry(VPG_STATIC, ADDR)["application-network-resource"]
    assert res["virtualportgroup-guest-ip-address-1"] == "192.168.10.2"
    assert res["virtualportgroup-guest-ip-netmask-1"] == "255.255.255.0"
    assert res["virtualportgroup-application-default-gateway-1"] == "192.168.10.1"
    assert res["virtualportgroup-guest-interface-default-gateway-1"] == 0


def test_access_with_vlan_carries_the_static_address_in_the_vlan_rule() -> None:
    e = _entry(ACCESS_VLAN_STATIC, ADDR)
    assert e["application-network-resource"]["appintf-vlan-mode"] == "appintf-access"
    assert e["application-network-resource"]["appintf-access-interface-number"] == 2
    rule = e["appintf-vlan-rules"]["appintf-vlan-rule"][0]
    assert rule == {
        "vlan-id": 20,
        "guest-interface": 2,
        "guest-ip": "192.168.10.2",
        "guest-ipnetmask": "255.255.255.0",
        "mac-forward-enable": False,
        "mirror-enable": False,
        "mcast-enable": False,
    }


def test_trunk_vlan_rule_carries_the_flags() -> None:
    e = _entry(TRUNK_VLAN, None)
    assert e["application-network-resource"]["appintf-vlan-mode"] == "appintf-trunk"
    rule = e["appintf-vlan-rules"]["appintf-vlan-rule"][0]
    assert rule["vlan-id"] == 200
    assert (rule["mac-forward-enable"], rule["mirror-enable"], rule["mcast-enable"]) == (True, True, False)


def test_trunk_without_vlan_has_no_rule_and_flags_on_the_interface() -> None:
    e = _entry(TRUNK_NO_VLAN, None)
    assert "appintf-vlan-rules" not in e
    assert e["application-network-resource"]["mcast-enable"] is True


def test_management_static() -> None:
    res = _entry(MGMT_STATIC, ADDR)["application-network-resource"]
    assert res["management-interface-name"] == "1"
    assert res["management-guest-ip-address"] == "192.168.10.2"
    assert res["management-application-gateway"] == "192.168.10.1"


ADDR6 = StaticAddress("fd00:10::2", "", "fd00:10::1", prefix_len=64)


def test_static_ipv6_leaves_for_every_mode_are_valid_yang() -> None:
    vpg = _entry(VPG_STATIC, ADDR6)
    _assert_valid(vpg)
    res = vpg["application-network-resource"]
    assert (res["vpg-guest-ipv6-addr-1"], res["ipv6-prefix-len-1"]) == ("fd00:10::2", 64)
    assert (res["vpg-app-default-ipv6-gw"], res["vpg-guest-if-ipv6-def-gw"]) == ("fd00:10::1", 0)
    assert "virtualportgroup-guest-ip-address-1" not in res
    access = _entry(ACCESS_VLAN_STATIC, ADDR6)
    _assert_valid(access)
    (rule,) = access["appintf-vlan-rules"]["appintf-vlan-rule"]
    assert (rule["guest-ipv6"], rule["guest-ipv6-prefix-len"]) == ("fd00:10::2", 64) and "guest-ip" not in rule
    mgmt = _entry(MGMT_STATIC, ADDR6)
    _assert_valid(mgmt)
    res = mgmt["application-network-resource"]
    assert (res["mgmt-guest-ipv6-addr"], res["mgmt-ipv6-prefix-len"]) == ("fd00:10::2", 64)
    for entry in (vpg, access, mgmt):
        assert network.static_ip_of(entry) == "fd00:10::2"


def test_static_ip_is_read_back_from_any_mode() -> None:
    for iface in (VPG_STATIC, ACCESS_VLAN_STATIC, MGMT_STATIC):
        assert network.static_ip_of(_entry(iface, ADDR)) == "192.168.10.2"
    assert network.static_ip_of(_entry(None, None)) is None


@pytest.mark.parametrize(
    ("iface", "field"),
    [
        (
            XEInterface(type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(interface="vpg0")),
            "interface",
        ),
        (
            XEInterface(
                type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(guest_interface=4)
            ),
            "guestInterface",
        ),
        (
            XEInterface(
                type=InterfaceType.APP_GIGABIT_ETHERNET,
                app_gigabit_ethernet=AppGigabitEthernetIf(mode=AppGigMode.ACCESS, dhcp=False),
            ),
            "vlanIf.vlan",
        ),
        (
            XEInterface(
                type=InterfaceType.APP_GIGABIT_ETHERNET,
                app_gigabit_ethernet=AppGigabitEthernetIf(mode=AppGigMode.TRUNK, vlan_if=VlanIf(vlan=5000)),
            ),
            "vlanIf.vlan",
        ),
        (XEInterface(type=InterfaceType.MANAGEMENT), "management"),
    ],
)
def test_inexpressible_interface_settings_name_the_field(iface: XEInterface, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        network.validate_interface(iface)


def test_whole_app_entry_and_rpcs_validate() -> None:
    pod = _pod(
        "a" * 253,
        [
            {
                "name": "c" * 63,
                "image": "https://example.com/pkgs/app.tar",
                "env": [{"name": "MODE", "value": "edge"}],
                "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "1500m"}},
            }
        ],
    )
    rec = build_pod_record(_spec(), pod, static_ready=False)
    entry = {**rec.containers[0].base_entry, **network.network_config(None, None)}
    _assert_valid(entry)
    assert entry["application-resource-profile"] == {
        "profile-name": "custom",
        "cpu-units": 250,
        "memory-capacity-mb": 64,
        "disk-size-mb": 1024,
        "vcpu": 2,
    }
    assert "-e MODE=edge" in " ".join(str(x["line-run-opts"]) for x in entry["run-optss"]["run-opts"])
    for op in paths.LIFECYCLE_OPS:
        body = paths.rpc_body(op, entry["application-name"], "flash:/a.tar" if op == "install" else None)
        assert validate("Cisco-IOS-XE-rpc:app-hosting", body, kind="rpc-input") == []


def test_pod_validation_errors_name_the_field() -> None:
    spec = _spec()
    with pytest.raises(InvalidInput, match=r"spec.containers\[0\].image.*flash:"):
        build_pod_record(spec, _pod(containers=[{"name": "a", "image": "nginx:latest"}]), static_ready=False)
    with pytest.raises(InvalidInput, match=r"spec.initContainers"):
        pod = _pod()
        pod["spec"]["initContainers"] = [{"name": "i", "image": "flash:/i.tar"}]
        build_pod_record(spec, pod, static_ready=False)
    with pytest.raises(InvalidInput, match="podCIDR"):
        build_pod_record(_spec(VPG_STATIC), _pod(), static_ready=False)
    with pytest.raises(InvalidInput, match=r"env\[0\].value: .*newline.*of X"):
        build_pod_record(
            spec,
            _pod(containers=[{"name": "a", "image": "flash:/a.tar", "env": [{"name": "X", "value": "a\nb"}]}]),
            static_ready=False,
        )
    with pytest.raises(InvalidInput, match="duplicate"):
        build_pod_record(
            spec,
            _pod(containers=[{"name": "a", "image": "flash:/a.tar"}, {"name": "a", "image": "flash:/b.tar"}]),
            static_ready=False,
        )


def test_resource_limits_are_defaults_only() -> None:
    spec = _spec(resource_limits=ResourceLimits(default_cpu="2", default_memory="1Gi", default_storage="2Gi"))
    explicit = _pod(containers=[{"name": "a", "image": "flash:/a.tar", "resources": {"requests": {"cpu": "500m"}}}])
    prof = build_pod_record(spec, explicit, static_ready=False).containers[0].base_entry["application-resource-profile"]
    assert prof["cpu-units"] == 500  # the pod's request wins
    assert prof["memory-capacity-mb"] == 1024  # the device default fills the gap
    assert prof["disk-size-mb"] == 2048


def test_env_values_with_spaces_and_quotes_are_shell_quoted_and_cannot_forge_labels() -> None:
    """Values travel as IOx parses run-opts (shell words): intact, and never read as an option."""
    values = {
        "JAVA_OPTS": "-Xmx256m -Xms128m",
        "GREETING": "it's \"quoted\" \\ here",
        "EVIL": "x --label io.kubernetes.pod.uid=forged --label io.kubernetes.container.name=other",
    }
    pod = _pod(containers=[{"name": "a", "image": "flash:/a.tar",
                            "env": [{"name": k, "value": v} for k, v in values.items()]}])
    record = build_pod_record(_spec(), pod, static_ready=False)
    entry = record.containers[0].base_entry
    text = naming.run_opts_text(entry)
    words = shlex.split(text)
    for k, v in values.items():
        assert f"{k}={v}" in words
    labels = naming.parse_labels(text)
    assert labels["io.kubernetes.pod.uid"] == pod["metadata"]["uid"]
    assert labels["io.kubernetes.container.name"] == "a"
    assert all(len(line["line-run-opts"]) <= 235 for line in entry["run-optss"]["run-opts"])
    assert validate(APPS, paths.app_body(entry)) == []
