"""Device files: both formats, YAML problems, passwords, round trips, examples, node names."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from cvk.config.loader import (
    load_device_file,
    parse_device_spec,
    resolve_password,
    spec_to_dict,
)
from cvk.config.names import default_node_name, dns_subdomain_problem
from cvk.config.spec import DeviceSpec
from cvk.errors import ConfigError

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))
NO_ENV: dict[str, str] = {}


def write(tmp_path: Path, text: str, name: str = "device.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_device_form(tmp_path: Path) -> None:
    spec = load_device_file(write(tmp_path, "device:\n  driver: FAKE\n  address: 10.0.0.1\n  username: a\n"),
                            NO_ENV)
    assert (spec.driver, spec.address, spec.username) == ("FAKE", "10.0.0.1", "a")


def test_manifest_form_uses_spec_paths_and_metadata_name(tmp_path: Path) -> None:
    text = ("apiVersion: cisco.vk/v1alpha1\nkind: CiscoDevice\nmetadata: {name: sw1}\n"
            "spec: {driver: FAKE, address: 10.0.0.1, username: a}\nstatus: {phase: Ready}\n")
    assert load_device_file(write(tmp_path, text), NO_ENV).node_name == "sw1"
    bad = text.replace("username: a", "username: a, maxPods: 0")
    with pytest.raises(ConfigError) as err:
        load_device_file(write(tmp_path, bad), NO_ENV)
    assert err.value.field == "spec.maxPods"


@pytest.mark.parametrize(("text", "field", "fragment"), [
    ("", "", "empty"),
    ("device: [\n", "", "not valid YAML at line"),
    ("device:\n  driver: FAKE\n  driver: XE\n", "", "line 3: key 'driver' appears twice"),
    ("---\ndevice: {}\n---\ndevice: {}\n", "", "2 YAML documents"),
    ("- device\n", "", "expected a mapping"),
    ("driver: FAKE\naddress: x\n", "device", "must start with `device:`"),
    ("devices: {driver: FAKE}\n", "device", 'found devices; did you mean "device"?'),
    ("apiVersion: cisco.vk/v1alpha1\nkind: CiscoDevice\nsepc: {}\n", "sepc", 'did you mean "spec"?'),
    ("device: {driver: FAKE, address: x, username: a}\nextra: 1\n", "extra", "unknown top-level key"),
    ("apiVersion: cisco.vk/v2\nkind: CiscoDevice\nspec: {}\n", "apiVersion", "cisco.vk/v1alpha1"),
    ("apiVersion: cisco.vk/v1alpha1\nkind: Device\nspec: {}\n", "kind", "CiscoDevice"),
    ("apiVersion: cisco.vk/v1alpha1\nkind: CiscoDevice\n", "spec", "required"),
    ("apiVersion: cisco.vk/v1alpha1\nkind: CiscoDevice\nspec: {}\nextra: 1\n", "extra", "unknown top-level"),
])
def test_file_problems(tmp_path: Path, text: str, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_device_file(write(tmp_path, text), NO_ENV)
    assert err.value.field == field
    assert fragment in err.value.message


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match=r"cannot read config file /nonexistent\.yaml"):
        load_device_file("/nonexistent.yaml", NO_ENV)


XE = "device:\n  driver: XE\n  address: 10.0.0.1\n  username: a\n"


def test_password_precedence(tmp_path: Path) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text("from-file\n")
    env_file = tmp_path / "pw2"
    env_file.write_text("from-env-file")
    path = write(tmp_path, XE + "  password: inline\n")
    assert load_device_file(path, {"CVK_DEVICE_PASSWORD": "env"}).password == "inline"
    path = write(tmp_path, XE)
    assert load_device_file(path, {"CVK_DEVICE_PASSWORD": "env",
                                   "CVK_DEVICE_PASSWORD_FILE": str(env_file)}).password == "env"
    assert load_device_file(path, {"CVK_DEVICE_PASSWORD_FILE": str(env_file)}).password == "from-env-file"
    path = write(tmp_path, XE + f"  passwordFile: {pw_file}\n")
    assert load_device_file(path, {"CVK_DEVICE_PASSWORD_FILE": str(env_file)}).password == "from-file"


def test_password_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_device_file(write(tmp_path, XE), NO_ENV)
    assert err.value.field == "device.password" and "CVK_DEVICE_PASSWORD" in err.value.message
    with pytest.raises(ConfigError) as err:
        load_device_file(write(tmp_path, XE + "  passwordFile: /nope/pw\n"), NO_ENV)
    assert err.value.field == "device.passwordFile" and "No such file" in err.value.message
    with pytest.raises(ConfigError) as err:
        load_device_file(write(tmp_path, XE), {"CVK_DEVICE_PASSWORD_FILE": "/nope/pw"})
    assert err.value.field == "CVK_DEVICE_PASSWORD_FILE"
    fake = parse_device_spec({"driver": "FAKE", "address": "x", "username": "a"})
    resolve_password(fake, NO_ENV)  # FAKE needs none
    assert fake.password is None


def test_password_never_in_repr_dict_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    spec = load_device_file(write(tmp_path, XE + "  password: s3cr3t-value\n"), NO_ENV)
    assert "s3cr3t-value" not in repr(spec)
    assert "password" not in spec_to_dict(spec)
    assert spec_to_dict(spec, include_secrets=True)["password"] == "s3cr3t-value"
    assert "s3cr3t-value" not in caplog.text


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_loads_and_round_trips(example: Path) -> None:
    spec = load_device_file(str(example), {"CVK_DEVICE_PASSWORD": "pw"})
    without = parse_device_spec(spec_to_dict(spec))
    assert without == dataclasses.replace(spec, password=None)
    resolved = parse_device_spec(spec_to_dict(spec, include_secrets=True))
    assert resolved == dataclasses.replace(spec, password_file=None, credential_secret_ref=None)
    assert resolved.password == (spec.password or "pw")


def test_examples_cover_the_documented_set() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"fake-minimal.yaml", "fake.yaml", "xe-vpg-dhcp.yaml", "xe-vpg-static.yaml", "xe-appgig-access.yaml",
            "xe-appgig-trunk.yaml", "xe-management.yaml"} <= names
    assert any(n.startswith("ciscodevice-") for n in names)


def test_minimal_example_has_only_the_required_fields() -> None:
    import yaml

    doc = yaml.safe_load((Path(EXAMPLES[0]).parent / "fake-minimal.yaml").read_text())
    assert set(doc["device"]) == {"driver", "address", "username"}


def test_spec_to_dict_is_camel_case_and_round_trips() -> None:
    data = {"driver": "XE", "address": "sw1.example.net", "username": "a", "podCIDR": "10.1.0.0/24",
            "resourceLimits": {"defaultCPU": "1", "maxCPU": "2"}, "xe": {"networking": {"interface": {
                "type": "AppGigabitEthernet",
                "appGigabitEthernet": {"mode": "trunk", "vlanIf": {"vlan": 9, "dhcp": False}}}}}}
    spec = parse_device_spec(data)
    out = spec_to_dict(spec)
    assert out["podCIDR"] == "10.1.0.0/24" and out["resourceLimits"] == {"defaultCPU": "1", "maxCPU": "2"}
    assert out["xe"]["networking"]["interface"]["appGigabitEthernet"]["vlanIf"]["vlan"] == 9
    assert parse_device_spec(out) == spec
    assert parse_device_spec(spec_to_dict(DeviceSpec(driver=spec.driver, address="x", username="u"))) \
        == DeviceSpec(driver=spec.driver, address="x", username="u")


@pytest.mark.parametrize(("address", "name"), [
    ("192.0.2.10", "cisco-vk-192-0-2-10"),
    ("Switch-01.Example.NET", "cisco-vk-switch-01-example-net"),
    ("2001:db8::1", "cisco-vk-2001-db8-1"),
    (" edge 7 / lab ", "cisco-vk-edge-7-lab"),
    ("a" * 80, "cisco-vk-" + "a" * 54),
    ("...", "cisco-virtual-kubelet"),
])
def test_default_node_name_is_a_valid_node_name(address: str, name: str) -> None:
    assert default_node_name(address) == name
    assert dns_subdomain_problem(name, 63) is None
