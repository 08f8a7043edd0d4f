"""A minimal stand-in for kube-apiserver's kubelet proxy, for kubectl interop tests.

It answers ``GET /api/v1/namespaces/{ns}/pods/{name}`` from a dict and forwards pods/exec,
pods/attach and pods/log to the kubelet API the way kube-apiserver does: the URL is rewritten to
the kubelet's (``stdin=true`` becomes ``input=1`` ...) and upgraded connections are piped as raw
bytes. Plain HTTP towards kubectl, TLS towards the kubelet. Only for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

_STREAM_FLAGS = {"stdin": "input", "stdout": "output", "stderr": "error", "tty": "tty"}
_HOP = {"host", "content-length", "transfer-encoding", "authorization"}


class ApiProxy:
    def __init__(self, kubelet_port: int, pods: dict[tuple[str, str], dict[str, Any]],
                 kubelet_ssl: ssl.SSLContext) -> None:
        self.kubelet_port = kubelet_port
        self.pods = pods
        self.kubelet_ssl = kubelet_ssl
        self.port = 0
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def kubeconfig(self) -> str:
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "t",
            "clusters": [{"name": "t", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
            "users": [{"name": "t", "user": {}}],
            "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t", "namespace": "default"}}],
        })

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode().split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines if ":" in line]
                length = int(next((v for k, v in headers if k.lower() == "content-length"), "0") or 0)
                if length:
                    await reader.readexactly(length)
                self.requests.append(f"{method} {target}")
                if not await self._route(method, target, headers, reader, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _route(self, method: str, target: str, headers: list[Any],
                     reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        url = urlsplit(target)
        parts = url.path.strip("/").split("/")
        if url.path in _DISCOVERY:
            await _respond(writer, 200, _DISCOVERY[url.path])
            return True
        if len(parts) >= 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            ns, name = parts[3], parts[5]
            pod = self.pods.get((ns, name))
            if pod is None:
                await _respond(writer, 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                             "reason": "NotFound", "code": 404,
                                             "message": f'pods "{name}" not found'})
                return True
            if len(parts) == 6:
                await _respond(writer, 200, pod)
                return True
            sub = parts[6]
            query = parse_qsl(url.query, keep_blank_values=True)
            container = next((v for k, v in query if k == "container"), "") or \
                pod["spec"]["containers"][0]["name"]
            if sub in ("exec", "attach"):
                params = [("command", v) for k, v in query if k == "command" and sub == "exec"]
                params += [(_STREAM_FLAGS[k], "1") for k, v in query if k in _STREAM_FLAGS and v == "true"]
                path = f"/{sub}/{ns}/{name}/{container}?{urlencode(params)}"
                await self._pipe(method, path, headers, reader, writer)
                return False
            if sub == "portforward":
                await self._pipe(method, f"/portForward/{ns}/{name}", headers, reader, writer)
                return False
            if sub == "log":
                params = [(k, v) for k, v in query if k != "container"]
                path = f"/containerLogs/{ns}/{name}/{container}?{urlencode(params)}"
                await self._pipe("GET", path, headers, reader, writer)
                return False
        await _respond(writer, 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                     "code": 404, "message": "not served by the test proxy"})
        return True

    async def _pipe(self, method: str, path: str, headers: list[Any],
                    reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        k_reader, k_writer = await asyncio.open_connection("127.0.0.1", self.kubelet_port, ssl=self.kubelet_ssl)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.kubelet_port}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _HOP]
        k_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError, RuntimeError):
                if dst.can_write_eof():
                    dst.write_eof()

        # Like kube-apiserver's upgrade-aware proxy: when either side is done, both are closed.
        tasks = [asyncio.ensure_future(copy(reader, k_writer)), asyncio.ensure_future(copy(k_reader, writer))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        k_writer.close()


_POD_VERBS = ["get", "list", "watch", "create", "delete"]
_DISCOVERY: dict[str, dict[str, Any]] = {
    "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"},
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": _POD_VERBS,
         "shortNames": ["po"]},
        {"name": "pods/exec", "singularName": "", "namespaced": True, "kind": "PodExecOptions",
         "verbs": ["create", "get"]},
        {"name": "pods/attach", "singularName": "", "namespaced": True, "kind": "PodAttachOptions",
         "verbs": ["create", "get"]},
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
        {"name": "pods/portforward", "singularName": "", "namespaced": True, "kind": "PodPortForwardOptions",
         "verbs": ["create", "get"]},
    ]},
}


async def _respond(writer: asyncio.StreamWriter, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                 .encode() + data)
    await writer.drain()
