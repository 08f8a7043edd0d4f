"""The CRD is generated from code, matches DeviceSpec field for field, and deploy/ is up to date."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

from controller import crd
from cvk.config import spec as spec_mod

ROOT = Path(__file__).resolve().parents[2]
# Fields the CRD may have that cisco-vk's DeviceSpec does not (none today).
CONTROLLER_ONLY: set[str] = set()


ACRONYMS = {"pod_cidr": "podCIDR", "default_cpu": "defaultCPU", "max_cpu": "maxCPU"}


def _camel(name: str) -> str:
    if name in ACRONYMS:
        return ACRONYMS[name]
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _dataclass_of(tp: Any) -> type | None:
    for arg in typing.get_args(tp) or (tp,):
        if dataclasses.is_dataclass(arg):
            return arg  # type: ignore[return-value]
        inner = _dataclass_of(arg) if typing.get_args(arg) else None
        if inner:
            return inner
    return None


def _compare(cls: type, schema: dict[str, Any], prefix: str, problems: list[str]) -> None:
    hints = typing.get_type_hints(cls, vars(spec_mod))
    fields = {_camel(f.name): hints[f.name] for f in dataclasses.fields(cls)}
    props = schema.get("properties", {})
    for key in props:
        path = f"{prefix}{key}"
        if key not in fields and path not in CONTROLLER_ONLY:
            problems.append(f"CRD has {path} but {cls.__name__} does not")
    for key, tp in fields.items():
        path = f"{prefix}{key}"
        if key not in props:
            problems.append(f"{cls.__name__} has {path} but the CRD does not")
            continue
        sub = _dataclass_of(tp)
        sub_schema = props[key]
        if sub_schema.get("type") == "array":
            sub_schema = sub_schema["items"]
        if sub is not None and "properties" in sub_schema:
            _compare(sub, sub_schema, f"{path}.", problems)


def test_crd_properties_match_device_spec_fields() -> None:
    spec_schema = crd.crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    problems: list[str] = []
    _compare(spec_mod.DeviceSpec, spec_schema, "", problems)
    assert problems == []


def test_driver_enum_matches_code_and_reserved_ones_are_refused_by_cel() -> None:
    spec_schema = crd.crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert set(spec_schema["properties"]["driver"]["enum"]) == {d.value for d in spec_mod.DriverName}
    rules = " ".join(r["rule"] for r in spec_schema["x-kubernetes-validations"])
    for name in crd.RESERVED_DRIVERS:
        assert f"'{name}'" in rules


def test_printer_columns_and_names() -> None:
    manifest = crd.crd_manifest()
    assert manifest["metadata"]["name"] == "ciscodevices.cisco.vk"
    assert manifest["spec"]["names"]["shortNames"] == ["cvk"]
    cols = [c["name"] for c in manifest["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert cols == ["Driver", "Address", "Node", "Phase", "Ready", "Age"]


def test_patterns_compile() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                re.compile(node["pattern"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(crd.crd_manifest())


def test_generated_manifests_in_deploy_are_up_to_date() -> None:
    proc = subprocess.run([sys.executable, "-m", "hack.gen_manifests", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
