"""python -m hack.kubeapi: argument errors and the files it writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hack.kubeapi", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_bad_deny_rule_is_a_usage_error(tmp_path: Path) -> None:
    res = _run("--port", "0", "--write-kubeconfig", str(tmp_path / "kc"), "--deny", "bob:get")
    assert res.returncode == 2
    assert "--deny" in res.stderr and "expected USER:VERB:RESOURCE" in res.stderr


def test_bad_port_and_window(tmp_path: Path) -> None:
    res = _run("--port", "70000", "--write-kubeconfig", str(tmp_path / "kc"))
    assert res.returncode == 2 and "--port: 70000 is not a port number" in res.stderr
    res = _run("--watch-window", "0", "--write-kubeconfig", str(tmp_path / "kc"))
    assert res.returncode == 2 and "--watch-window: must be at least 1" in res.stderr


def test_process_writes_kubeconfig_and_pki(kubeapi_process: Any) -> None:
    cfg = yaml.safe_load(Path(kubeapi_process.kubeconfig).read_text())
    assert cfg["clusters"][0]["cluster"]["server"] == kubeapi_process.url
    assert cfg["clusters"][0]["cluster"]["certificate-authority-data"]
    assert cfg["users"][0]["user"]["token"] == kubeapi_process.token
    assert Path(kubeapi_process.client_ca_cert_file).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in Path(kubeapi_process.client_ca_key_file).read_text()
    assert (Path(kubeapi_process.ca_file).parent / "apiserver-kubelet-client.crt").exists()
    r = kubeapi_process.request("GET", "/version")
    assert r.status_code == 200 and r.json()["gitVersion"].startswith("v1.")
