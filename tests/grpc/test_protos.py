"""The generated gNMI/gNOI modules: fresh (match proto/), importable, and wire-compatible with OpenConfig."""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cvk import grpcapi

ROOT = Path(__file__).resolve().parents[2]
GEN = ROOT / "cvk" / "grpcapi" / "gen"


_VERSION_STAMPS = [
    (re.compile(r"# Protobuf Python Version: .*"), "# Protobuf Python Version: X"),
    (re.compile(r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*\d+,\s*\d+,\s*\d+,"),
     "ValidateProtobufRuntimeVersion(X,"),
    (re.compile(r"GRPC_GENERATED_VERSION = '[^']*'"), "GRPC_GENERATED_VERSION = 'X'"),
]


def _normalised(path: Path) -> str:
    """File text without the generator's version stamps (a newer grpcio-tools alone is not staleness)."""
    text = path.read_text()
    for pattern, repl in _VERSION_STAMPS:
        text = pattern.sub(repl, text)
    return text


def _diff(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    out = [f"only in checked-in: {x}" for x in cmp.left_only] + [f"only in fresh: {x}" for x in cmp.right_only]
    out += [f"differs: {x}" for x in cmp.common_files if _normalised(a / x) != _normalised(b / x)]
    for sub in cmp.common_dirs:
        out += [f"{sub}/{x}" for x in _diff(a / sub, b / sub)]
    return out


def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is needed to run hack/scripts/gen_protos.sh")
    fresh = tmp_path / "gen"
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", str(ROOT / "hack/scripts/gen_protos.sh"), str(fresh)], check=True, env=env)
    problems = _diff(GEN, fresh)
    assert not problems, "cvk/grpcapi/gen is stale; run hack/scripts/gen_protos.sh: " + "; ".join(problems)


def test_services_and_packages() -> None:
    services = {
        s.full_name: sorted(m.name for m in s.methods)
        for mod in (grpcapi.gnmi_pb2, grpcapi.system_pb2, grpcapi.file_pb2, grpcapi.os_pb2, grpcapi.cert_pb2)
        for s in mod.DESCRIPTOR.services_by_name.values()
    }
    assert services == {
        "gnmi.gNMI": ["Capabilities", "Get", "Set", "Subscribe"],
        "gnoi.system.System": [
            "CancelReboot", "KillProcess", "Ping", "Reboot", "RebootStatus", "Time", "Traceroute",
        ],
        "gnoi.file.File": ["Get", "Put", "Remove", "Stat", "TransferToRemote"],
        "gnoi.os.OS": ["Activate", "Install", "Verify"],
        "gnoi.certificate.CertificateManagement": ["CanGenerateCSR", "GetCertificates"],
    }


def test_wire_format_of_known_fields() -> None:
    """Spot checks against the numbers in OpenConfig's protos (gNOI has no Python package to compare with)."""
    details = grpcapi.file_pb2.PutRequest.Details(remote_file="bootflash:/a", permissions=420)
    put = grpcapi.file_pb2.PutRequest(open=details)
    assert put.SerializeToString() == b"\n\x11\n\x0cbootflash:/a\x10\xa4\x03"
    assert grpcapi.cert_pb2.CanGenerateCSRResponse(can_generate=True).SerializeToString() == b"\x20\x01"
    assert grpcapi.system_pb2.PingResponse(bytes=64).SerializeToString() == b"\x58\x40"  # field 11
    assert grpcapi.system_pb2.RebootMethod.Value("POWERUP") == 7
    hash_t = grpcapi.types_pb2.HashType(method=grpcapi.types_pb2.HashType.SHA256, hash=b"x")
    assert hash_t.SerializeToString() == b"\x08\x01\x12\x01x"
    assert grpcapi.os_pb2.InstallResponse(validated=grpcapi.os_pb2.Validated(version="v")).SerializeToString() == (
        b"\x22\x03\x0a\x01v"
    )


_DUMP = """
import json, sys
from pygnmi.spec.v080 import gnmi_pb2, gnmi_ext_pb2
out = {}
for mod in (gnmi_pb2, gnmi_ext_pb2):
    def walk(prefix, msgs):
        for m in msgs:
            out[prefix + m.name] = {f.name: [f.number, f.type, f.is_repeated] for f in m.fields}
            walk(prefix + m.name + ".", m.nested_types)
    walk(mod.DESCRIPTOR.package + ".", mod.DESCRIPTOR.message_types_by_name.values())
json.dump(out, sys.stdout)
"""


def _ours() -> dict[str, dict[str, list[int | bool]]]:
    out: dict[str, dict[str, list[int | bool]]] = {}

    def walk(prefix: str, msgs: object) -> None:
        for m in msgs:  # type: ignore[attr-defined]
            out[prefix + m.name] = {f.name: [f.number, f.type, f.is_repeated] for f in m.fields}
            walk(prefix + m.name + ".", m.nested_types)

    for mod in (grpcapi.gnmi_pb2, grpcapi.gnmi_ext_pb2):
        walk(mod.DESCRIPTOR.package + ".", mod.DESCRIPTOR.message_types_by_name.values())
    return out


def test_gnmi_matches_openconfig_descriptors_from_pygnmi() -> None:
    """Every gNMI/gnmi_ext message and field of the official 0.8 definitions (as shipped by pygnmi) exists in
    ours with the same number, type and cardinality. Runs pygnmi in a subprocess: both define the ``gnmi`` package,
    which one descriptor pool cannot hold twice."""
    pytest.importorskip("pygnmi")
    proc = subprocess.run([sys.executable, "-c", _DUMP], capture_output=True, text=True, check=True)
    official: dict[str, dict[str, list[int | bool]]] = json.loads(proc.stdout)
    ours = _ours()
    problems = []
    for msg, fields in official.items():
        if msg not in ours:
            problems.append(f"message {msg} missing")
            continue
        for name, spec in fields.items():
            if ours[msg].get(name) != spec:
                problems.append(f"{msg}.{name}: official {spec}, ours {ours[msg].get(name)}")
    assert not problems, problems
    assert len(official) >= 25  # the comparison really ran over the whole file

