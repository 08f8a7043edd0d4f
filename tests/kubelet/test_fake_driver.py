"""The kubelet API in front of the real FAKE driver: the contract between the two (logs, exec over
WebSocket and SPDY, attach, stats and metrics) holds end to end."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cvk.config.spec import DeviceSpec, DriverName, FakeConfig
from cvk.driver.fake import FakeDriver
from cvk.kubelet import KubeletServer
from cvk.options import RunOptions
from tests.kubelet.conftest import insecure_ssl
from tests.kubelet.spdyclient import SpdyClient

pytestmark = pytest.mark.timeout(60)

POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "uid": "5b0c1c1e-0000-4000-8000-000000000001"},
    "spec": {"nodeName": "fake-node", "restartPolicy": "Always",
             "containers": [{"name": "main", "image": "nginx:1.25", "command": ["nginx"],
                             "env": [{"name": "GREETING", "value": "hello"}]}]},
    "status": {"phase": "Pending"},
}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[KubeletServer, aiohttp.ClientSession]]:
    cfg = FakeConfig(state_file=str(tmp_path / "fake.json"), install_seconds=0.01, activate_seconds=0.01,
                     start_seconds=0.01, log_interval_seconds=0.05)
    driver = FakeDriver(DeviceSpec(driver=DriverName.FAKE, address="192.0.2.10", username="admin", fake=cfg))
    await driver.connect()
    await driver.create_pod(POD)
    deadline = time.monotonic() + 20
    while (await driver.get_pod_status("default", "web")).get("phase") != "Running":
        assert time.monotonic() < deadline, "FAKE pod never reached Running"
        await asyncio.sleep(0.02)
    opts = RunOptions(node_name="fake-node", kubelet_address="127.0.0.1", kubelet_port=0,
                      authentication_token_webhook=False, authorization_webhook=False, anonymous_auth=True)
    server = KubeletServer(driver, "fake-node", opts, None, lambda: [POD])
    await server.start()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=insecure_ssl()))
    yield server, session
    await session.close()
    await server.stop()
    await driver.close()


async def test_logs_and_follow(served: tuple[KubeletServer, aiohttp.ClientSession]) -> None:
    server, session = served
    base = f"https://127.0.0.1:{server.port}/containerLogs/default/web/main"
    async with session.get(base + "?tailLines=1&timestamps=true") as r:
        assert r.status == 200
        line = (await r.text()).strip()
    assert len(line.splitlines()) == 1 and line.split(" ", 1)[0].endswith("Z")
    async with session.get(base + "?follow=true&tailLines=0") as r:
        got = await asyncio.wait_for(r.content.readline(), 10)  # a new heartbeat arrives live
    assert got.startswith(b"heartbeat")
    async with session.get(f"https://127.0.0.1:{server.port}/containerLogs/default/web/nope") as r:
        assert r.status == 404


async def test_exec_over_websocket_and_spdy(served: tuple[KubeletServer, aiohttp.ClientSession]) -> None:
    server, session = served
    url = f"https://127.0.0.1:{server.port}/exec/default/web/main?command=env&output=1&error=1"
    ws = await session.ws_connect(url, protocols=("v5.channel.k8s.io",))
    out: dict[int, bytes] = {}
    async for msg in ws:
        out[msg.data[0]] = out.get(msg.data[0], b"") + msg.data[1:]
    assert b"GREETING=hello" in out[1]
    assert json.loads(out[3])["status"] == "Success"
    c = await SpdyClient.connect(server.port, "/exec/default/web/main?command=sh&command=-c&command=exit+5"
                                 "&output=1", ["v4.channel.k8s.io"], ssl_context=insecure_ssl())
    assert c.status == 101
    error = await c.open_stream({"streamType": "error"})
    await c.open_stream({"streamType": "stdout"})
    status = json.loads(await c.read_all(error))
    await c.close()
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}]


async def test_stats_and_metrics(served: tuple[KubeletServer, aiohttp.ClientSession]) -> None:
    server, session = served
    async with session.get(f"https://127.0.0.1:{server.port}/stats/summary") as r:
        summary = await r.json()
    (pod,) = summary["pods"]
    assert pod["podRef"]["name"] == "web"
    assert pod["containers"][0]["name"] == "main"
    async with session.get(f"https://127.0.0.1:{server.port}/metrics/resource") as r:
        text = await r.text()
    assert 'container_memory_working_set_bytes{container="main",namespace="default",pod="web"}' in text
