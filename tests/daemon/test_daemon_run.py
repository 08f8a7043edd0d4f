"""cvk.daemon: node address detection and run() start failures (the happy path is in tests/e2e_fake)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from cvk.config.spec import DeviceSpec, DriverName, FakeConfig
from cvk.daemon import detect_node_ip, run
from cvk.errors import ConfigError
from cvk.options import RunOptions


def test_detect_node_ip_for_loopback_and_unresolvable() -> None:
    assert detect_node_ip("https://127.0.0.1:6443") == "127.0.0.1"
    assert detect_node_ip("https://[::1]:6443") in ("::1", "127.0.0.1")
    assert detect_node_ip("https://no-such-host.invalid:6443") == "127.0.0.1"


async def test_run_fails_fast_on_missing_kubeconfig(tmp_path: Path) -> None:
    spec = DeviceSpec(
        driver=DriverName.FAKE, address="127.0.0.1", username="admin", fake=FakeConfig(state_file=str(tmp_path / "s"))
    )
    opts = RunOptions(node_name="n1", kubeconfig=str(tmp_path / "missing"), kubelet_port=0)
    with pytest.raises(ConfigError, match="kubeconfig file not found"):
        await asyncio.wait_for(run(spec, opts, asyncio.Event()), 10)


async def test_run_returns_at_once_when_stop_is_already_set(tmp_path: Path) -> None:
    with socket.socket() as s:  # a free ephemeral port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text(
        f"apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    spec = DeviceSpec(
        driver=DriverName.FAKE, address="127.0.0.1", username="admin", fake=FakeConfig(state_file=str(tmp_path / "s"))
    )
    opts = RunOptions(node_name="n1", kubeconfig=str(kubeconfig), kubelet_port=0, kubelet_address="127.0.0.1")
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(run(spec, opts, stop), 10)  # the unreachable API is never waited for
