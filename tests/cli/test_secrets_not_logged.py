"""No secret in any log line, even at debug level: ``cisco-vk run --log-level debug`` with the FAKE
driver and a device password, against the API emulator, while a pod with Secret-backed env runs and
``kubectl exec``/``kubectl logs`` reach it. Neither the device password nor the Secret's value (nor
their base64 forms) may appear in the process output."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hack.kubeapi.fixtures import KubeAPIHandle, kubeapi  # noqa: F401  (fixture)

PASSWORD = "Dev1ce-Passw0rd-7f3a"
ENV_PASSWORD = "Env-Passw0rd-91c2"
SECRET_VALUE = "app-token-5e8d1b"
NODE = "secrets-debug"


def _wait(probe: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _forms(secret: str) -> list[str]:
    return [secret, base64.b64encode(secret.encode()).decode(),
            base64.b64encode(f"admin:{secret}".encode()).decode()]


def _run(tmp_path: Path, kubeapi: KubeAPIHandle, device: str, env: dict[str, str]) -> str:  # noqa: F811
    config = tmp_path / "device.yaml"
    config.write_text(device)
    log = tmp_path / "cisco-vk.log"
    args = [str(Path(sys.executable).parent / "cisco-vk"), "run", "--config", str(config),
            "--kubeconfig", kubeapi.kubeconfig, "--nodename", NODE, "--log-level", "debug",
            "--kubelet-port", "0", "--kubelet-address", "127.0.0.1", "--node-ip", "127.0.0.1"]
    clean = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "LOG_LEVEL", "CVK_DEVICE_PASSWORD")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**clean, **env})
    try:
        _wait(lambda: kubeapi.kubectl("get", "node", NODE, check=False).returncode == 0, "the node")
        pod = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"nodeName": NODE, "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "c", "image": "fake/app:1",
                                     "env": [{"name": "TOKEN", "valueFrom": {
                                         "secretKeyRef": {"name": "app", "key": "token"}}}],
                                     "envFrom": [{"secretRef": {"name": "app"}}]}]},
        }
        kubeapi.kubectl("create", "secret", "generic", "app", f"--from-literal=token={SECRET_VALUE}")
        kubeapi.kubectl("apply", "-f", "-", input=json.dumps(pod))

        def running() -> bool:
            out = kubeapi.kubectl("get", "pod", "p", "-o", "jsonpath={.status.phase}", check=False)
            return out.stdout.strip() == "Running"

        _wait(running, "the pod to run")
        assert SECRET_VALUE in kubeapi.kubectl("exec", "p", "--", "env").stdout  # the value did travel
        kubeapi.kubectl("logs", "p")
        kubeapi.kubectl("delete", "pod", "p", "--wait=false")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return log.read_text()


def _assert_clean(text: str, *secrets: str) -> None:
    assert "level=debug" in text or '"level": "debug"' in text  # the run really logged at debug level
    for secret in secrets:
        for form in _forms(secret):
            leaks = [line for line in text.splitlines() if form in line]
            assert not leaks, f"secret in the log: {leaks[:3]}"


def test_no_secret_at_debug_level_password_in_the_file(tmp_path: Path, kubeapi: KubeAPIHandle) -> None:  # noqa: F811
    device = (f"device:\n  driver: FAKE\n  address: 192.0.2.90\n  username: admin\n  password: {PASSWORD}\n"
              f"  fake: {{stateFile: {tmp_path / 'fake.json'}, installSeconds: 0.05, activateSeconds: 0.05, "
              "startSeconds: 0.05}\n")
    _assert_clean(_run(tmp_path, kubeapi, device, {}), PASSWORD, SECRET_VALUE)


def test_no_secret_at_debug_level_password_from_env_json_lines(tmp_path: Path, kubeapi: KubeAPIHandle) -> None:  # noqa: F811
    device = (f"device:\n  driver: FAKE\n  address: 192.0.2.91\n  username: admin\n"
              f"  fake: {{stateFile: {tmp_path / 'fake.json'}, installSeconds: 0.05, activateSeconds: 0.05, "
              "startSeconds: 0.05}\n")
    text = _run(tmp_path, kubeapi, device, {"CVK_DEVICE_PASSWORD": ENV_PASSWORD, "CVK_LOG_FORMAT": "json"})
    assert text.startswith("{")  # JSON lines: the other formatter
    _assert_clean(text, ENV_PASSWORD, SECRET_VALUE)
