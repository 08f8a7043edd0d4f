"""The realistic mistakes of a hand-written device file get a message that says how to fix them,
not only what is wrong: quoted numbers, a scalar where a block belongs, a port or scheme in the
address, spec keys without the ``device:`` line above them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvk.config.loader import load_device_file
from cvk.errors import ConfigError

HEAD = "device:\n  driver: FAKE\n  address: 192.0.2.1\n  username: admin\n"


def _error(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "device.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_device_file(str(path), env={})
    return info.value


@pytest.mark.parametrize(("extra", "field", "fragments"), [
    ('  port: "443"\n', "device.port", ["'443'", "remove the quotes"]),
    ('  maxPods: "8"\n', "device.maxPods", ["remove the quotes"]),
    ("  tls: {enabled: \"true\"}\n", "device.tls.enabled", ["remove the quotes"]),
    ("  tls: true\n", "device.tls", ["got a boolean", "enabled", "insecureSkipVerify", "e.g. tls: {enabled: true}"]),
    ("  ssh: yes\n", "device.ssh", ["got a boolean", "knownHostsFile", "insecureSkipHostKeyCheck"]),
    ("  taints: [NoSchedule]\n", "device.taints[0]", ["got a string", "key", "effect"]),
    ("  xe: {networking: {interface: VirtualPortGroup}}\n", "device.xe.networking.interface",
     ["got a string", "type", "virtualPortGroup"]),
])
def test_wrong_shapes_say_what_to_write(tmp_path: Path, extra: str, field: str, fragments: list[str]) -> None:
    err = _error(tmp_path, HEAD + extra)
    assert err.field == field
    for fragment in fragments:
        assert fragment in err.message, (fragment, err.message)


def test_a_quoted_word_is_not_told_to_drop_its_quotes(tmp_path: Path) -> None:
    err = _error(tmp_path, HEAD + "  port: https\n")
    assert err.field == "device.port" and "remove the quotes" not in err.message


@pytest.mark.parametrize(("address", "fragments"), [
    ("192.0.2.1:443", ["port: 443"]),
    ("c8kv.example.net:8443", ["port: 8443"]),
    ("https://192.0.2.1", ["without https://", "tls.enabled"]),
    ("http://c8kv.example.net:8080/", ["without http://"]),
])
def test_address_with_port_or_scheme_says_where_they_go(tmp_path: Path, address: str,
                                                         fragments: list[str]) -> None:
    err = _error(tmp_path, HEAD.replace("192.0.2.1", address))
    assert err.field == "device.address"
    for fragment in fragments:
        assert fragment in err.message, (fragment, err.message)


def test_spec_keys_without_the_device_line_are_told_to_indent(tmp_path: Path) -> None:
    err = _error(tmp_path, "driver: FAKE\naddress: 192.0.2.1\nusername: admin\n")
    assert err.field == "device"
    assert "indent" in err.message and "under `device:`" in err.message


def test_unrelated_top_level_keys_keep_the_plain_message(tmp_path: Path) -> None:
    err = _error(tmp_path, "devices:\n  driver: FAKE\n")
    assert err.field == "device"
    assert 'did you mean "device"' in err.message and "indent" not in err.message


@pytest.mark.parametrize(("extra", "field", "suggestion"), [
    ("  taints: [{key: a, effect: noschedule}]\n", "device.taints[0].effect", '"NoSchedule"'),
    ("  taints: [{key: a, effect: NoScheduled}]\n", "device.taints[0].effect", '"NoSchedule"'),
    ("  gnoi: {transportSecurity: TLS}\n", "device.gnoi.transportSecurity", '"tls"'),
])
def test_string_choices_suggest_the_close_one(tmp_path: Path, extra: str, field: str, suggestion: str) -> None:
    err = _error(tmp_path, HEAD + extra)
    assert err.field == field
    assert f"did you mean {suggestion}" in err.message, err.message
