"""spec.ssh in the device file and the CiscoDevice: parsing, validation, and the known_hosts file check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import pytest

from cvk.config.loader import load_device_file, parse_device_spec, read_known_hosts, spec_to_dict
from cvk.config.spec import KnownHostsSecretRef, SSHConfig
from cvk.driver.xe.driver import XEDriver
from cvk.errors import ConfigError

KEY_LINE = "[192.0.2.10]:22 " + asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()


def device(**ssh: Any) -> dict[str, Any]:
    return {"driver": "XE", "address": "192.0.2.10", "username": "admin", "password": "pw", "ssh": ssh}


def config_error(data: dict[str, Any], root: str = "device") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_device_spec(data, root)
    return info.value


def test_full_ssh_block_parses_and_round_trips() -> None:
    spec = parse_device_spec(device(port=2222, knownHostsFile="/etc/ssh/dev1"))
    assert spec.ssh == SSHConfig(port=2222, known_hosts_file="/etc/ssh/dev1")
    assert spec_to_dict(spec)["ssh"] == {"port": 2222, "knownHostsFile": "/etc/ssh/dev1",
                                         "insecureSkipHostKeyCheck": False}
    assert parse_device_spec(spec_to_dict(spec, include_secrets=True)) == spec


def test_secret_ref_defaults_its_key_and_the_port() -> None:
    spec = parse_device_spec(device(knownHostsSecretRef={"name": "sw1-ssh"}), "spec")
    assert spec.ssh == SSHConfig(port=22, known_hosts_secret_ref=KnownHostsSecretRef(name="sw1-ssh"))
    assert spec.ssh.known_hosts_secret_ref is not None
    assert spec.ssh.known_hosts_secret_ref.key == "known_hosts"


def test_no_ssh_block_means_no_ssh() -> None:
    data = device()
    del data["ssh"]
    assert parse_device_spec(data).ssh is None


def test_missing_known_hosts_names_the_field_and_both_fixes() -> None:
    err = config_error(device(port=22))
    assert err.field == "device.ssh.knownHostsFile"
    assert "knownHostsSecretRef" in err.message and "insecureSkipHostKeyCheck: true" in err.message
    assert config_error(device(), "spec").field == "spec.ssh.knownHostsFile"


def test_insecure_skip_needs_no_known_hosts() -> None:
    spec = parse_device_spec(device(insecureSkipHostKeyCheck=True))
    assert spec.ssh is not None and spec.ssh.insecure_skip_host_key_check
    assert read_known_hosts(spec) is None


@pytest.mark.parametrize(
    ("ssh", "field", "words"),
    [
        ({"port": 0, "insecureSkipHostKeyCheck": True}, "device.ssh.port", "between 1 and 65535"),
        ({"port": 70000, "insecureSkipHostKeyCheck": True}, "device.ssh.port", "between 1 and 65535"),
        ({"port": "22", "insecureSkipHostKeyCheck": True}, "device.ssh.port", "integer"),
        ({"knownHostsFile": " "}, "device.ssh.knownHostsFile", "empty"),
        ({"knownHostsSecretRef": {"name": "Bad_Name"}}, "device.ssh.knownHostsSecretRef.name", "Secret name"),
        ({"knownHostsSecretRef": {"name": "s", "key": "a/b"}}, "device.ssh.knownHostsSecretRef.key", "Secret key"),
        ({"knownHostsSecretRef": {"name": "s"}, "knownHostsFile": "/f"}, "device.ssh.knownHostsSecretRef",
         "not both"),
        ({"insecureSkipHostKeyCheck": "yes"}, "device.ssh.insecureSkipHostKeyCheck", "true or false"),
        ({"knownHosts": "/f"}, "device.ssh.knownHosts", "did you mean"),
    ],
)
def test_bad_ssh_settings_name_the_field(ssh: dict[str, Any], field: str, words: str) -> None:
    err = config_error(device(**ssh))
    assert err.field == field
    assert words in err.message


def _write_config(tmp_path: Path, ssh_yaml: str) -> Path:
    path = tmp_path / "device.yaml"
    path.write_text(
        "device:\n  driver: XE\n  address: 192.0.2.10\n  username: admin\n  password: pw\n  ssh:\n" + ssh_yaml
    )
    return path


def test_cisco_vk_run_reads_and_checks_the_known_hosts_file(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("# device sw1\n" + KEY_LINE + "\n")
    spec = load_device_file(str(_write_config(tmp_path, f"    knownHostsFile: {known}\n")), env={})
    assert spec.ssh is not None and spec.ssh.known_hosts_file == str(known)
    assert read_known_hosts(spec) == known.read_text()


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "cannot read known_hosts file"), ("", "no known_hosts entry"), ("sw1 ssh-ed25519 notakey\n", "line 1")],
)
async def test_a_missing_empty_or_bad_known_hosts_file_stops_the_xe_driver_at_connect(
    tmp_path: Path, content: str | None, words: str
) -> None:
    known = tmp_path / "known_hosts"
    if content is not None:
        known.write_text(content)
    spec = load_device_file(str(_write_config(tmp_path, f"    knownHostsFile: {known}\n")), env={})
    with pytest.raises(ConfigError) as info:
        read_known_hosts(spec)
    assert info.value.field == "device.ssh.knownHostsFile"
    assert words in info.value.message and str(known) in info.value.message
    driver = XEDriver(spec)
    with pytest.raises(ConfigError) as info:
        await driver.connect()  # before any device I/O: cisco-vk run stops with the field named
    assert info.value.field == "device.ssh.knownHostsFile"
    await driver.close()


async def test_cisco_vk_run_cannot_use_a_secret_ref_itself(tmp_path: Path) -> None:
    spec = load_device_file(str(_write_config(tmp_path, "    knownHostsSecretRef: {name: sw1-ssh}\n")), env={})
    with pytest.raises(ConfigError) as info:
        await XEDriver(spec).connect()
    assert info.value.field == "device.ssh.knownHostsFile"
    assert "controller" in info.value.message


def test_insecure_device_file_loads_without_known_hosts(tmp_path: Path) -> None:
    spec = load_device_file(str(_write_config(tmp_path, "    insecureSkipHostKeyCheck: true\n")), env={})
    assert spec.ssh == SSHConfig(insecure_skip_host_key_check=True)
    assert read_known_hosts(spec) is None


def test_without_ssh_there_is_nothing_to_read() -> None:
    data = device()
    del data["ssh"]
    assert read_known_hosts(parse_device_spec(data)) is None
