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
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.kubelet.apiproxy import ApiProxy
from tests.kubelet.conftest import Kubelet, insecure_ssl
from tests.kubelet.fakes import TestDriver, pod

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
    rc, out, err = await kubectl(env, binary, extra, "attach", "-i", "p1", stdin=b"shout\n")
    assert (rc, out) == (0, "SHOUT\n"), err
    rc, out, err = await kubectl(env, binary, extra, "logs", "p1", "--tail=2")
    assert (rc, out) == (0, "l2\nl3\n"), err
    calls = env.kubelet.driver.exec_calls
    assert [c[3] for c in calls] == [["echo", "hi"], ["exit", "3"], ["cat"], []]
    # The transport really was the one this kubectl version is known to use.
    methods = {r.split()[0] for r in env.proxy.requests if "/exec?" in r}
    websocket = minor_version(binary) >= 30 and not extra
    assert methods == ({"GET"} if websocket else {"POST"})


@pytest.mark.skipif(not BINARIES or not shutil.which("script"), reason="kubectl or script(1) not installed")
@pytest.mark.parametrize(("binary", "extra"), BINARIES, ids=IDS)
async def test_kubectl_exec_tty_sends_terminal_size(env: Env, binary: str, extra: dict[str, str]) -> None:
    # script(1) gives kubectl a pseudo-terminal of a known size, so -t really uses a TTY.
    command = f"stty cols 91 rows 33; {binary} exec -it p1 -- sizes 1"
    environ = {**os.environ, "KUBECONFIG": str(env.kubeconfig), "HOME": str(env.kubeconfig.parent), **extra}
    proc = await asyncio.create_subprocess_exec(
        "script", "-qec", command, "/dev/null", env=environ,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(b""), 60)
    assert proc.returncode == 0, err
    assert out.decode().strip() == "91x33"
    assert env.kubelet.driver.exec_calls[-1][3:] == (["sizes", "1"], True)


class EchoReversed(TestDriver):
    async def port_forward(self, namespace: str, pod: str, port: int, reader: Any, writer: Any) -> None:
        assert port == 7
        async for chunk in reader:
            await writer.write(chunk[::-1])


@pytest.mark.skipif(not BINARIES, reason="kubectl not installed")
@pytest.mark.parametrize(("binary", "extra"), BINARIES, ids=IDS)
async def test_kubectl_port_forward(env: Env, binary: str, extra: dict[str, str]) -> None:
    env.kubelet.server.driver = EchoReversed()
    environ = {**os.environ, "KUBECONFIG": str(env.kubeconfig), "HOME": str(env.kubeconfig.parent), **extra}
    proc = await asyncio.create_subprocess_exec(
        binary, "port-forward", "pod/p1", ":7", "--address", "127.0.0.1", env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        match = re.search(r"127\.0\.0\.1:(\d+) -> 7", line)
        assert match, line
        reader, writer = await asyncio.open_connection("127.0.0.1", int(match.group(1)))
        writer.write(b"olleh")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(5), 30) == b"hello"
        writer.close()
    finally:
        proc.terminate()
        await proc.wait()


def minor_version(binary: str) -> int:
    out = subprocess.run([binary, "version", "--client", "-o", "json"], capture_output=True, text=True,
                         check=True).stdout
    return int(json.loads(out)["clientVersion"]["minor"].rstrip("+"))
