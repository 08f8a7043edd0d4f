"""Every invalid device spec is refused with a ConfigError naming the field and the fix."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cvk.config.loader import parse_device_spec
from cvk.errors import ConfigError

BASE: dict[str, Any] = {"driver": "XE", "address": "192.0.2.1", "username": "admin"}


def xe_if(**interface: Any) -> dict[str, Any]:
    return {**BASE, "xe": {"networking": {"interface": interface}}}


def with_(**fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    out.update(fields)
    return out


def without(key: str) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    del out[key]
    return out


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, spec, field, fragment of the message)
    ("unknown-key-hint", with_(adress="x"), "device.adress", 'did you mean "address"'),
    ("unknown-key-case", with_(PodCIDR="10.0.0.0/24"), "device.PodCIDR", 'did you mean "podCIDR"'),
    ("unknown-nested", with_(tls={"enabled": True, "insecureSkipVerfy": True}), "device.tls.insecureSkipVerfy",
     'did you mean "insecureSkipVerify"'),
    ("missing-driver", without("driver"), "device.driver", "required"),
    ("missing-address", without("address"), "device.address", "required"),
    ("missing-username", without("username"), "device.username", "required"),
    ("null-username", with_(username=None), "device.username", "required"),
    ("empty-address", with_(address=" "), "device.address", "must not be empty"),
    ("bad-address", with_(address="not a host"), "device.address", "neither an IP address nor a host name"),
    ("driver-enum", with_(driver="IOSXE"), "device.driver", "must be one of XE, FAKE"),
    ("driver-case", with_(driver="xe"), "device.driver", 'did you mean "XE"'),
    ("port-type", with_(port="443"), "device.port", "must be an integer"),
    ("port-bool", with_(port=True), "device.port", "must be an integer"),
    ("port-low", with_(port=0), "device.port", "between 1 and 65535"),
    ("port-high", with_(port=70000), "device.port", "between 1 and 65535"),
    ("tls-type", with_(tls={"enabled": "yes"}), "device.tls.enabled", "true or false"),
    ("tls-cert-without-key", with_(tls={"certFile": "/c"}), "device.tls.keyFile", "set together"),
    ("tls-key-without-cert", with_(tls={"keyFile": "/k"}), "device.tls.certFile", "set together"),
    ("tls-ca-secret", with_(tls={"caSecretRef": {"name": "Bad_Name"}}), "device.tls.caSecretRef.name",
     "DNS-1123"),
    ("tls-not-mapping", with_(tls=True), "device.tls", "must be a mapping"),
    ("password-twice", with_(password="a", passwordFile="/p"), "device.passwordFile", "not both"),
    ("password-and-secret", with_(password="a", credentialSecretRef={"name": "s"}), "device.credentialSecretRef",
     "not both"),
    ("secret-name", with_(credentialSecretRef={"name": "UPPER"}), "device.credentialSecretRef.name", "DNS-1123"),
    ("secret-missing-name", with_(credentialSecretRef={"key": "pw"}), "device.credentialSecretRef.name",
     "required"),
    ("node-name", with_(nodeName="Switch_1"), "device.nodeName", "DNS-1123"),
    ("node-name-long", with_(nodeName="a" * 64), "device.nodeName", "at most 63"),
    ("gnoi-port", with_(gnoi={"port": 0}), "device.gnoi.port", "between 1 and 65535"),
    ("gnoi-security", with_(gnoi={"transportSecurity": "mtls"}), "device.gnoi.transportSecurity", "auto, tls"),
    ("cidr-garbage", with_(podCIDR="10.0.0/33"), "device.podCIDR", "not a CIDR"),
    ("cidr-host-bits", with_(podCIDR="10.0.0.1/24"), "device.podCIDR", "did you mean 10.0.0.0/24"),
    ("cidr-tiny", with_(podCIDR="10.0.0.0/31"), "device.podCIDR", "too small"),
    ("labels-type", with_(labels={"rack": 7}), "device.labels.rack", "must be a string"),
    ("labels-key", with_(labels={"bad key": "x"}), "device.labels.bad key", "invalid label key"),
    ("labels-value", with_(labels={"k": "spaces are bad"}), "device.labels.k", "invalid label value"),
    ("taints-list", with_(taints={"key": "a"}), "device.taints", "must be a list"),
    ("taint-effect", with_(taints=[{"key": "a", "effect": "Sometimes"}]), "device.taints[0].effect",
     "NoSchedule"),
    ("taint-key", with_(taints=[{"effect": "NoSchedule"}]), "device.taints[0].key", "required"),
    ("max-pods-low", with_(maxPods=0), "device.maxPods", "between 1 and 110"),
    ("max-pods-high", with_(maxPods=111), "device.maxPods", "between 1 and 110"),
    ("region", with_(region="eu west"), "device.region", "label value"),
    ("log-level", with_(logLevel="verbose"), "device.logLevel", "debug, info, warn, error"),
    ("log-level-warning", with_(logLevel="warning"), "device.logLevel", "must be one of"),
    ("quantity", with_(resourceLimits={"defaultCPU": "half"}), "device.resourceLimits.defaultCPU",
     "not a Kubernetes quantity"),
    ("quantity-type", with_(resourceLimits={"maxMemory": True}), "device.resourceLimits.maxMemory",
     "must be a string"),
    ("xe-networking-type", with_(xe={"networking": []}), "device.xe.networking", "must be a mapping"),
    ("if-type-missing", xe_if(virtualPortGroup={"dhcp": True}), "device.xe.networking.interface.type",
     "required"),
    ("if-type-enum", xe_if(type="Loopback"), "device.xe.networking.interface.type", "VirtualPortGroup"),
    ("if-no-block", xe_if(type="Management"), "device.xe.networking.interface.management",
     "requires the management block"),
    ("if-two-blocks", xe_if(type="Management", management={}, virtualPortGroup={}),
     "device.xe.networking.interface", "exactly one"),
    ("if-mismatch", xe_if(type="Management", appGigabitEthernet={"mode": "access"}),
     "device.xe.networking.interface.type", "make type match"),
    ("vpg-number", xe_if(type="VirtualPortGroup", virtualPortGroup={"interface": "VirtualPortGroup0"}),
     "device.xe.networking.interface.virtualPortGroup.interface", "VirtualPortGroup number"),
    ("vpg-range", xe_if(type="VirtualPortGroup", virtualPortGroup={"interface": 32}),
     "device.xe.networking.interface.virtualPortGroup.interface", "between 0 and 31"),
    ("vpg-guest", xe_if(type="VirtualPortGroup", virtualPortGroup={"guestInterface": 4}),
     "device.xe.networking.interface.virtualPortGroup.guestInterface", "between 0 and 3"),
    ("vpg-dhcp-type", xe_if(type="VirtualPortGroup", virtualPortGroup={"dhcp": "no"}),
     "device.xe.networking.interface.virtualPortGroup.dhcp", "true or false"),
    ("vpg-static-no-cidr", xe_if(type="VirtualPortGroup", virtualPortGroup={"dhcp": False}),
     "device.podCIDR", "virtualPortGroup.dhcp: false"),
    ("gig-mode-missing", xe_if(type="AppGigabitEthernet", appGigabitEthernet={}),
     "device.xe.networking.interface.appGigabitEthernet.mode", "required"),
    ("gig-mode-enum", xe_if(type="AppGigabitEthernet", appGigabitEthernet={"mode": "hybrid"}),
     "device.xe.networking.interface.appGigabitEthernet.mode", "access, trunk"),
    ("gig-vlan-range", xe_if(type="AppGigabitEthernet", appGigabitEthernet={"mode": "access",
                                                                           "vlanIf": {"vlan": 4095}}),
     "device.xe.networking.interface.appGigabitEthernet.vlanIf.vlan", "between 0 and 4094"),
    ("gig-vlan-guest", xe_if(type="AppGigabitEthernet", appGigabitEthernet={
        "mode": "access", "vlanIf": {"vlan": 5, "guestInterface": 9}}),
     "device.xe.networking.interface.appGigabitEthernet.vlanIf.guestInterface", "between 0 and 3"),
    ("gig-trunk-no-vlan", xe_if(type="AppGigabitEthernet", appGigabitEthernet={"mode": "trunk"}),
     "device.xe.networking.interface.appGigabitEthernet.vlanIf.vlan", "trunk mode needs a VLAN"),
    ("gig-static-vlan-no-cidr", xe_if(type="AppGigabitEthernet", appGigabitEthernet={
        "mode": "trunk", "vlanIf": {"vlan": 10, "dhcp": False}}),
     "device.podCIDR", "vlanIf.dhcp: false"),
    ("gig-static-access-no-cidr", xe_if(type="AppGigabitEthernet", appGigabitEthernet={
        "mode": "access", "dhcp": False}),
     "device.podCIDR", "appGigabitEthernet.dhcp: false"),
    ("vpg-static-cidr-too-small", {**xe_if(type="VirtualPortGroup", virtualPortGroup={"dhcp": False}),
                                   "podCIDR": "10.0.0.0/30"},
     "device.podCIDR", "use a /29 or larger"),
    ("vpg-static-ipv6-cidr-too-small", {**xe_if(type="VirtualPortGroup", virtualPortGroup={"dhcp": False}),
                                        "podCIDR": "fd00::/126"},
     "device.podCIDR", "use a /125 or larger"),
    ("mgmt-guest", xe_if(type="Management", management={"guestInterface": -1}),
     "device.xe.networking.interface.management.guestInterface", "between 0 and 3"),
    ("mgmt-static-no-cidr", xe_if(type="Management", management={"dhcp": False}),
     "device.podCIDR", "management.dhcp: false"),
    ("fake-seconds", with_(driver="FAKE", fake={"installSeconds": -1}), "device.fake.installSeconds", ">= 0"),
    ("fake-interval", with_(driver="FAKE", fake={"logIntervalSeconds": 0.05}), "device.fake.logIntervalSeconds",
     ">= 0.1"),
    ("fake-backoff", with_(driver="FAKE", fake={"restartBackoffSeconds": 0}),
     "device.fake.restartBackoffSeconds", ">= 0.01"),
    ("taints-many", with_(taints=[{"key": f"k{i}", "effect": "NoSchedule"} for i in range(33)]), "device.taints",
     "at most 32"),
    ("password-long", with_(password="x" * 257), "device.password", "at most 256"),
    ("fake-cpu", with_(driver="FAKE", fake={"cpu": "many"}), "device.fake.cpu", "quantity"),
    ("fake-unknown", with_(driver="FAKE", fake={"speed": 2}), "device.fake.speed", "unknown field"),
    ("not-a-mapping", [], "device", "must be a mapping"),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("spec", "field", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_spec_names_the_field(spec: Any, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_device_spec(spec)
    assert err.value.field == field
    assert fragment in err.value.message
    assert str(err.value) == f"{field}: {err.value.message}"
    assert "\n" not in str(err.value)


def test_controller_paths_start_with_spec() -> None:
    with pytest.raises(ConfigError) as err:
        parse_device_spec(xe_if(type="Management"), root="spec")
    assert err.value.field == "spec.xe.networking.interface.management"


@pytest.mark.parametrize("driver", ["XR", "NXOS", "OPENCONFIG"])
def test_reserved_drivers_parse(driver: str) -> None:
    assert parse_device_spec(with_(driver=driver)).driver == driver


def test_defaults() -> None:
    spec = parse_device_spec(dict(BASE))
    # HTTPS unless asked otherwise (the Go original defaulted to plain HTTP on port 80).
    assert spec.port is None and spec.effective_port == 443
    assert spec.max_pods == 16 and spec.log_level == "info"
    assert spec.xe is None and spec.tls.enabled is True
    plain = parse_device_spec(with_(tls={"enabled": False}))
    assert plain.effective_port == 80
    vpg = parse_device_spec(xe_if(type="VirtualPortGroup", virtualPortGroup={"interface": 2}))
    assert vpg.xe is not None and vpg.xe.networking.interface is not None
    assert vpg.xe.networking.interface.virtual_port_group is not None
    assert vpg.xe.networking.interface.virtual_port_group.interface == "2"  # YAML int accepted
    assert vpg.xe.networking.interface.virtual_port_group.dhcp is True
