"""kubectl exec and kubectl logs over SSH, end to end: real kubectl -> API emulator -> cisco-vk (XE driver)
-> the IOS-XE simulator's SSH CLI.

The exec test runs ``cisco-vk run`` as a process from a device file with ``ssh.knownHostsFile``, so the
loader, the driver's wiring and the kubelet API streams are all the real ones. The C9300 simulator
implements no gNOI File, so ``kubectl logs`` there is read with ``more`` over SSH.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cvk.config.spec import GnoiConfig, SSHConfig
from cvk.driver.xe import naming
from hack.iosxe_sim.fixtures import SimHandle
from tests.e2e_fake.helpers import KUBECTL, CvkProcess, condition, daemon, eventually, fast_opts, get_json, kubectl
from tests.e2e_xe.test_xe_e2e import FILES, MODES, gone, manifest, running_pod, xe_spec

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


async def kubectl_rc(kc: str, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """kubectl with its exit status (the helper in e2e_fake only checks it)."""
    env = dict(os.environ)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    env["KUBECACHEDIR"] = str(Path(kc).parent / "kube-cache")
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, "--kubeconfig", kc, *args,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def known_hosts_file(sim: SimHandle, tmp_path: Path) -> Path:
    assert sim.known_hosts_line is not None
    path = tmp_path / "known_hosts"
    path.write_text(sim.known_hosts_line + "\n")
    return path


async def test_kubectl_exec_over_ssh_with_exit_status(
    kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = iosxe_sim_factory(ssh=True, files=FILES, password="Ssh-E2e-Secret-7")
    kc = str(kubeapi.kubeconfig)
    config = tmp_path / "device.yaml"
    config.write_text(
        "device:\n"
        "  driver: XE\n"
        f"  address: {sim.address}\n"
        f"  port: {sim.port}\n"
        f"  username: {sim.username}\n"
        f"  password: {sim.password}\n"
        "  tls:\n"
        "    enabled: true\n"
        f"    caFile: {sim.ca_file}\n"
        "  ssh:\n"
        f"    port: {sim.ssh_port}\n"
        f"    knownHostsFile: {known_hosts_file(sim, tmp_path)}\n"
    )
    proc = CvkProcess(config, kc, "xe-exec", tmp_path / "cisco-vk.log")
    proc.start()
    try:

        async def node_ready() -> bool:
            return (condition(await get_json(kc, "node", "xe-exec"), "Ready") or {}).get("status") == "True"

        await eventually(node_ready, limit=30, what="node Ready")
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("web", "xe-exec"))
        p = await running_pod(kc, "web")
        app_id = naming.app_id("web", p["metadata"]["uid"], "app")

        rc, out, err = await kubectl_rc(kc, "exec", "web", "--", "echo", "hi")
        assert (rc, out) == (0, "hi\n"), err
        rc, out, err = await kubectl_rc(kc, "exec", "web", "--", "sh", "-c", "exit 3")
        assert (rc, out) == (3, ""), err
        assert "exit code 3" in err
        rc, _, _ = await kubectl_rc(kc, "exec", "web", "--", "false")
        assert rc == 1
        rc, out, _ = await kubectl_rc(kc, "exec", "web", "-c", "app", "--", "hostname")
        assert (rc, out) == (0, f"{app_id}\n")
        rc, out, err = await kubectl_rc(kc, "exec", "-i", "web", "--", "cat", stdin=b"typed line\n")
        assert (rc, out) == (0, "typed line\n"), err
        rc, _, err = await kubectl_rc(kc, "exec", "web", "-c", "nope", "--", "true")
        assert rc != 0 and "nope" in err
        sessions = [c for c in sim.server.ssh.commands if c.startswith(f"app-hosting connect appid {app_id} session")]
        assert len(sessions) == 5  # the unknown container never reached the device
        await gone(kc, "web")
        assert sim.state.snapshot() == {}
    finally:
        rc = proc.terminate()
    assert rc == 0
    assert sim.password not in (tmp_path / "cisco-vk.log").read_text()


async def follow_sees_a_new_line(kc: str, sim: SimHandle, app_id: str) -> None:
    """``kubectl logs -f`` keeps polling the device over SSH and prints a line written later."""
    env = dict(os.environ)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    proc = await asyncio.create_subprocess_exec(
        KUBECTL, "--kubeconfig", kc, "logs", "-f", "web", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert proc.stdout is not None
    seen = b""
    try:
        async def read_until(text: bytes) -> None:
            nonlocal seen
            while text not in seen:
                chunk = await proc.stdout.read(4096)  # type: ignore[union-attr]
                assert chunk, f"kubectl logs -f ended early: {seen!r}"
                seen += chunk

        await asyncio.wait_for(read_until(b"served request 2"), 30)
        sim.state.add_log(app_id, "late request")
        await asyncio.wait_for(read_until(b"late request"), 30)
    finally:
        proc.kill()
        await proc.wait()
    assert seen.count(b"served request 2") == 1  # only new lines are sent while following


async def test_kubectl_logs_on_c9300_are_read_over_ssh(
    kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = iosxe_sim_factory(platform="C9300", ssh=True, grpc=True, files=FILES)
    assert sim.ssh_port is not None and sim.grpc_port is not None
    kc = str(kubeapi.kubeconfig)
    spec = xe_spec(
        sim,
        MODES["appgig-trunk"][1],  # a Catalyst 9000 hosts apps on AppGigabitEthernet
        gnoi=GnoiConfig(port=sim.grpc_port, transport_security="tls"),
        ssh=SSHConfig(port=sim.ssh_port, known_hosts_file=str(known_hosts_file(sim, tmp_path))),
    )
    async with daemon(spec, fast_opts("xe-sshlogs", kc, client_ca_file=str(kubeapi.client_ca_cert_file))):
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("web", "xe-sshlogs"))
        p = await running_pod(kc, "web")
        app_id = naming.app_id("web", p["metadata"]["uid"], "app")
        for i in range(3):
            sim.state.add_log(app_id, f"served request {i}")
        out = await kubectl(kc, "logs", "web")
        assert "served request 0" in out and "served request 2" in out
        tail = await kubectl(kc, "logs", "web", "--tail=1")
        assert tail == "served request 2\n"
        assert len([c for c in sim.server.ssh.commands if c.startswith("more ")]) == 2
        await follow_sees_a_new_line(kc, sim, app_id)
        rc, out, _ = await kubectl_rc(kc, "exec", "web", "--", "echo", "hi")
        assert (rc, out) == (0, "hi\n")
        await gone(kc, "web")
    assert not [f for f in sim.state.files if "log" in f]  # each copy was removed after reading


async def test_kubectl_exec_without_spec_ssh_says_what_to_configure(
    kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle]
) -> None:
    sim = iosxe_sim_factory(ssh=True, files=FILES)
    kc = str(kubeapi.kubeconfig)
    async with daemon(xe_spec(sim), fast_opts("xe-nossh", kc, client_ca_file=str(kubeapi.client_ca_cert_file))):
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("web", "xe-nossh"))
        await running_pod(kc, "web")
        rc, _, err = await kubectl_rc(kc, "exec", "web", "--", "echo", "hi")
        assert rc != 0
        assert "spec.ssh" in err
        assert sim.server.ssh.commands == []
        await gone(kc, "web")


async def test_cisco_vk_run_stops_at_start_when_the_known_hosts_file_is_missing(
    kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = iosxe_sim_factory(ssh=True, files=FILES)
    config = tmp_path / "device.yaml"
    config.write_text(
        "device:\n  driver: XE\n"
        f"  address: {sim.address}\n  port: {sim.port}\n  username: {sim.username}\n  password: {sim.password}\n"
        f"  tls:\n    enabled: true\n    caFile: {sim.ca_file}\n"
        f"  ssh:\n    port: {sim.ssh_port}\n    knownHostsFile: {tmp_path / 'missing'}\n"
    )
    log = tmp_path / "cisco-vk.log"
    proc = CvkProcess(config, str(kubeapi.kubeconfig), "xe-nokh", log)
    proc.start()
    try:
        await eventually(lambda: not proc.alive(), limit=30, what="cisco-vk run exits")
    finally:
        rc = proc.terminate()
    assert rc not in (None, 0)
    text = log.read_text()
    assert "device.ssh.knownHostsFile" in text and "cannot read known_hosts file" in text
    assert await get_json(str(kubeapi.kubeconfig), "node", "xe-nokh") is None
