"""End to end: real kubectl -> API emulator (hack/kubeapi) -> our kubelet API -> TestDriver.

The emulator proxies pods/log, pods/exec and nodes/proxy to the node's InternalIP and kubelet
port, presenting a client certificate signed by its CA; the kubelet trusts that CA
(--client-ca-file), and authorizes each request with a SubjectAccessReview sent back to the
emulator through cisco-vk's own KubeClient. metrics.k8s.io (kubectl top) is served by the emulator
from our /metrics/resource.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.config import load_config
from cvk.kubelet import KubeletServer
from cvk.options import RunOptions
from hack.kubeapi.fixtures import kubectl_binaries
from tests.kubelet.fakes import TestDriver

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

NODE = "kubelet-e2e"


@dataclass
class Cluster:
    kubeapi: Any
    driver: TestDriver
    server: KubeletServer
    client: KubeClient

    async def kubectl(self, *args: str, binary: str | None = None, check: bool = True) -> Any:
        return await asyncio.to_thread(self.kubeapi.kubectl, *args, binary=binary, check=check)


@pytest.fixture
async def cluster(kubeapi: Any) -> AsyncIterator[Cluster]:
    client = KubeClient(load_config(str(kubeapi.kubeconfig)))
    driver = TestDriver()
    driver.logs[("default", "p1", "app")] = ["first", "second", "third"]
    opts = RunOptions(
        node_name=NODE, kubelet_address="127.0.0.1", kubelet_port=0, node_ip="127.0.0.1",
        client_ca_file=str(kubeapi.client_ca_cert_file),
        authentication_token_webhook=True, authorization_webhook=True, anonymous_auth=False,
    )
    api_pods: list[dict[str, Any]] = []
    server = KubeletServer(driver, NODE, opts, client, lambda: api_pods)
    await server.start()
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE, "labels": {"type": "virtual-kubelet"}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": server.port}},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}],
        },
    }
    await client.create(paths.nodes(), node)
    await client.patch(paths.nodes(NODE, sub="status"), {"status": node["status"]}, patch_type="merge")
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p1", "namespace": "default"},
        "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "busybox"}]},
    }
    created = await client.create(paths.pods("default"), pod)
    await client.patch(paths.pods("default", "p1", sub="status"),
                       {"status": {"phase": "Running", "podIP": "10.0.0.5"}}, patch_type="merge")
    api_pods.append(created)
    try:
        yield Cluster(kubeapi, driver, server, client)
    finally:
        await server.stop()
        await client.close()


BINARIES = kubectl_binaries()


@pytest.mark.skipif(not BINARIES, reason="kubectl not installed")
async def test_kubectl_logs_exec_top_through_the_emulator(cluster: Cluster) -> None:
    for binary in BINARIES:
        r = await cluster.kubectl("logs", "p1", "--tail=2", binary=binary)
        assert r.stdout == "second\nthird\n", binary
        r = await cluster.kubectl("exec", "p1", "--", "echo", "hi", binary=binary)
        assert r.stdout == "hi\n", binary
        r = await cluster.kubectl("exec", "p1", "--", "exit", "4", binary=binary, check=False)
        assert r.returncode == 4, (binary, r.stderr)
        r = await cluster.kubectl("exec", "-i", "p1", "--", "cat", binary=binary, check=False)
        assert r.returncode == 0, (binary, r.stderr)
    assert cluster.driver.log_calls[-1].tail_lines == 2
    r = await cluster.kubectl("logs", "p1", "--since=1h", "--timestamps")
    assert r.stdout == "first\nsecond\nthird\n"
    assert cluster.driver.log_calls[-1].since_seconds == 3600
    assert cluster.driver.log_calls[-1].timestamps is True
    assert ["echo", "hi"] in [c[3] for c in cluster.driver.exec_calls]
    # kubectl top: metrics.k8s.io computes CPU as the rate of our cumulative counters between two
    # scrapes, using our sample timestamps; the TestDriver's counters grow at known rates.
    cluster.driver.cpu_clock = time.time
    r = await cluster.kubectl("top", "pod", "p1", "--no-headers", check=False)
    assert r.returncode == 0, r.stderr
    name, cpu, memory = r.stdout.split()
    assert (name, memory) == ("p1", "80Mi")  # working sets of the two containers, summed
    assert 285 <= int(cpu.removesuffix("m")) <= 315, cpu  # 250m + 50m
    r = await cluster.kubectl("top", "node", NODE, "--no-headers", check=False)
    assert r.returncode == 0, r.stderr
    node_name, node_cpu = r.stdout.split()[:2]
    assert node_name == NODE
    assert 380 <= int(node_cpu.removesuffix("m")) <= 420, node_cpu


async def test_kubectl_logs_follow_streams_through_the_emulator(cluster: Cluster) -> None:
    proc = await asyncio.create_subprocess_exec(
        cluster.kubeapi.kubectl_path, "logs", "-f", "p1", env=cluster.kubeapi.env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        for line in ("first", "second", "third"):
            assert await asyncio.wait_for(proc.stdout.readline(), 30) == f"{line}\n".encode()
        for line in ("live-1", "live-2"):
            await cluster.driver.follow_queue.put(line)
            assert await asyncio.wait_for(proc.stdout.readline(), 30) == f"{line}\n".encode()
        await cluster.driver.follow_queue.put(None)  # the container's log ends: kubectl exits
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert cluster.driver.log_calls[-1].follow is True


async def test_nodes_proxy_is_authorized_with_subject_access_reviews(cluster: Cluster) -> None:
    # Deny the emulator's kubelet-client identity nodes/stats: our SubjectAccessReview must say no
    # (checked before any allowed stats request, since allow decisions are cached for 5 minutes).
    cluster.kubeapi.server.deny("kube-apiserver-kubelet-client:get:nodes/stats")
    r = await cluster.kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/stats/summary", check=False)
    assert r.returncode != 0
    assert "Forbidden" in r.stderr or "403" in r.stderr, r.stderr
    # nodes/proxy is still allowed, and the cert user (not anonymous) is what was reviewed.
    r = await cluster.kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/pods")
    assert json.loads(r.stdout)["items"][0]["metadata"]["name"] == "p1"
    cluster.kubeapi.server.clear_deny()
    r = await cluster.kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/metrics/resource")
    assert "node_cpu_usage_seconds_total" in r.stdout


def _python_client_exec(api_client: Any) -> tuple[str, int | None]:
    from kubernetes import client
    from kubernetes.stream import stream

    core = client.CoreV1Api(api_client)
    resp = stream(core.connect_get_namespaced_pod_exec, "p1", "default", command=["exit", "6"],
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=30)
    code = resp.returncode
    resp.close()
    out = stream(core.connect_get_namespaced_pod_exec, "p1", "default", command=["echo", "from", "python"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    return out, code


async def test_official_python_client_exec(cluster: Cluster) -> None:
    api_client = cluster.kubeapi.client()
    try:
        out, code = await asyncio.to_thread(_python_client_exec, api_client)
    finally:
        api_client.close()
    assert out == "from python\n"
    assert code == 6
