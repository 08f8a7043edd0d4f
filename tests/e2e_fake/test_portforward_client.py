"""Port-forward with the official Python client (WebSocket channel protocol) through the API
emulator's proxy to cisco-vk's kubelet API and the FAKE device's declared container port."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_fake.helpers import daemon, eventually, fake_spec, fast_opts, get_json, kubectl, pod_manifest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _http_through_port_forward(api_client: Any, name: str, port: int) -> bytes:
    from kubernetes import client
    from kubernetes.stream import portforward

    core = client.CoreV1Api(api_client)
    pf = portforward(core.connect_get_namespaced_pod_portforward, name, "default", ports=str(port))
    sock = pf.socket(port)
    sock.settimeout(10)
    sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"request: GET /hello" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    pf.close()
    error = pf.error(port)
    assert error is None, error
    return data


async def test_python_client_port_forward_reaches_the_declared_port(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    async with daemon(fake_spec(tmp_path / "fake.json"), fast_opts("pf1", kc)):
        await kubectl(kc, "apply", "-f", "-",
                      stdin=pod_manifest("web", "pf1", ports=[{"containerPort": 8080}]))

        async def running() -> bool:
            p = await get_json(kc, "pod", "web")
            return bool(p and (p.get("status") or {}).get("phase") == "Running")

        await eventually(running, what="pod Running")
        answer = await asyncio.to_thread(_http_through_port_forward, kubeapi.client(), "web", 8080)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b"pod default/web, container app, port 8080" in answer
