"""The objects the controller renders for a CiscoDevice."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from controller import render
from cvk.config.loader import parse_device_spec

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
        "logLevel": "debug",
        "xe": {"networking": {"interface": {"type": "VirtualPortGroup",
                                            "virtualPortGroup": {"dhcp": True, "interface": "0"}}}},
    },
}


def test_configmap_holds_no_secret_and_loads_as_a_device_file() -> None:
    device = copy.deepcopy(DEVICE)
    device["spec"].pop("credentialSecretRef")
    device["spec"]["password"] = "s3cr3t-pw"
    cm = render.render_configmap(device)
    text = cm["data"]["config.yaml"]
    assert "s3cr3t-pw" not in text
    assert "password" not in text and "credentialSecretRef" not in text
    doc = yaml.safe_load(text)
    spec = parse_device_spec(doc["device"], root="device")
    assert spec.address == "10.0.0.1"
    assert spec.tls.ca_file == "/etc/cisco-vk/tls/ca/ca.crt"
    assert cm["metadata"]["ownerReferences"][0]["uid"] == "u-1"


def test_inline_password_moves_to_an_owned_secret_referenced_by_env() -> None:
    device = copy.deepcopy(DEVICE)
    device["spec"].pop("credentialSecretRef")
    device["spec"]["password"] = "s3cr3t-pw"
    secret = render.render_credentials_secret(device)
    assert secret is not None and secret["stringData"] == {"password": "s3cr3t-pw"}
    dep = render.render_deployment(device, render.RenderOptions(), credential_rv="42")
    assert "s3cr3t-pw" not in yaml.safe_dump(dep)
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env[render.PASSWORD_ENV]["valueFrom"]["secretKeyRef"] == {"name": "sw1-credentials", "key": "password"}


def test_deployment_is_recreate_single_replica_with_secret_ref_and_mounts() -> None:
    dep = render.render_deployment(DEVICE, render.RenderOptions(image="reg/cisco-vk:1"), credential_rv="7")
    spec = dep["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]
    container = pod["spec"]["containers"][0]
    assert container["args"][:5] == ["run", "--config", "/etc/cisco-vk/config.yaml", "--nodename", "sw1"]
    assert "--log-level" in container["args"] and "debug" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    assert env[render.PASSWORD_ENV]["valueFrom"]["secretKeyRef"] == {"name": "sw1-creds", "key": "password"}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["device-ca"] == "/etc/cisco-vk/tls/ca"
    assert pod["metadata"]["annotations"][render.CREDENTIAL_RV_ANNOTATION] == "7"


def test_spec_change_and_secret_rotation_change_the_pod_template() -> None:
    opts = render.RenderOptions()
    base = render.render_deployment(DEVICE, opts, "7")["spec"]["template"]
    assert render.render_deployment(DEVICE, opts, "7")["spec"]["template"] == base
    rotated = render.render_deployment(DEVICE, opts, "8")["spec"]["template"]
    assert rotated != base
    changed = copy.deepcopy(DEVICE)
    changed["spec"]["address"] = "10.0.0.2"
    assert render.render_deployment(changed, opts, "7")["spec"]["template"] != base


def test_node_name_defaults_to_the_device_name() -> None:
    assert render.node_name(DEVICE) == "sw1"
    other = copy.deepcopy(DEVICE)
    other["spec"]["nodeName"] = "edge-sw-1"
    assert render.node_name(other) == "edge-sw-1"
