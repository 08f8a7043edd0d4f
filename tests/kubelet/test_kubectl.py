"""Real kubectl against the kubelet API through a minimal API-server proxy (tests/kubelet/apiproxy.py).

kubectl <= 1.29 speaks SPDY/3.1 to the API server, which passes it to the kubelet; 1.30+ tries
WebSocket v5.channel.k8s.io first. Both reach our server unchanged through the raw-byte proxy, so
this checks interoperability with Go's SPDY and WebSocket code. The end-to-end test through the
API emulator lives in test_e2e.py.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kubelet.apiproxy import ApiProxy
from tests.kubelet.conftest import Kubelet, insecure_ssl
from tests.kubelet.fakes import pod

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def kubectl_binaries() -> list[tuple[str, dict[str, str]]]:
    """(binary, extra env) pairs: the default kubectl, the oldest and newest versioned ones, and
    the newest forced to SPDY (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)."""
    found: list[tuple[str, dict[str, str]]] = []
    default = shutil.which("kubectl") or "/usr/bin/kubectl"
    if os.path.exists(default):
        found.append((default, {}))
        versioned = sorted(
            glob.glob(os.path.join(os.path.dirname(os.path.realpath(default)), "kubectl.1.*")),
            key=lambda p: tuple(int(x) for x in p.rsplit("kubectl.", 1)[1].split(".")),
        )
        if versioned:
            found.append((versioned[0], {}))
            found.append((versioned[-1], {}))
            found.append((versioned[-1], {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}))
    return found


BINARIES = kubectl_binaries()
IDS = [os.path.basename(b) + ("-spdy" if env else "") for b, env in BINARIES]


@dataclass
class Env:
    kubelet: Kubelet
    proxy: ApiProxy
    kubeconfig: Path


@pytest.fixture
async def env(kubelet: Kubelet, tmp_path: Path) -> AsyncIterator[Env]:
    kubelet.driver.logs[("default", "p1", "app")] = ["l1", "l2", "l3"]
    proxy = ApiProxy(kubelet.server.port, {("default", "p1"): pod("default", "p1")}, insecure_ssl())
    await proxy.start()
    kubeconfig = tmp_path / "kubeconfig.json"
    kubeconfig.write_text(proxy.kubeconfig())
    yield Env(kubelet, proxy, kubeconfig)
    await proxy.stop()


async def kubectl(e: Env, binary: str, extra: dict[str, str], *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    environ = {**os.environ, "KUBECONFIG": str(e.kubeconfig), "HOME": str(e.kubeconfig.parent), **extra}
    proc = await asyncio.create_subprocess_exec(
        binary, *args, env=environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.skipif(not BINARIES, reason="kubectl not installed")
@pytest.mark.parametrize(("binary", "extra"), BINARIES, ids=IDS)
async def test_kubectl_exec_logs_and_exit_codes(env: Env, binary: str, extra: dict[str, str]) -> None:
    rc, out, err = await kubectl(env, binary, extra, "exec", "p1", "--", "echo", "hi")
    assert (rc, out) == (0, "hi\n"), err
    rc, out, err = await kubectl(env, binary, extra, "exec", "p1", "--", "exit", "3")
    assert rc == 3, err
    assert "exit code 3" in err
    rc, out, err = await kubectl(env, binary, extra, "exec", "-i", "p1", "--", "cat", stdin=b"typed\n")
    assert (rc, out) == (0, "typed\n"), err
    rc, out, err = await kubectl(env, binary, extra, "logs", "p1", "--tail=2")
    assert (rc, out) == (0, "l2\nl3\n"), err
    calls = env.kubelet.driver.exec_calls
    assert [c[3] for c in calls] == [["echo", "hi"], ["exit", "3"], ["cat"]]
    # The transport really was the one this kubectl version is known to use.
    methods = {r.split()[0] for r in env.proxy.requests if "/exec?" in r}
    websocket = minor_version(binary) >= 30 and not extra
    assert methods == ({"GET"} if websocket else {"POST"})


def minor_version(binary: str) -> int:
    out = subprocess.run([binary, "version", "--client", "-o", "json"], capture_output=True, text=True,
                         check=True).stdout
    return int(json.loads(out)["clientVersion"]["minor"].rstrip("+"))
