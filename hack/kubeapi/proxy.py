"""Kubelet proxy: pods/log, pods/exec|attach|portforward and nodes/proxy, forwarded to
https://<node InternalIP>:<status.daemonEndpoints.kubeletEndpoint.Port>/... with the emulator's
kubelet-client certificate. Upgraded connections (SPDY/3.1 or WebSocket) are relayed as raw bytes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web

from .errors import ApiError, bad_request, internal, not_found
from .resources import ResourceType
from .store import Obj

if TYPE_CHECKING:
    from .server import KubeAPIServer

log = logging.getLogger(__name__)

_HOP = frozenset(
    h.lower()
    for h in (
        "Authorization",
        "Host",
        "Content-Length",
        "Transfer-Encoding",
        "Keep-Alive",
        "Proxy-Connection",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Impersonate-User",
        "Impersonate-Group",
    )
)
_LOG_PARAMS = ("follow", "previous", "timestamps", "sinceSeconds", "sinceTime", "tailLines", "limitBytes", "stream")
_ADDRESS_PREFERENCE = ("InternalIP", "Hostname", "ExternalIP", "InternalDNS", "ExternalDNS")


class _RawParser:
    """Installed on the client connection after an upgrade: collects the raw bytes it sends."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(None)


def _bool(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true", "t")


class KubeletProxy:
    def __init__(self, server: KubeAPIServer) -> None:
        self.server = server
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.server.kubelet_ssl_context()),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                auto_decompress=False,
            )
        return self._session

    # --- locating the kubelet -----------------------------------------------------------------

    def kubelet_endpoint(self, node_name: str, port_override: int | None = None) -> tuple[str, int]:
        node = self.server.store.get("/nodes", "", node_name)
        if node is None:
            raise not_found("", "nodes", node_name)
        status = node.get("status") or {}
        addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
        host = next((addresses[t] for t in _ADDRESS_PREFERENCE if addresses.get(t)), None)
        if not host:
            raise bad_request(
                f"no preferred addresses found; known addresses: []: node {node_name} has no status.addresses "
                "(the kubelet must report an InternalIP)"
            )
        port = port_override or int(
            ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or 0
        )
        if not port:
            raise bad_request(
                f"node {node_name} has no status.daemonEndpoints.kubeletEndpoint.Port: the kubelet must report the "
                "port its API listens on"
            )
        return host, port

    # --- entry point --------------------------------------------------------------------------

    async def handle(
        self, request: web.Request, rt: ResourceType, ns: str, name: str, sub: str, subpath: list[str]
    ) -> web.StreamResponse:
        if rt.plural == "nodes" and sub == "proxy":
            node_name, _, port = name.partition(":")
            host, kport = self.kubelet_endpoint(node_name, int(port) if port.isdigit() else None)
            path = "/" + "/".join(quote(p, safe="") for p in subpath)
            if request.path.endswith("/") and subpath:
                path += "/"
            qs = request.query_string
            return await self._forward(request, host, kport, path + (f"?{qs}" if qs else ""))
        if rt.plural != "pods" or rt.group != "":
            raise not_found(rt.group, rt.plural, name)
        pod = self.server.store.get("/pods", ns, name)
        if pod is None:
            raise not_found("", "pods", name)
        if sub == "log":
            return await self._logs(request, pod)
        if sub in ("exec", "attach"):
            return await self._exec(request, pod, sub)
        if sub == "portforward":
            return await self._portforward(request, pod)
        raise not_found("", f"pods/{sub}", name)

    @staticmethod
    def _container(pod: Obj, requested: str | None) -> str:
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in spec.get("containers") or []]
        init = [c.get("name") for c in spec.get("initContainers") or []]
        ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or []]
        name = pod["metadata"]["name"]
        if not requested:
            if len(names) == 1:
                return str(names[0])
            msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(map(str, names))}]"
            if init:
                msg += f" or one of the init containers: [{' '.join(map(str, init))}]"
            raise bad_request(msg)
        if requested not in names + init + ephemeral:
            raise bad_request(f"container {requested} is not valid for pod {name}")
        return requested

    async def _logs(self, request: web.Request, pod: Obj) -> web.StreamResponse:
        q = request.query
        container = self._container(pod, q.get("container"))
        problems = []
        for p in ("tailLines", "limitBytes", "sinceSeconds"):
            if q.get(p) is not None:
                try:
                    number = int(q[p])
                except ValueError:
                    raise bad_request(f'PodLogOptions: {p}: invalid value "{q[p]}"') from None
                lo = 0 if p == "tailLines" else 1
                if number < lo:
                    problems.append(
                        f"{p}: Invalid value: {number}: must be greater than {'or equal to ' if lo == 0 else ''}0"
                    )
        if q.get("sinceSeconds") and q.get("sinceTime"):
            problems.append("sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")
        if problems:
            raise ApiError(
                422, "Invalid", f'PodLogOptions "{pod["metadata"]["name"]}" is invalid: ' + ", ".join(problems)
            )
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            # The real server answers an empty log for a pod that has not been scheduled.
            return web.Response(body=b"", content_type="text/plain")
        host, port = self.kubelet_endpoint(node)
        params = []
        for p in _LOG_PARAMS:
            v = q.get(p)
            if v is None or v == "":
                continue
            if p in ("follow", "previous", "timestamps"):
                if _bool(v):
                    params.append((p, "true"))
            else:
                params.append((p, v))
        md = pod["metadata"]
        path = (
            f"/containerLogs/{quote(md['namespace'], safe='')}/{quote(md['name'], safe='')}/{quote(container, safe='')}"
        )
        if params:
            path += "?" + urlencode(params)
        return await self._forward(request, host, port, path, method="GET")

    def _require_node(self, pod: Obj) -> str:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            raise bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")
        return str(node)

    async def _exec(self, request: web.Request, pod: Obj, sub: str) -> web.StreamResponse:
        q = request.query
        container = self._container(pod, q.get("container"))
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise bad_request(f"cannot {sub} into a container in a completed pod; current phase is {phase}")
        host, port = self.kubelet_endpoint(self._require_node(pod))
        params: list[tuple[str, str]] = []
        for param, kubelet_param in (("stdin", "input"), ("stdout", "output"), ("stderr", "error"), ("tty", "tty")):
            if _bool(q.get(param)):
                params.append((kubelet_param, "1"))
        if sub == "exec":
            commands = q.getall("command", [])
            if not commands:
                raise ApiError(
                    422, "Invalid", f'PodExecOptions "{pod["metadata"]["name"]}" is invalid: command: Required value'
                )
            params += [("command", c) for c in commands]
        md = pod["metadata"]
        path = f"/{sub}/{quote(md['namespace'], safe='')}/{quote(md['name'], safe='')}/{quote(container, safe='')}"
        if params:
            path += "?" + urlencode(params)
        return await self._forward(request, host, port, path)

    async def _portforward(self, request: web.Request, pod: Obj) -> web.StreamResponse:
        host, port = self.kubelet_endpoint(self._require_node(pod))
        md = pod["metadata"]
        path = f"/portForward/{quote(md['namespace'], safe='')}/{quote(md['name'], safe='')}"
        ports = request.query.getall("ports", [])
        if ports:
            path += "?" + urlencode([("port", p) for p in ports])
        return await self._forward(request, host, port, path)

    # --- forwarding ---------------------------------------------------------------------------

    def _headers(self, request: web.Request) -> list[tuple[str, str]]:
        return [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]

    async def _forward(
        self, request: web.Request, host: str, port: int, path: str, method: str | None = None
    ) -> web.StreamResponse:
        if "upgrade" in request.headers.get("Connection", "").lower() and request.headers.get("Upgrade"):
            return await self._tunnel(request, host, port, path)
        url = f"https://{host}:{port}{path}"
        body = await request.read()
        headers = [
            (k, v) for k, v in self._headers(request) if k.lower() not in ("connection", "upgrade", "accept-encoding")
        ]
        try:
            upstream = await self._http().request(
                method or request.method, url, data=body or None, headers=headers, allow_redirects=False
            )
        except (aiohttp.ClientError, OSError) as exc:
            raise internal(f'Get "{url}": {exc}') from None
        try:
            resp = web.StreamResponse(status=upstream.status)
            for k, v in upstream.headers.items():
                if k.lower() not in _HOP and k.lower() not in ("connection", "content-encoding", "date", "server"):
                    resp.headers.add(k, v)
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
            await resp.write_eof()
            return resp
        finally:
            upstream.release()

    async def _tunnel(self, request: web.Request, host: str, port: int, path: str) -> web.StreamResponse:
        """Relay an upgrade request and, on 101, the raw connection in both directions."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=self.server.kubelet_ssl_context(), server_hostname=host),
                timeout=10,
            )
        except (OSError, TimeoutError) as exc:
            raise internal(f"error dialing backend: dial tcp {host}:{port}: {exc}") from None
        try:
            lines = [f"{request.method} {path} HTTP/1.1", f"Host: {host}:{port}"]
            lines += [f"{k}: {v}" for k, v in self._headers(request)]
            body = await request.read()
            if body:
                lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
                raise internal(f"error reading kubelet response: {exc}") from None
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            parts = status_line.split(" ", 2)
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 502
            headers = [(h.split(":", 1)[0], h.split(":", 1)[1]) for h in header_lines if ":" in h]
            if status != 101:
                length = next((int(v) for k, v in headers if k.strip().lower() == "content-length"), None)
                rest = await (reader.readexactly(length) if length is not None else reader.read(1 << 20))
                refused = web.Response(status=status, body=rest)
                for k, v in headers:
                    if k.strip().lower() not in _HOP and k.strip().lower() not in ("connection", "date", "server"):
                        refused.headers.add(k.strip(), v.strip())
                return refused
            parser = _RawParser()
            protocol = request.protocol
            protocol.set_parser(parser)  # type: ignore[arg-type]
            protocol.keep_alive(False)
            resp = web.StreamResponse(status=101)
            for k, v in headers:
                if k.strip().lower() not in ("date", "server", "content-length"):
                    resp.headers.add(k.strip(), v.strip())
            await resp.prepare(request)
            transport = request.transport
            assert transport is not None
            await self._pump(parser, reader, writer, transport)
            return resp
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _pump(
        parser: _RawParser, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: Any
    ) -> None:
        async def upstream_to_client() -> None:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                transport.write(data)

        async def client_to_upstream() -> None:
            while True:
                data = await parser.queue.get()
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()

        down = asyncio.create_task(upstream_to_client())
        up = asyncio.create_task(client_to_upstream())
        try:
            await asyncio.wait({down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            up.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await up
            down.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await down
            with contextlib.suppress(Exception):
                transport.close()
