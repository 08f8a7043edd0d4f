"""Platform facts of the simulated IOS-XE devices: hardware identity, IOx budget, networks, gNOI.

The figures are plausible for each family (taken from the shapes of the sample oper data and Cisco's
IOx resource guides) rather than measured; tests should read them from the simulator, not hard-code
them. ``Platform`` is a plain dataclass so a fixture can override any field.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace


@dataclass
class DhcpPool:
    """A DHCP pool served on one device interface (VirtualPortGroup, VLAN SVI, management)."""

    interface: str  # "VirtualPortGroup0", "Vlan200", "GigabitEthernet0"
    network: str  # "192.168.1.0/24"
    gateway: str  # the device's own address on that interface
    gateway_mac: str
    first_host: int = 10  # offset of the first leased address inside the network

    def hosts(self) -> list[str]:
        net = ipaddress.ip_network(self.network)
        return [str(h) for h in list(net.hosts())[self.first_host - 1 :] if str(h) != self.gateway]


@dataclass
class Platform:
    """Everything that differs between device families."""

    name: str  # C8000V | C9300 | IR1101 | IE3500
    model: str  # chassis part number (nodeInfo architecture / product id)
    description: str
    serial: str
    software_version: str  # full banner, parsed by the driver for N.N.N
    rommon_version: str
    # IOx budget (app-hosting-oper app-resources "global")
    cpu_units: int  # quota-unit of "system CPU"
    cpu_percent: int  # quota (percent) of "system CPU"
    memory_mb: int
    storage: dict[str, int]  # storage-device name -> quota MB
    vcpus: int
    # networking
    pools: list[DhcpPool] = field(default_factory=list)
    appgig_interface: str = ""  # "AppGigabitEthernet1/0/1" on switches, "" elsewhere
    management_interface: str = "GigabitEthernet0"
    # gNOI services this platform's gNXI answers (empty: gNOI disabled)
    gnoi_services: set[str] = field(default_factory=set)

    def pool_for(self, interface: str) -> DhcpPool | None:
        for p in self.pools:
            if p.interface == interface:
                return p
        return None


def _vpg(n: int, net: str, gw: str, mac: str) -> DhcpPool:
    return DhcpPool(interface=f"VirtualPortGroup{n}", network=net, gateway=gw, gateway_mac=mac)


PLATFORMS: dict[str, Platform] = {
    "C8000V": Platform(
        name="C8000V",
        model="C8000V",
        description="Cisco Catalyst 8000V Edge Software",
        serial="9SIMC8KV0001",
        software_version=(
            "Cisco IOS XE Software, Version 17.15.04c\nCisco IOS Software [IOSXE], Virtual XE Software "
            "(X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.15.4c, RELEASE SOFTWARE (fc3)"
        ),
        rommon_version="IOS-XE ROMMON",
        cpu_units=7400,
        cpu_percent=75,
        memory_mb=4096,
        storage={"bootflash": 11012, "IOx persist-disk": 11012},
        vcpus=2,
        pools=[
            _vpg(0, "192.168.1.0/24", "192.168.1.254", "00:1e:14:c4:a3:bd"),
            _vpg(1, "192.168.100.0/24", "192.168.100.1", "00:1e:14:c4:a3:be"),
            DhcpPool("GigabitEthernet0", "10.0.0.0/24", "10.0.0.1", "00:1e:14:c4:a3:01"),
        ],
        gnoi_services={"system", "file", "os", "cert"},
    ),
    "C9300": Platform(
        name="C9300",
        model="C9300-24P",
        description="Cisco Catalyst 9300 Series 24-port PoE+ switch",
        serial="FOC2418SIM1",
        software_version=(
            "Cisco IOS XE Software, Version 17.18.02\nCisco IOS Software [IOSXE], Catalyst L3 Switch "
            "Software (CAT9K_IOSXE), Version 17.18.2, RELEASE SOFTWARE (fc1)"
        ),
        rommon_version="17.12.1r",
        cpu_units=7400,
        cpu_percent=25,
        memory_mb=2048,
        storage={"usbflash1": 120000, "bootflash": 4000},
        vcpus=2,
        pools=[
            DhcpPool("Vlan200", "10.200.0.0/24", "10.200.0.1", "70:1f:53:aa:00:c8"),
            DhcpPool("Vlan1", "10.1.0.0/24", "10.1.0.1", "70:1f:53:aa:00:01"),
            DhcpPool("GigabitEthernet0/0", "10.0.0.0/24", "10.0.0.1", "70:1f:53:aa:00:00"),
        ],
        appgig_interface="AppGigabitEthernet1/0/1",
        management_interface="GigabitEthernet0/0",
        gnoi_services={"os", "cert"},
    ),
    "IR1101": Platform(
        name="IR1101",
        model="IR1101-K9",
        description="Cisco IR1101 Industrial Integrated Services Router",
        serial="FCW2301SIM1",
        software_version=(
            "Cisco IOS XE Software, Version 17.12.01a\nCisco IOS Software [Dublin], ISR Software "
            "(ARMV8EB_LINUX_IOSD-UNIVERSALK9_IOT-M), Version 17.12.1a, RELEASE SOFTWARE (fc5)"
        ),
        rommon_version="1.0.1",
        cpu_units=1155,
        cpu_percent=50,
        memory_mb=862,
        storage={"bootflash": 1800},
        vcpus=1,
        pools=[
            _vpg(0, "192.168.1.0/24", "192.168.1.254", "00:1e:e6:11:01:00"),
        ],
        gnoi_services={"cert"},
    ),
    "IE3500": Platform(
        name="IE3500",
        model="IE-3500-8T3S",
        description="Cisco Catalyst IE3500 Rugged Series switch",
        serial="FDO2650SIM1",
        software_version=(
            "Cisco IOS XE Software, Version 17.18.01\nCisco IOS Software [IOSXE], IE3500 Switch "
            "Software (IE35XX-UNIVERSALK9-M), Version 17.18.1, RELEASE SOFTWARE (fc2)"
        ),
        rommon_version="1.2.3",
        cpu_units=2000,
        cpu_percent=50,
        memory_mb=1024,
        storage={"sdflash": 4000, "bootflash": 1500},
        vcpus=1,
        pools=[
            DhcpPool("Vlan1", "10.1.0.0/24", "10.1.0.1", "a0:b4:39:35:00:01"),
            DhcpPool("Vlan200", "10.200.0.0/24", "10.200.0.1", "a0:b4:39:35:00:c8"),
        ],
        appgig_interface="AppGigabitEthernet1/1",
        management_interface="GigabitEthernet0/0",
        gnoi_services=set(),
    ),
}


def platform(name: str) -> Platform:
    """A fresh copy of the named platform's facts (so callers may mutate it)."""
    try:
        base = PLATFORMS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown platform {name!r}; use one of {', '.join(PLATFORMS)}") from None
    return replace(
        base,
        storage=dict(base.storage),
        pools=[replace(p) for p in base.pools],
        gnoi_services=set(base.gnoi_services),
    )
