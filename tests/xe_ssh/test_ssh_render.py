"""The controller's side of spec.ssh: the CRD rules, the known_hosts Secret mount, the rewritten path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller import crd, render
from cvk.config.loader import parse_device_spec
from hack.kubeapi.schema import validate_and_default

KNOWN_HOSTS_TEXT = "[10.0.0.1]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnownHostsSecretContentMustNotLeak"

DEVICE: dict[str, Any] = {
    "apiVersion": "cisco.vk/v1alpha1",
    "kind": "CiscoDevice",
    "metadata": {"name": "sw1", "namespace": "lab", "uid": "u-1", "generation": 1},
    "spec": {
        "driver": "XE",
        "address": "10.0.0.1",
        "username": "admin",
        "credentialSecretRef": {"name": "sw1-creds"},
        "tls": {"enabled": True, "caSecretRef": {"name": "sw1-ca"}},
        "ssh": {"port": 2222, "knownHostsSecretRef": {"name": "sw1-ssh", "key": "hosts"}},
    },
}


def _container(dep: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = dep["spec"]["template"]["spec"]["containers"]
    return containers[0]


def test_known_hosts_secret_is_mounted_read_only_at_the_path_the_device_file_names() -> None:
    dep = render.render_deployment(DEVICE, render.RenderOptions())
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m for m in _container(dep)["volumeMounts"]}
    assert volumes["device-known-hosts"]["secret"] == {
        "secretName": "sw1-ssh", "items": [{"key": "hosts", "path": "known_hosts"}]
    }
    mount = mounts["device-known-hosts"]
    assert mount["readOnly"] is True
    ssh = render.device_file(DEVICE)["device"]["ssh"]
    assert ssh == {"port": 2222, "knownHostsFile": f"{mount['mountPath']}/known_hosts"}
    assert "device-ca" in volumes  # the TLS mounts are still there


def test_default_secret_key_is_known_hosts() -> None:
    device = copy.deepcopy(DEVICE)
    device["spec"]["ssh"] = {"knownHostsSecretRef": {"name": "sw1-ssh"}}
    dep = render.render_deployment(device, render.RenderOptions())
    volume = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "device-known-hosts")
    assert volume["secret"]["items"] == [{"key": "known_hosts", "path": "known_hosts"}]


def test_configmap_names_only_the_path_and_loads_as_a_device_file() -> None:
    cm = render.render_configmap(DEVICE)
    text = cm["data"]["config.yaml"]
    assert "knownHostsSecretRef" not in text and "sw1-ssh" not in text
    assert KNOWN_HOSTS_TEXT not in text and "ssh-ed25519" not in text
    spec = parse_device_spec(yaml.safe_load(text)["device"], root="device")
    assert spec.ssh is not None
    assert spec.ssh.known_hosts_file == render.KNOWN_HOSTS_FILE
    assert spec.ssh.known_hosts_secret_ref is None and spec.ssh.port == 2222


def test_changing_the_secret_ref_changes_the_pod_template() -> None:
    other = copy.deepcopy(DEVICE)
    other["spec"]["ssh"]["knownHostsSecretRef"]["name"] = "sw1-ssh-v2"
    a = render.render_deployment(DEVICE, render.RenderOptions())["spec"]["template"]
    b = render.render_deployment(other, render.RenderOptions())["spec"]["template"]
    assert a != b  # a new Secret rolls the cisco-vk pod


def test_no_ssh_and_insecure_ssh_mount_nothing() -> None:
    for ssh in (None, {"insecureSkipHostKeyCheck": True}):
        device = copy.deepcopy(DEVICE)
        if ssh is None:
            del device["spec"]["ssh"]
        else:
            device["spec"]["ssh"] = ssh
        dep = render.render_deployment(device, render.RenderOptions())
        names = {v["name"] for v in dep["spec"]["template"]["spec"]["volumes"]}
        assert "device-known-hosts" not in names
        assert render.device_file(device)["device"].get("ssh") == ssh


def _schema() -> dict[str, Any]:
    version = crd.crd_manifest()["spec"]["versions"][0]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.parametrize(
    ("ssh", "message"),
    [
        ({"port": 22}, "set knownHostsSecretRef or, for a lab, insecureSkipHostKeyCheck: true"),
        ({"insecureSkipHostKeyCheck": False}, "set knownHostsSecretRef or, for a lab, insecureSkipHostKeyCheck"),
        ({"knownHostsFile": "/f", "knownHostsSecretRef": {"name": "s"}}, "not both"),
        ({"port": 0, "insecureSkipHostKeyCheck": True}, "greater than or equal to 1"),
    ],
)
def test_crd_refuses_what_the_loader_refuses(ssh: dict[str, Any], message: str) -> None:
    device = copy.deepcopy(DEVICE)
    device["spec"]["ssh"] = ssh
    _, errors = validate_and_default(device, _schema())
    assert any(message in e.detail or message in str(e) for e in errors), errors


def test_crd_accepts_and_defaults_a_valid_ssh_block() -> None:
    out, errors = validate_and_default(DEVICE, _schema())
    assert errors == []
    assert out["spec"]["ssh"]["insecureSkipHostKeyCheck"] is False
    ref_only = copy.deepcopy(DEVICE)
    ref_only["spec"]["ssh"] = {"knownHostsSecretRef": {"name": "sw1-ssh"}}
    out, errors = validate_and_default(ref_only, _schema())
    assert errors == [] and out["spec"]["ssh"] == {
        "port": 22, "insecureSkipHostKeyCheck": False, "knownHostsSecretRef": {"name": "sw1-ssh", "key": "known_hosts"}
    }


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("ciscodevice-xe-*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_xe_ciscodevice_examples_pass_the_crd_and_get_their_known_hosts_mounted(example: Path) -> None:
    device = yaml.safe_load(example.read_text())
    device["metadata"]["uid"] = "u-1"
    _, errors = validate_and_default(device, _schema())
    assert errors == []
    dep = render.render_deployment(device, render.RenderOptions())
    names = {v["name"] for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert "device-known-hosts" in names
    spec = parse_device_spec(render.device_file(device)["device"], root="spec")
    assert spec.ssh is not None and spec.ssh.known_hosts_file == render.KNOWN_HOSTS_FILE
