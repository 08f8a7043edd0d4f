"""A small HTTPS kubelet for proxy tests: /containerLogs, /exec (WebSocket v5/v4 channel protocol;
SPDY upgrades are recorded and refused), /metrics/resource. It requires a client certificate
signed by the emulator's CA, like a kubelet started with --client-ca-file."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import ssl
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from hack.kubeapi.certs import CertificateAuthority


@dataclasses.dataclass
class Seen:
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    client_cn: str


class StubKubelet:
    def __init__(self, client_ca_file: Path, workdir: Path) -> None:
        self.client_ca_file = client_ca_file
        self.workdir = workdir
        self.requests: list[Seen] = []
        self.log_lines = ["line 1", "line 2", "line 3"]
        self.cpu_seconds = 0.0
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _ssl(self) -> ssl.SSLContext:
        own = CertificateAuthority("stub-kubelet-ca").issue("stub-kubelet", server=True, hosts=("127.0.0.1",))
        cert, key = self.workdir / "kubelet.crt", self.workdir / "kubelet.key"
        cert.write_bytes(own.cert_pem)
        key.write_bytes(own.key_pem)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert), str(key))
        ctx.load_verify_locations(str(self.client_ca_file))
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def _record(self, request: web.Request) -> None:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        cn = ""
        if peer:
            cn = dict(x[0] for x in peer.get("subject", ())).get("commonName", "")
        self.requests.append(Seen(request.path, list(request.query.items()), dict(request.headers), cn))

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        lines = [f"{request.match_info['pod']}/{request.match_info['container']} {line}" for line in self.log_lines]
        tail = request.query.get("tailLines")
        if tail is not None:
            lines = lines[-int(tail) :] if int(tail) else []
        resp = web.StreamResponse()
        resp.content_type = "text/plain"
        await resp.prepare(request)
        for line in lines:
            await resp.write((line + "\n").encode())
        if request.query.get("follow") == "true":
            for i in range(3):
                await asyncio.sleep(0.05)
                await resp.write(f"followed {i}\n".encode())
        await resp.write_eof()
        return resp

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            # SPDY is not implemented by this stub: the request reaching here is what we check.
            return web.Response(status=400, text="stub kubelet: SPDY exec not supported")
        ws = web.WebSocketResponse(protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"))
        await ws.prepare(request)
        command = request.query.getall("command", [])
        rc = 0
        if command[:1] == ["exit"]:
            rc = int(command[1])
        elif request.query.get("output") == "1":
            await ws.send_bytes(b"\x01" + (" ".join(command) + "\n").encode())
        if rc:
            status: dict[str, Any] = {
                "metadata": {},
                "status": "Failure",
                "message": f"command terminated with non-zero exit code: exit status {rc}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]},
            }
        else:
            status = {"metadata": {}, "status": "Success"}
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        with contextlib.suppress(Exception):
            async for msg in ws:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED):
                    break
        return ws

    async def _metrics(self, request: web.Request) -> web.Response:
        self._record(request)
        self.cpu_seconds += 0.5
        ts = int(time.time() * 1000)
        labels = 'container="c",namespace="default",pod="p1"'
        body = (
            "# HELP node_cpu_usage_seconds_total Cumulative cpu time consumed by the node in core-seconds\n"
            "# TYPE node_cpu_usage_seconds_total counter\n"
            f"node_cpu_usage_seconds_total {self.cpu_seconds} {ts}\n"
            f"node_memory_working_set_bytes {256 * 1024 * 1024} {ts}\n"
            f"container_cpu_usage_seconds_total{{{labels}}} {self.cpu_seconds / 2} {ts}\n"
            f"container_memory_working_set_bytes{{{labels}}} {64 * 1024 * 1024} {ts}\n"
        )
        return web.Response(text=body, content_type="text/plain")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", self._logs)
        app.router.add_route("*", "/exec/{ns}/{pod}/{container}", self._exec)
        app.router.add_get("/metrics/resource", self._metrics)
        app.router.add_get("/pods", self._pods)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl())
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _pods(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})

    def start(self) -> StubKubelet:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def node(self, name: str) -> dict[str, Any]:
        """A Node object pointing at this kubelet."""
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"type": "virtual-kubelet"}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}],
                "capacity": {"cpu": "2", "memory": "4Gi", "pods": "16"},
                "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "16"},
                "nodeInfo": {
                    "kubeletVersion": "v1.31.4-cvk",
                    "osImage": "IOS-XE",
                    "kernelVersion": "",
                    "containerRuntimeVersion": "iox://1",
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                    "kubeProxyVersion": "",
                },
            },
        }
