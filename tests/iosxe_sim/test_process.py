"""The command line (python -m hack.iosxe_sim), state persistence, and the gRPC/SSH hooks."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import requests

from hack.iosxe_sim.state import DeviceState
from tests.iosxe_sim.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_restconf_and_writes_ca_and_ready_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hack.iosxe_sim",
            "--port",
            "0",
            "--write-ca",
            str(ca),
            "--ready-file",
            str(ready),
            "--platform",
            "ir1101",
            "--username",
            "u",
            "--password",
            "p",
            "--oper-ip-mode",
            "arp",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        info = wait_for(lambda: ready.exists() and json.loads(ready.read_text()), timeout=60, what="ready file")
        assert info["url"] == f"https://127.0.0.1:{info['port']}"
        s = requests.Session()
        s.trust_env = False
        r = s.get(info["url"] + "/_sim/state", verify=str(ca))
        assert (r.json()["platform"], r.json()["oper_ip_mode"]) == ("IR1101", "arp")
        assert s.get(info["url"] + "/restconf", verify=str(ca), auth=("u", "p")).status_code == 200
        assert s.get(info["url"] + "/restconf", verify=str(ca), auth=("admin", "admin")).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out.splitlines()[0])["port"] == info["port"]


def test_cli_rejects_unknown_platform(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "hack.iosxe_sim", "--port", "0", "--write-ca", str(tmp_path / "ca"), "--platform", "x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.returncode == 2
    assert "--platform" in r.stderr


async def test_state_file_persists_config_files_and_apps(tmp_path: Path) -> None:
    f = tmp_path / "state.json"
    st = DeviceState(state_file=str(f))
    st.bind_loop(asyncio.get_running_loop())
    st.add_file("bootflash:/a.tar", b"abc")
    st.set_app_config("p1", {"application-name": "p1", "start": True})
    await st.install("p1", "bootflash:/a.tar")
    await asyncio.sleep(0)
    again = DeviceState(state_file=str(f))
    assert again.files == {"bootflash:/a.tar": b"abc"}
    assert again.apps["p1"].config == {"application-name": "p1", "start": True}
    assert again.apps["p1"].state == "DEPLOYED"  # an install in flight finishes across the restart


def test_grpc_and_ssh_front_ends_are_started_on_the_same_state(
    iosxe_sim_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    class Handle:
        def __init__(self, port: int) -> None:
            self.port = port
            self.known_hosts_line = "[127.0.0.1]:2222 ssh-ed25519 AAAA"
            self.stopped = False

        async def stop(self) -> None:
            self.stopped = True

    async def start_grpc(state: DeviceState, host: str, port: int, **kw: Any) -> Handle:
        seen["grpc"] = (state, host, port, kw)
        return Handle(50052)

    async def start_ssh(state: DeviceState, host: str, port: int, **kw: Any) -> Handle:
        seen["ssh"] = (state, host, port, kw)
        return Handle(2222)

    monkeypatch.setitem(sys.modules, "hack.iosxe_sim.grpc_server", types.SimpleNamespace(start_grpc=start_grpc))
    monkeypatch.setitem(sys.modules, "hack.iosxe_sim.ssh_server", types.SimpleNamespace(start_ssh=start_ssh))
    sim = iosxe_sim_factory(grpc=True, ssh=True, username="x", password="y")
    assert (sim.grpc_port, sim.ssh_port) == (50052, 2222)
    assert sim.known_hosts_line == "[127.0.0.1]:2222 ssh-ed25519 AAAA"
    state, host, port, kw = seen["grpc"]
    assert state is sim.state and host == "127.0.0.1" and port == 0
    assert kw["username"] == "x" and kw["password"] == "y"
    assert kw["cert_pem"].startswith(b"-----BEGIN CERTIFICATE") and b"PRIVATE KEY" in kw["key_pem"]
    assert seen["ssh"][0] is sim.state
    grpc_handle, ssh_handle = sim.server.grpc, sim.server.ssh
    sim.stop()
    assert grpc_handle.stopped and ssh_handle.stopped
