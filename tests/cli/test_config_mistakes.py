"""The realistic mistakes an operator makes in a device file, through the real command line: each
stops ``cisco-vk run`` with ONE line naming the field and exit code 2, before the daemon starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import Captured, daemon, invoke, write  # noqa: F401  (daemon: fixture)

XE = "device:\n  driver: XE\n  address: 192.0.2.10\n  username: admin\n  password: pw\n"
FAKE = "device:\n  driver: FAKE\n  address: 192.0.2.10\n  username: admin\n"
VPG = ("  xe:\n    networking:\n      interface:\n        type: VirtualPortGroup\n"
       "        virtualPortGroup: {dhcp: true}\n")


@pytest.mark.parametrize(("text", "line"), [
    (FAKE.replace("address:", "adress:"), 'error: device.adress: unknown field; did you mean "address"?'),
    (FAKE + "  maxPods: ten\n", "error: device.maxPods: must be an integer, got a string 'ten'"),
    (FAKE + "  port: 0\n", "error: device.port: must be between 1 and 65535, got 0"),
    (FAKE + "  podCIDR: 10.0.0.1/24\n",
     "error: device.podCIDR: '10.0.0.1/24' has host bits set; did you mean 10.0.0.0/24?"),
    (FAKE + "  podCIDR: 10.0.0.0/33\n", "error: device.podCIDR: '10.0.0.0/33' is not a CIDR"),
    (XE + VPG + "        management: {dhcp: true}\n",
     "error: device.xe.networking.interface: set exactly one of virtualPortGroup, appGigabitEthernet, management"),
    (FAKE.replace("FAKE", "NXOS"), "error: device.driver: driver NXOS is reserved and not implemented; use XE or FAKE"),
    (FAKE.replace("  username: admin\n", ""), "error: device.username: required field is missing; add username:"),
    (XE + "  xe:\n    networking:\n      interface:\n        type: AppGigabitEthernet\n"
          "        appGigabitEthernet: {mode: trunk}\n",
     "error: device.xe.networking.interface.appGigabitEthernet.vlanIf.vlan: trunk mode needs a VLAN"),
    (XE + "  ssh: {port: 22}\n", "error: device.ssh.knownHostsFile: SSH host keys must be verified"),
    (XE.replace("  password: pw\n", ""), "error: device.password: driver XE needs the device password"),
    (FAKE.replace("FAKE", "xe"), 'error: device.driver: must be one of XE, FAKE, XR, NXOS, OPENCONFIG, got \'xe\'; '
                                 'did you mean "XE"?'),
    (FAKE + "  address: 192.0.2.11\n", "error: "),  # duplicate key
    (FAKE + "\tlabels: {}\n", "error: "),  # a tab
])
def test_mistake_is_one_line_naming_the_field_and_exit_2(tmp_path: Path, daemon: Captured,  # noqa: F811
                                                         text: str, line: str) -> None:
    result = invoke("run", "--config", write(tmp_path, text))
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(line), result.stderr
    assert daemon.calls == []


def test_xe_without_an_xe_block_runs_on_virtualportgroup_0_dhcp(tmp_path: Path, daemon: Captured) -> None:  # noqa: F811
    """Not a mistake: the documented default (docs/configuration.md, xe.networking.interface)."""
    result = invoke("run", "--config", write(tmp_path, XE))
    assert result.exit_code == 0, result.output
    spec = daemon.calls[0][0]
    assert spec.xe is None
