"""Every ``error: <field>`` of ``cisco-vk run`` names the field as the operator's file spells it:
``device.…`` for a ``device:`` file, ``spec.…`` for a CiscoDevice manifest, even when the error comes
from the driver factory or from a driver at connect time (which know neither form)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvk.errors import ConfigError
from tests.cli.test_cli import FAKE, Captured, daemon, invoke, write  # noqa: F401  (daemon: fixture)

MANIFEST = ("apiVersion: cisco.vk/v1alpha1\nkind: CiscoDevice\nmetadata: {name: sw1}\n"
            "spec:\n  driver: FAKE\n  address: 192.0.2.10\n  username: admin\n")


@pytest.mark.parametrize(("text", "line"), [
    (FAKE.replace("FAKE", "NXOS"), "error: device.driver: driver NXOS is reserved"),
    (MANIFEST.replace("FAKE", "NXOS"), "error: spec.driver: driver NXOS is reserved"),
])
def test_reserved_driver_is_named_as_written(tmp_path: Path, daemon: Captured, text: str, line: str) -> None:  # noqa: F811
    result = invoke("run", "--config", write(tmp_path, text))
    assert result.exit_code == 2
    assert result.stderr.startswith(line), result.stderr


@pytest.mark.parametrize(("text", "raised", "shown"), [
    (FAKE, "tls.caFile", "device.tls.caFile"),
    (MANIFEST, "tls.caFile", "spec.tls.caFile"),
    (MANIFEST, "device.xe.networking.interface", "spec.xe.networking.interface"),
    (FAKE, "device.ssh.knownHostsFile", "device.ssh.knownHostsFile"),
    (MANIFEST, "spec.ssh.knownHostsFile", "spec.ssh.knownHostsFile"),
    (MANIFEST, "kubeconfig", "kubeconfig"),
    (MANIFEST, "CISCO_VK_GNOI_PORT", "CISCO_VK_GNOI_PORT"),
    (FAKE, "--kubelet-port", "--kubelet-port"),
])
def test_daemon_config_errors_use_the_file_form(tmp_path: Path, daemon: Captured, text: str,  # noqa: F811
                                                raised: str, shown: str) -> None:
    daemon.raise_ = ConfigError(raised, "cannot be used; fix it")
    result = invoke("run", "--config", write(tmp_path, text))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"error: {shown}: cannot be used; fix it"
