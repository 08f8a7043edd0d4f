"""Helpers of the FAKE end-to-end tests: kubectl, polling, daemon in-process or as a process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from cvk.config.spec import DeviceSpec, DriverName, FakeConfig
from cvk.daemon import Daemon
from cvk.options import RunOptions

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
REPO = Path(__file__).resolve().parents[2]


async def kubectl(kubeconfig: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
    env = dict(os.environ)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    env["KUBECACHEDIR"] = str(Path(kubeconfig).parent / "kube-cache")
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        kubeconfig,
        *args,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin is not None else None), 60)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {err.decode()}")
    return out.decode()


async def get_json(kubeconfig: str, *args: str) -> dict[str, Any] | None:
    """``kubectl get ... -o json``, None when the object does not exist."""
    out = await kubectl(kubeconfig, "get", *args, "-o", "json", "--ignore-not-found", check=True)
    if not out.strip():
        return None
    value = json.loads(out)
    assert isinstance(value, dict)
    return value


async def eventually(probe: Callable[[], Any], *, limit: float = 30.0, every: float = 0.2, what: str = "") -> Any:
    """Await ``probe()`` until it returns a truthy value; fail after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    last: Any = None
    while True:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}; last value: {last!r}")
        await asyncio.sleep(every)


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return None


def fake_spec(state_file: Path, **fake: Any) -> DeviceSpec:
    cfg = FakeConfig(
        state_file=str(state_file),
        install_seconds=0.1,
        activate_seconds=0.1,
        start_seconds=0.1,
        log_interval_seconds=1.0,
    )
    for k, v in fake.items():
        setattr(cfg, k, v)
    return DeviceSpec(driver=DriverName.FAKE, address="127.0.0.1", username="admin", max_pods=16, fake=cfg)


def fast_opts(node: str, kubeconfig: str, **kw: Any) -> RunOptions:
    opts = RunOptions(
        node_name=node,
        kubeconfig=kubeconfig,
        kubelet_port=0,
        kubelet_address="127.0.0.1",
        node_ip="127.0.0.1",
        ping_seconds=0.3,
        lease_renew_seconds=1.0,
        node_status_seconds=5.0,
        status_poll_seconds=1.0,
        pod_sync_workers=4,
    )
    for k, v in kw.items():
        setattr(opts, k, v)
    return opts


@contextlib.asynccontextmanager
async def daemon(spec: DeviceSpec, opts: RunOptions) -> AsyncIterator[Daemon]:
    d = Daemon(spec, opts)
    try:
        await asyncio.wait_for(d.start(), 30)
        yield d
    finally:
        await d.stop()


def pod_manifest(name: str, node: str, *, image: str = "fake/app:1", ns: str = "default", **container: Any) -> str:
    c: dict[str, Any] = {"name": "app", "image": image, **container}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "nodeName": node,
            "containers": [c],
            "tolerations": [{"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}],
        },
    }
    return json.dumps(pod)


def write_device_file(path: Path, state_file: Path) -> Path:
    path.write_text(
        "device:\n"
        "  driver: FAKE\n"
        "  address: 127.0.0.1\n"
        "  username: admin\n"
        "  fake:\n"
        f"    stateFile: {state_file}\n"
        "    installSeconds: 0.3\n"
        "    activateSeconds: 0.3\n"
        "    startSeconds: 0.3\n"
    )
    return path


class CvkProcess:
    """``cisco-vk run`` as a real process (killed with SIGKILL to simulate a crash)."""

    def __init__(self, config: Path, kubeconfig: str, node: str, log: Path) -> None:
        self.args = [
            str(Path(sys.executable).parent / "cisco-vk"),
            "run",
            "--config",
            str(config),
            "--kubeconfig",
            kubeconfig,
            "--nodename",
            node,
            "--kubelet-port",
            "0",
            "--kubelet-address",
            "127.0.0.1",
            "--node-ip",
            "127.0.0.1",
        ]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env.pop("KUBECONFIG", None)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
