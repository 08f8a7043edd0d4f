"""End to end with real kubectl: kubectl -> API emulator -> cisco-vk kubelet API -> logs.py / exec.py
-> the IOS-XE simulator (RESTCONF move, gNOI File or SSH, SSH app sessions).

The driver here is the kubelet tests' TestDriver with its logs/exec/attach replaced by the XE code
paths, so this checks the transports and the byte streams end to end; the XE driver's own wiring of
pod -> app id is tested by the XE engineer's e2e suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cvk.driver.base import AttachIO, LogOptions
from cvk.driver.xe.exec import attach_app, exec_in_app
from cvk.driver.xe.logs import DeviceFiles, read_app_logs
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.config import load_config
from cvk.kubelet import KubeletServer
from cvk.options import RunOptions
from cvk.transport.grpc import ChannelPool, GnoiClient
from hack.iosxe_sim.fixtures import SimHandle
from hack.kubeapi.fixtures import kubectl_binaries
from tests.grpc.helpers import grpc_config_for
from tests.kubelet.fakes import TestDriver
from tests.ssh.helpers import cli_for
from tests.ssh.test_exec import running_app
from tests.xe_logs.test_logs import restconf_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
NODE = "xe-transport-e2e"


class SimAppDriver(TestDriver):
    """Pod default/web, container app -> IOx app web1 on the simulator."""

    def __init__(self, sim: SimHandle, *, gnoi: bool) -> None:
        super().__init__()
        self.restconf = restconf_for(sim)
        self.gnoi = GnoiClient(ChannelPool(grpc_config_for(sim))) if gnoi else None
        self.ssh = cli_for(sim)
        self.files = DeviceFiles(self.gnoi, self.ssh)

    async def container_logs(
        self, namespace: str, pod: str, container: str, opts: LogOptions
    ) -> AsyncIterator[bytes]:
        async for chunk in read_app_logs(self.restconf, self.files, "web1", opts, poll_interval=0.1,
                                         max_poll_interval=0.3):
            yield chunk

    async def run_in_container(self, namespace: str, pod: str, container: str, cmd: list[str], io: AttachIO) -> int:
        return await exec_in_app(self.ssh, "web1", cmd, io)

    async def attach_to_container(self, namespace: str, pod: str, container: str, io: AttachIO) -> int:
        return await attach_app(self.ssh, "web1", io)

    async def shutdown(self) -> None:
        await self.restconf.close()
        await self.ssh.close()
        if self.gnoi is not None:
            await self.gnoi.pool.close()


async def _cluster(api: Any, driver: SimAppDriver) -> tuple[KubeletServer, KubeClient]:
    client = KubeClient(load_config(str(api.kubeconfig)))
    opts = RunOptions(
        node_name=NODE, kubelet_address="127.0.0.1", kubelet_port=0, node_ip="127.0.0.1",
        client_ca_file=str(api.client_ca_cert_file),
        authentication_token_webhook=True, authorization_webhook=True, anonymous_auth=False,
    )
    api_pods: list[dict[str, Any]] = []
    server = KubeletServer(driver, NODE, opts, client, lambda: api_pods)
    await server.start()
    status = {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": server.port}},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}],
    }
    await client.create(paths.nodes(), {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
    await client.patch(paths.nodes(NODE, sub="status"), {"status": status}, patch_type="merge")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "bootflash:web.tar"}]}}
    api_pods.append(await client.create(paths.pods("default"), pod))
    await client.patch(paths.pods("default", "web", sub="status"), {"status": {"phase": "Running"}},
                       patch_type="merge")
    return server, client


@pytest.mark.skipif(not kubectl_binaries(), reason="kubectl not installed")
@pytest.mark.parametrize("platform", ["C8000V", "C9300"], ids=["gnoi-file", "ssh-only"])
async def test_kubectl_logs_and_exec_on_the_simulated_switch(kubeapi, iosxe_sim_factory, platform) -> None:  # type: ignore[no-untyped-def]
    sim = iosxe_sim_factory(platform=platform, grpc=True, ssh=True)
    running_app(sim, "web1")
    for i in range(3):
        sim.state.add_log("web1", f"hello {i}")
    driver = SimAppDriver(sim, gnoi=True)
    server, client = await _cluster(kubeapi, driver)

    async def kubectl(*args: str, check: bool = True, input: str | None = None, binary: str | None = None) -> Any:
        return await asyncio.to_thread(kubeapi.kubectl, *args, check=check, input=input, binary=binary)

    try:
        r = await kubectl("logs", "web", "--tail=2")
        assert r.stdout == "hello 1\nhello 2\n"
        r = await kubectl("logs", "web", "--since=1h", "--timestamps")
        last = r.stdout.splitlines()[-1]
        assert last.endswith("Z hello 2") and last[:4].isdigit()
        r = await kubectl("exec", "web", "--", "echo", "from", "the", "switch")
        assert r.stdout == "from the switch\n"
        r = await kubectl("exec", "web", "--", "sh", "-c", "exit 5", check=False)
        assert r.returncode == 5, r.stderr
        r = await kubectl("exec", "web", "--", "hostname")
        assert r.stdout == "web1\n"
        for binary in kubectl_binaries():  # SPDY (1.27) and WebSocket (newest) clients, stdin included
            r = await kubectl("exec", "-i", "web", "--", "cat", input="typed on the laptop\n", binary=binary)
            assert r.stdout == "typed on the laptop\n", binary

        proc = await asyncio.create_subprocess_exec(
            kubeapi.kubectl_path, "logs", "-f", "web", "--tail=1", env=kubeapi.env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"hello 2\n"
            sim.state.add_log("web1", "followed line")
            assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"followed line\n"
        finally:
            proc.kill()
            await proc.wait()
        proc = await asyncio.create_subprocess_exec(
            kubeapi.kubectl_path, "attach", "web", env=kubeapi.env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            seen = b""
            while b"hello 2" not in seen:
                try:
                    seen += await asyncio.wait_for(proc.stdout.readline(), 10)
                except TimeoutError:
                    proc.kill()
                    raise AssertionError((seen, await proc.stderr.read())) from None
            sim.state.add_log("web1", "console line")
            while b"console line" not in seen:
                seen += await asyncio.wait_for(proc.stdout.readline(), 30)
            assert b"Connected to appliance" not in seen
        finally:
            proc.kill()
            await proc.wait()
        assert not [f for f in sim.state.files if "iox_" in f]  # every log copy was removed
        expected = "gnoi" if platform == "C8000V" else "ssh"
        assert driver.files.via == expected
    finally:
        await server.stop()
        await client.close()
        await driver.shutdown()
