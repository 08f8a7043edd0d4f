"""End to end through real kubectl on the sandbox: API emulator, IOS-XE simulator, host runner,
controller and cisco-vk processes. The tests share one sandbox and run in file order; the last one
deletes the device."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hack.iosxe_sim.control import SimControl
from hack.sandbox.steps import DEMO_NS, DEVICE, Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = Sandbox(tmp_path_factory.mktemp("sandbox"), driver="XE")
    try:
        sb.run_scenario()
        yield sb
    finally:
        sb.stop()


def _vk_pods(sb: Sandbox) -> list[dict[str, Any]]:
    pods = sb.get("pods", "-n", DEMO_NS, "-l", f"app.kubernetes.io/instance={DEVICE}") or {"items": []}
    return list(pods["items"])


def _condition(obj: dict[str, Any] | None, ctype: str) -> dict[str, Any]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return {}


def _sim(sb: Sandbox) -> SimControl:
    return SimControl(f"https://127.0.0.1:{sb.sim['port']}", ca_file=str(sb.dir / "sim-ca.pem"))


def test_device_ready_node_ready_and_pod_running(sandbox: Sandbox) -> None:
    device = sandbox.get("ciscodevice", DEVICE, "-n", DEMO_NS)
    assert device is not None and device["status"]["phase"] == "Ready"
    assert _condition(device, "Ready")["status"] == "True"
    assert _condition(sandbox.get("node", DEVICE), "Ready")["status"] == "True"
    pod = sandbox.get("pod", "hello", "-n", DEMO_NS)
    assert pod is not None and pod["status"]["phase"] == "Running" and pod["status"].get("podIP")
    table = sandbox.kubectl("get", "cvk", "-n", DEMO_NS).stdout
    assert "DRIVER" in table and "XE" in table and "Ready" in table


def test_spec_change_replaces_the_cisco_vk_pod_once_never_two_at_a_time(sandbox: Sandbox) -> None:
    before = {p["metadata"]["uid"] for p in _vk_pods(sandbox)}
    assert len(before) == 1
    sandbox.kubectl("patch", "ciscodevice", DEVICE, "-n", DEMO_NS, "--type=merge",
                    "-p", json.dumps({"spec": {"logLevel": "debug"}}))
    seen: set[str] = set()
    deadline = time.monotonic() + 120
    ready_new = False
    while time.monotonic() < deadline and not ready_new:
        pods = _vk_pods(sandbox)
        assert len(pods) <= 1, f"two cisco-vk pods at once: {[p['metadata']['name'] for p in pods]}"
        for p in pods:
            seen.add(p["metadata"]["uid"])
            if p["metadata"]["uid"] not in before and _condition(p, "Ready").get("status") == "True":
                ready_new = True
        time.sleep(0.2)
    assert ready_new, "the cisco-vk pod was not replaced"
    assert len(seen - before) == 1, "the cisco-vk pod was replaced more than once"
    sandbox.kubectl("wait", "--for=condition=Ready", f"ciscodevice/{DEVICE}", "-n", DEMO_NS, "--timeout=120s",
                    timeout=130)


def test_secret_rotation_rolls_the_pod_and_uses_the_new_password(sandbox: Sandbox) -> None:
    old_uid = _vk_pods(sandbox)[0]["metadata"]["uid"]
    _sim(sandbox).set_credentials("admin", "rotated-pw-1")
    secret = f"{DEVICE}-credentials-ref"
    sandbox.kubectl("patch", "secret", secret, "-n", DEMO_NS, "--type=merge",
                    "-p", json.dumps({"data": {"password": base64.b64encode(b"rotated-pw-1").decode()}}))

    def rolled_and_reachable() -> bool:
        pods = _vk_pods(sandbox)
        node = sandbox.get("node", DEVICE)
        return (bool(pods) and pods[0]["metadata"]["uid"] != old_uid
                and _condition(node, "DeviceReachable").get("status") == "True")

    sandbox.wait_for("a new cisco-vk pod that reaches the device with the new password", rolled_and_reachable,
                     timeout=120)


def test_invalid_ciscodevice_is_rejected_by_the_schema(sandbox: Sandbox) -> None:
    bad = {"apiVersion": "cisco.vk/v1alpha1", "kind": "CiscoDevice", "metadata": {"name": "bad", "namespace": DEMO_NS},
           "spec": {"driver": "XE", "address": "10.0.0.9", "username": "admin", "port": 70000,
                    "credentialSecretRef": {"name": "x"}}}
    proc = sandbox.kubectl("apply", "-f", "-", input_text=json.dumps(bad), check=False)
    assert proc.returncode != 0
    assert "spec.port" in proc.stderr
    reserved = {**bad, "spec": {**bad["spec"], "port": 443, "driver": "NXOS"}}
    proc = sandbox.kubectl("apply", "-f", "-", input_text=json.dumps(reserved), check=False)
    assert proc.returncode != 0 and "reserved" in proc.stderr


def test_invalid_ciscodevice_is_reported_in_its_conditions(sandbox: Sandbox) -> None:
    doc = {"apiVersion": "cisco.vk/v1alpha1", "kind": "CiscoDevice",
           "metadata": {"name": "nosecret", "namespace": DEMO_NS},
           "spec": {"driver": "FAKE", "address": "10.0.0.9", "username": "admin",
                    "credentialSecretRef": {"name": "does-not-exist"}}}
    sandbox.apply(doc)

    def reported() -> bool:
        ready = _condition(sandbox.get("ciscodevice", "nosecret", "-n", DEMO_NS), "Ready")
        return ready.get("status") == "False" and ready.get("reason") == "SecretNotFound"

    sandbox.wait_for("Ready=False reason SecretNotFound", reported, timeout=60)
    message = _condition(sandbox.get("ciscodevice", "nosecret", "-n", DEMO_NS), "Ready")["message"]
    assert "spec.credentialSecretRef" in message and "does-not-exist" in message
    assert sandbox.get("deployment", "nosecret-vk", "-n", DEMO_NS) is None
    sandbox.kubectl("delete", "ciscodevice", "nosecret", "-n", DEMO_NS, "--timeout=60s", timeout=70)


def test_no_password_in_configmaps_events_or_logs(sandbox: Sandbox) -> None:
    secret = sandbox.get("secret", f"{DEVICE}-credentials-ref", "-n", DEMO_NS)
    assert secret is not None
    password = base64.b64decode(secret["data"]["password"]).decode()
    for kind in ("configmaps", "events", "deployments", "ciscodevices"):
        text = sandbox.kubectl("get", kind, "-A", "-o", "yaml").stdout
        assert password not in text, f"password found in {kind}"
    for log in Path(sandbox.dir).rglob("*.log"):
        assert password not in log.read_text(errors="replace"), f"password found in {log}"


def test_controller_and_cisco_vk_run_as_their_service_accounts_under_rbac(sandbox: Sandbox) -> None:
    """The sandbox's API enforces RBAC and the host runner gives each pod its ServiceAccount's token:
    everything above worked with exactly the chart's RBAC, and what it does not grant is refused."""
    vk_pod = _vk_pods(sandbox)[0]
    vk_config = sandbox.dir / "host" / vk_pod["metadata"]["uid"] / "serviceaccount.kubeconfig"
    assert vk_config.exists(), "the cisco-vk pod did not get a ServiceAccount token"

    def as_vk(*args: str) -> str:
        proc = sandbox.kubectl("--kubeconfig", str(vk_config), *args, check=False)
        return (proc.stdout + proc.stderr).strip()

    assert as_vk("auth", "can-i", "update", "pods", "--subresource=status", "-n", DEMO_NS) == "yes"
    assert as_vk("auth", "can-i", "update", "pods", "-n", DEMO_NS).startswith("no")
    assert as_vk("auth", "can-i", "list", "secrets", "-n", DEMO_NS).startswith("no")
    assert "forbidden" in as_vk("get", "secrets", "-n", DEMO_NS)
    assert "forbidden" in as_vk("delete", "ciscodevice", DEVICE, "-n", DEMO_NS)
    controllers = (sandbox.get("pods", "-A", "-l", "app.kubernetes.io/component=controller") or {}).get("items") or []
    assert len(controllers) == 1
    ctl_config = sandbox.dir / "host" / controllers[0]["metadata"]["uid"] / "serviceaccount.kubeconfig"
    proc = sandbox.kubectl("--kubeconfig", str(ctl_config), "auth", "can-i", "create", "nodes", check=False)
    assert proc.stdout.strip().startswith("no")  # the controller deletes Nodes, it never makes them


def test_delete_removes_pods_apps_node_and_lease(sandbox: Sandbox) -> None:
    sandbox.kubectl("delete", "ciscodevice", DEVICE, "-n", DEMO_NS, "--wait=false")
    sandbox.wait_for("the CiscoDevice to be gone", lambda: sandbox.get("ciscodevice", DEVICE, "-n", DEMO_NS) is None,
                     timeout=150)
    assert sandbox.get("pod", "hello", "-n", DEMO_NS) is None
    assert sandbox.get("node", DEVICE) is None
    assert sandbox.get("lease", DEVICE, "-n", "kube-node-lease") is None
    assert _vk_pods(sandbox) == []
    apps = _sim(sandbox).apps()
    assert apps == {}, f"apps left on the device: {sorted(apps)}"
