"""Lenient parsing of what IOS-XE returns: qualified or bare names, unknown leaves, odd MAC forms."""

from __future__ import annotations

from cvk.driver.xe.oper import (
    interface_address,
    ip_for_macs,
    normalize_mac,
    parse_arp,
    parse_configs,
    parse_hardware,
    parse_oper,
)


def test_oper_with_unknown_leaves_and_bare_names() -> None:
    doc = {
        "Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data": {
            "app": [
                {
                    "name": "cvk_a_1",
                    "details": {"state": "Running", "brand-new-leaf": {"x": 1}, "resource-reservation": {"cpu": "500"}},
                    "network-interfaces": {
                        "network-interface": [
                            {"mac-address": "52:54:DD:01:02:03", "ipv4-address": "0.0.0.0"},
                            {"mac-address": "5254.dd01.0204", "ipv4-address": "192.168.1.7"},
                        ]
                    },
                    "pkg-policy": "iox-pkg-policy-unsigned",
                    "future-container": [],
                }
            ],
            "app-resources": [
                {
                    "name": "global",
                    "cpu": [{"name": "system CPU", "quota-unit": "7400", "available-unit": "6400"}],
                    "memory": [{"name": "memory", "quota": 4096, "available": 3584}],
                    "storage-device": [
                        {"name": "bootflash", "quota": 100, "available": 50},
                        {"name": "IOx persist-disk", "quota": 11012, "available": 9025},
                    ],
                }
            ],
            "app-globals": {"iox-enabled": True},
        }
    }
    oper = parse_oper(doc)
    app = oper.apps["cvk_a_1"]
    assert app.state == "RUNNING"
    assert app.ips == ("192.168.1.7",)
    assert app.macs == ("52:54:dd:01:02:03", "52:54:dd:01:02:04")
    assert app.cpu_units == 500
    assert oper.resources is not None
    assert (oper.resources.cpu_quota_units, oper.resources.cpu_available_units) == (7400, 6400)
    assert (oper.resources.storage_quota_mb, oper.resources.storage_available_mb) == (11012, 9025)
    assert oper.iox_enabled is True
    assert parse_oper({}).apps == {} and parse_oper({}).resources is None


def test_configs_with_and_without_module_prefix() -> None:
    entry = {"application-name": "x"}
    assert parse_configs({"Cisco-IOS-XE-app-hosting-cfg:apps": {"app": [entry]}}) == {"x": entry}
    assert parse_configs({"Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data": {"apps": {"app": [entry]}}}) == {
        "x": entry
    }
    assert parse_configs({}) == {}


def test_arp_both_lists_and_interface_entries() -> None:
    doc = {
        "Cisco-IOS-XE-arp-oper:arp-data": {
            "arp-vrf": [
                {
                    "vrf": "Default",
                    "arp-oper": [
                        {
                            "address": "1.1.1.254",
                            "interface": "VirtualPortGroup0",
                            "hardware": "00:1e:14:c4:a3:bd",
                            "mode": "ios-arp-mode-interface",
                        },
                    ],
                    "arp-entry": [
                        {
                            "address": "1.1.1.11",
                            "interface": "VirtualPortGroup0",
                            "hardware": "52:54:dd:dc:f1:7c",
                            "mode": "ios-arp-mode-dynamic",
                        },
                    ],
                }
            ]
        }
    }
    arp = parse_arp(doc)
    assert ip_for_macs(arp, (normalize_mac("5254.dddc.f17c"),)) == "1.1.1.11"
    assert ip_for_macs(arp, ("00:1e:14:c4:a3:bd",)) is None  # the device's own address is no app's
    assert interface_address(arp, "VirtualPortGroup0") == "1.1.1.254"


def test_hardware_picks_the_lowest_chassis_and_parses_the_version() -> None:
    doc = {
        "Cisco-IOS-XE-device-hardware-oper:device-hardware-data": {
            "device-hardware": {
                "device-inventory": [
                    {"hw-type": "hw-type-chassis", "hw-dev-index": 2, "serial-number": "B", "part-number": "C9300-48P"},
                    {"hw-type": "hw-type-chassis", "hw-dev-index": 1, "serial-number": "A", "part-number": "C9300-24P"},
                    {"hw-type": "hw-type-psu", "hw-dev-index": 0, "serial-number": "P"},
                ],
                "device-system-data": {
                    "software-version": "Cisco IOS XE Software, Version 17.12.1a, RELEASE",
                    "boot-time": "2026-01-01T00:00:00Z",
                },
            }
        }
    }
    hw = parse_hardware(doc)
    assert (hw.serial, hw.part_number, hw.version) == ("A", "C9300-24P", "17.12.1a")
    assert parse_hardware({}).serial == ""
