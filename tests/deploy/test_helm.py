"""The Helm chart passes `helm lint`, renders, and renders the generated RBAC and CRD."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from controller import rbac

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "cisco-vk"
HELM = shutil.which("helm") or str(ROOT / ".tools" / "bin" / "helm")

pytestmark = pytest.mark.skipif(not Path(HELM).exists(),
                                reason="helm not installed: run `make setup` (hack/scripts/install_k8s_tools.py)")


def _helm(*args: str) -> str:
    proc = subprocess.run([HELM, *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_helm_lint() -> None:
    _helm("lint", "--strict", str(CHART))


def test_helm_template_renders_controller_rbac_and_device_namespaces() -> None:
    out = _helm("template", "rel", str(CHART), "--namespace", "ops", "--include-crds",
                "--set", "deviceNamespaces={lab,prod}", "--set", "image.tag=1.2.3",
                "--set", "nodeSelector.role=infra")
    docs = [d for d in yaml.safe_load_all(out) if d]
    kinds = {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")) for d in docs}
    assert ("CustomResourceDefinition", "ciscodevices.cisco.vk", None) in kinds
    for ns in ("lab", "prod", "ops"):
        assert ("ServiceAccount", "cisco-vk", ns) in kinds
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "cisco-vk:1.2.3"
    assert container["args"][0] == "controller" and "--leader-elect" in container["args"]
    assert deployment["spec"]["template"]["spec"]["nodeSelector"] == {"role": "infra"}
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    assert roles["rel-controller"]["rules"] == rbac.controller_rules()
    assert roles["rel-vk"]["rules"] == rbac.vk_rules()
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding" and d["metadata"]["name"] == "rel-vk")
    assert {s["namespace"] for s in binding["subjects"]} == {"lab", "prod", "ops"}


def test_vk_reads_secrets_only_by_name() -> None:
    secrets = [r for r in rbac.vk_rules() if "secrets" in r["resources"]]
    assert secrets and all(set(r["verbs"]) == {"get"} for r in secrets)
