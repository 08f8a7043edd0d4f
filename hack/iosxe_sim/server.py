"""The simulator's HTTPS server: RESTCONF + ``/_sim`` control, faults, recording, auth; gRPC/SSH hooks.

``SimServer`` runs on the current asyncio loop. ``start()`` binds (port 0 picks a free port) and
starts the optional gRPC and SSH front ends, which other modules implement
(``grpc_server.start_grpc`` and ``ssh_server.start_ssh``, imported only when asked for).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import importlib
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import web

from hack.iosxe_sim import control
from hack.iosxe_sim.errors import RestconfError
from hack.iosxe_sim.faults import FaultTable, Recorded, Recorder
from hack.iosxe_sim.restconf import Restconf, json_response
from hack.iosxe_sim.state import DeviceState
from hack.iosxe_sim.tls import Credentials, make_credentials

log = logging.getLogger("iosxe_sim.server")

HOST_META = (
    "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n    <Link rel='restconf' href='/restconf'/>\n</XRD>\n"
)
HIDDEN_HEADERS = {"authorization", "proxy-authorization", "x-sim-token"}


class SimServer:
    """One simulated device reachable over HTTPS (and optionally gRPC/SSH)."""

    def __init__(
        self,
        state: DeviceState | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "admin",
        password: str = "admin",
        control_token: str = "",
        credentials: Credentials | None = None,
        tls: bool = True,
    ) -> None:
        self.state = state or DeviceState()
        self.host = host
        self.requested_port = port
        self.username = username
        self.password = password
        self.control_token = control_token
        self.tls = tls
        self.credentials = credentials or make_credentials(self.state.hostname)
        self.faults = FaultTable()
        self.recorder = Recorder()
        self.restconf = Restconf(self.state)
        self.port = 0
        self.grpc: Any = None
        self.ssh: Any = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    # ------------------------------------------------------------------ lifecycle

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        rc = self.restconf
        app.add_routes(control.routes(self))
        app.add_routes(
            [
                web.get("/.well-known/host-meta", self._host_meta),
                web.get("/restconf", self._root),
                web.get("/restconf/", self._root),
                web.get("/restconf/data", rc.get_data),
                web.get("/restconf/data/{path:.*}", rc.get_data),
                web.post("/restconf/data", rc.post_data),
                web.post("/restconf/data/{path:.*}", rc.post_data),
                web.put("/restconf/data/{path:.*}", rc.put_data),
                web.patch("/restconf/data/{path:.*}", rc.patch_data),
                web.delete("/restconf/data/{path:.*}", rc.delete_data),
                web.get("/restconf/operations", rc.list_operations),
                web.post("/restconf/operations/{name}", rc.post_operation),
                web.get("/restconf/yang-library-version", self._yang_library_version),
            ]
        )
        return app

    async def start(self) -> None:
        self.state.bind_loop(asyncio.get_running_loop())
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        ssl_ctx = self.credentials.server_context() if self.tls else None
        site = web.TCPSite(self._runner, self.host, self.requested_port, ssl_context=ssl_ctx, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None and isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]
        log.info("restconf listening url=%s platform=%s", self.url, self.state.platform.name)

    async def start_grpc(self, port: int = 0) -> int:
        grpc_server = importlib.import_module("hack.iosxe_sim.grpc_server")  # written by the gRPC engineer
        self.grpc = await grpc_server.start_grpc(
            self.state,
            self.host,
            port,
            cert_pem=self.credentials.cert_pem,
            key_pem=self.credentials.key_pem,
            username=self.username,
            password=self.password,
        )
        return int(self.grpc.port)

    async def start_ssh(self, port: int = 0) -> int:
        ssh_server = importlib.import_module("hack.iosxe_sim.ssh_server")  # written by the SSH engineer
        self.ssh = await ssh_server.start_ssh(
            self.state, self.host, port, username=self.username, password=self.password
        )
        return int(self.ssh.port)

    async def stop(self) -> None:
        for extra in (self.grpc, self.ssh):
            if extra is not None:
                await extra.stop()
        self.grpc = self.ssh = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ plain handlers

    async def _host_meta(self, request: web.Request) -> web.Response:
        return web.Response(text=HOST_META, content_type="application/xrd+xml")

    async def _root(self, request: web.Request) -> web.Response:
        return json_response(
            {"ietf-restconf:restconf": {"data": {}, "operations": {}, "yang-library-version": "2016-06-21"}}
        )

    async def _yang_library_version(self, request: web.Request) -> web.Response:
        return json_response({"ietf-restconf:yang-library-version": "2016-06-21"})

    # ------------------------------------------------------------------ middleware

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, pw = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.username) and secrets.compare_digest(pw, self.password)

    @staticmethod
    def _unauthorised() -> web.Response:
        err = RestconfError(
            401,
            "access-denied",
            "access denied",
            error_type="protocol",
            headers={"WWW-Authenticate": 'Basic realm="restconf"'},
        )
        return err.response()

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/_sim/"):
            resp: web.StreamResponse = await handler(request)
            return resp
        started = time.monotonic()
        body_text = await request.text() if request.can_read_body else ""
        rec = self.recorder.start(
            request.method,
            request.path_qs,
            dict(request.query),
            {k: v for k, v in request.headers.items() if k.lower() not in HIDDEN_HEADERS},
            _parse(body_text),
        )
        try:
            resp = await self._answer(request, handler, rec)
        except ConnectionError:
            rec.fault = rec.fault or "connection-lost"
            raise
        finally:
            rec.duration = time.monotonic() - started
        rec.status = rec.status if rec.fault == "drop" else resp.status
        log.debug("request method=%s path=%s status=%s", request.method, request.path_qs, rec.status)
        return resp

    async def _answer(self, request: web.Request, handler: Any, rec: Recorded) -> web.StreamResponse:
        if self.state.reloading:
            rec.fault = "drop"
            return self._drop(request)
        delay, fault = self.faults.take(request.method, request.path_qs)
        if delay:
            rec.extra["latency"] = delay
            await asyncio.sleep(delay)
        if fault is not None:
            rec.fault = fault.kind
            if fault.kind == "drop":
                return self._drop(request)
            if fault.kind == "unauthorized":
                return self._unauthorised()
            if fault.kind == "lock":
                return RestconfError(
                    409,
                    fault.tag or "lock-denied",
                    fault.message or "the configuration database is locked by session 4711 netconf",
                    error_type="protocol",
                ).response()
            if fault.kind == "status":
                return RestconfError(
                    fault.status,
                    fault.tag or ("operation-failed" if fault.status >= 500 else "invalid-value"),
                    fault.message or f"simulated failure (HTTP {fault.status})",
                ).response()
        if not self._authorised(request):
            return self._unauthorised()
        accept = request.headers.get("Accept", "")
        if accept and request.path.startswith("/restconf") and not _accepts_json(accept):
            return RestconfError(
                406,
                "invalid-value",
                f"cannot produce {accept}; this simulator answers application/yang-data+json only",
            ).response()
        try:
            resp: web.StreamResponse = await handler(request)
        except RestconfError as e:
            return e.response()
        except web.HTTPException as e:
            if e.status in (404, 405):
                return RestconfError(
                    e.status, "invalid-value" if e.status == 404 else "operation-not-supported", e.reason
                ).response()
            raise
        return resp


def _accepts_json(accept: str) -> bool:
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in (
            "*/*",
            "application/*",
            "application/json",
            "application/yang-data+json",
            "application/xrd+xml",
            "application/yang-data+json;charset=utf-8",
        ):
            return True
        if media.endswith("+json"):
            return True
    return False


def _parse(text: str) -> Any:
    if not text:
        return ""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
