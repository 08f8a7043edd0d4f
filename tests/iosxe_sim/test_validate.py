"""hack/yang/validate.py: yangson validation of payloads, cross-checked with yanglint."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hack.yang import validate as v
from tests.iosxe_sim.helpers import app_config

APPS = "Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps"
RPC = "Cisco-IOS-XE-rpc:app-hosting"


def test_valid_app_config_has_no_errors() -> None:
    assert v.validate(APPS, app_config("cvk0000_a24a730b8b134fd096ee900f99d87670", start=True)) == []


def test_path_forms_are_equivalent() -> None:
    bad = app_config("a1", memory=20000)
    expected = v.validate(APPS, bad)
    assert expected and "memory-capacity-mb" in expected[0]
    assert v.validate("/restconf/data/" + APPS, bad) == expected
    tree = {"Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data": {"apps": bad}}
    assert v.validate("", tree) == expected
    assert v.validate("/", tree) == expected
    entry = {"start": "no"}
    (err,) = v.validate(APPS + "/app=a1", entry)
    assert err.startswith("/Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps/app=a1/start:")


def test_errors_name_the_path_and_the_allowed_values() -> None:
    (err,) = v.validate(APPS, app_config("a1", cpu=30000))
    assert "/application-resource-profile/cpu-units" in err
    (p,) = v.check(APPS, app_config("a" * 41))
    assert p.tag == "invalid-value"
    assert "length 1..40" in p.message
    body = app_config("a1")
    body["Cisco-IOS-XE-app-hosting-cfg:app"][0]["bogus"] = 1
    (p,) = v.check(APPS, body)
    assert p.tag == "unknown-element"
    assert p.path.endswith("/app=a1/bogus")


def test_rpc_input_with_and_without_wrapper() -> None:
    ok = {"install": {"appid": "a", "package": "bootflash:/x.tar"}}
    assert v.validate(RPC, ok, "rpc-input") == []
    assert v.validate(RPC, {"Cisco-IOS-XE-rpc:input": ok}, "rpc-input") == []
    assert v.validate(RPC, {"Cisco-IOS-XE-rpc:install": ok["install"]}, "rpc-input") == []
    assert v.validate(RPC, {"bogus": {}}, "rpc-input")
    assert v.validate("Cisco-IOS-XE-rpc:nope", ok, "rpc-input")[0].startswith("Cisco-IOS-XE-rpc:nope: invalid path")


def test_oper_data_kind() -> None:
    def tree(state: Any) -> dict[str, Any]:
        app = {"name": "a", "details": {"state": state}}
        return {"Cisco-IOS-XE-app-hosting-oper:app-hosting-oper-data": {"app": [app]}}

    assert v.validate("", tree("RUNNING"), "nonconfig") == []
    assert v.validate("", tree(5), "nonconfig")


def test_non_object_payload() -> None:
    assert v.check(APPS, [1, 2])[0].tag == "malformed-message"


def test_yang_library_lists_imports_and_submodules() -> None:
    lib = v.yang_library(["Cisco-IOS-XE-rpc"], [str(v.yang_dir())])
    mods = {m["name"]: m for m in lib["ietf-yang-library:modules-state"]["module"]}
    assert mods["Cisco-IOS-XE-rpc"]["conformance-type"] == "implement"
    assert mods["cisco-semver"]["conformance-type"] == "import"
    subs = {s["name"] for s in mods["Cisco-IOS-XE-rpc"]["submodule"]}
    assert {"Cisco-IOS-XE-aaa-rpc", "Cisco-IOS-XE-platform-rpc", "Cisco-IOS-XE-crypto-rpc"} <= subs


def test_missing_yang_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(v.YangSetupError, match="CVK_YANG_DIR"):
        v.yang_library(["Cisco-IOS-XE-rpc"], [str(tmp_path / "nope")])
    with pytest.raises(v.YangSetupError, match="not found"):
        v.yang_library(["Cisco-IOS-XE-rpc"], [str(tmp_path)])


def test_cvk_yang_dir_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CVK_YANG_DIR", str(tmp_path))
    assert v.yang_dir() == tmp_path


# ----------------------------------------------------------------------------- yanglint cross-check

YANGLINT = shutil.which("yanglint")
needs_yanglint = pytest.mark.skipif(YANGLINT is None, reason="yanglint missing: apt-get install libyang2-tools")


def yanglint_ok(tmp_path: Path, module: str, kind: str, doc: dict[str, Any]) -> bool:
    assert YANGLINT is not None
    f = tmp_path / "doc.json"
    f.write_text(json.dumps(doc))
    ydir = v.yang_dir()
    r = subprocess.run(
        [YANGLINT, "-p", str(ydir), "-t", kind, str(ydir / f"{module}.yang"), str(f)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return r.returncode == 0


def cfg_tree(entry_changes: dict[str, Any]) -> dict[str, Any]:
    body = app_config("cvk0000_a24a730b8b134fd096ee900f99d87670")
    body["Cisco-IOS-XE-app-hosting-cfg:app"][0].update(entry_changes)
    return {
        "Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data": {"apps": {"app": body["Cisco-IOS-XE-app-hosting-cfg:app"]}}
    }


@needs_yanglint
@pytest.mark.parametrize(
    ("changes", "valid"),
    [
        ({}, True),
        ({"application-resource-profile": {"memory-capacity-mb": 99999}}, False),
        ({"start": "true"}, False),
        ({"application-name": "x" * 41}, False),
        (
            {
                "appintf-vlan-rules": {
                    "appintf-vlan-rule": [{"vlan-id": 100, "guest-interface": 0, "mcast-enable": True}]
                }
            },
            True,
        ),
        ({"appintf-vlan-rules": {"appintf-vlan-rule": [{"vlan-id": 70000}]}}, False),
        ({"application-network-resource": {"appintf-vlan-mode": "appintf-trunk"}}, True),
        ({"application-network-resource": {"appintf-vlan-mode": "trunk"}}, False),
    ],
)
def test_yangson_and_yanglint_agree_on_config(tmp_path: Path, changes: dict[str, Any], valid: bool) -> None:
    tree = cfg_tree(changes)
    assert (v.validate("", tree) == []) is valid
    assert yanglint_ok(tmp_path, "Cisco-IOS-XE-app-hosting-cfg", "config", tree) is valid


@needs_yanglint
@pytest.mark.parametrize(
    ("inp", "valid"),
    [
        ({"install": {"appid": "a", "package": "bootflash:/x.tar"}}, True),
        ({"move": {"appid": "a", "log": {"to": "bootflash:"}}}, True),
        ({"move": {"appid": "a", "log": {"to": "tftp:"}}}, False),
        ({"install": {"appid": "a", "pkg": "x"}}, False),
    ],
)
def test_yangson_and_yanglint_agree_on_rpc_input(tmp_path: Path, inp: dict[str, Any], valid: bool) -> None:
    assert (v.validate(RPC, inp, "rpc-input") == []) is valid
    assert yanglint_ok(tmp_path, "Cisco-IOS-XE-rpc", "rpc", {RPC: inp}) is valid
