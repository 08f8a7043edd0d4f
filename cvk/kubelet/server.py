"""KubeletServer: the HTTPS API a cisco-vk node serves on the kubelet port (default 10250).

Routes (virtual-kubelet's ``PodHandler`` plus health endpoints; see vk-library.md section 4):

- ``GET /containerLogs/{ns}/{pod}/{container}``
- ``GET|POST /exec/{ns}/{pod}[/{uid}]/{container}``, ``/attach/...`` (SPDY/3.1 or WebSocket)
- ``GET|POST /portForward/{ns}/{pod}[/{uid}]`` (SPDY/3.1, or WebSocket with the channel protocol)
- ``GET /pods`` (API pods bound to the node), ``GET /runningpods/`` (the driver's pods)
- ``GET /stats/summary``, ``GET /metrics/resource``; ``GET /metrics``: cisco-vk's own Prometheus metrics
- ``GET /healthz``, ``GET /readyz`` (no authentication: they say nothing but "ok")

Unknown paths answer 404 "404 request not found"; a known path with the wrong method 405.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from cvk.driver.base import Driver, Pod
from cvk.errors import ConfigError, CvkError, NotFound
from cvk.kubelet import stats as statsfmt
from cvk.kubelet.auth import Authenticator, AuthError, Authorizer, ReviewClient, User, attributes_for
from cvk.kubelet.httperrors import error_response
from cvk.kubelet.logs import serve_container_logs
from cvk.kubelet.portforward import serve_port_forward
from cvk.kubelet.remotecommand import Target, driver_supports, parse_stream_options
from cvk.kubelet.spdyexec import serve_spdy_exec
from cvk.kubelet.tls import server_ssl_context
from cvk.kubelet.wsportforward import serve_websocket_port_forward, speaks_channels
from cvk.kubelet.wsstream import is_websocket_request, serve_websocket
from cvk.options import RunOptions

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHENTICATED_PATHS = frozenset({"/healthz", "/readyz"})
USER_KEY = web.RequestKey("cvk_kubelet_user", User)


class KubeletServer:
    """The kubelet API of one node. ``await start()`` binds; ``port`` is the bound port."""

    def __init__(
        self,
        driver: Driver,
        node_name: str,
        opts: RunOptions,
        client: ReviewClient | None,
        pods: Callable[[], list[dict[str, Any]]],
    ) -> None:
        if client is None and opts.authentication_token_webhook:
            raise ConfigError(
                "--authentication-token-webhook",
                "bearer-token authentication needs a Kubernetes client for TokenReviews; "
                "pass one or disable token webhook authentication",
            )
        if client is None and opts.authorization_webhook:
            raise ConfigError(
                "--authorization-webhook",
                "webhook authorization needs a Kubernetes client for SubjectAccessReviews; "
                "pass one or disable webhook authorization",
            )
        if not 0 <= opts.kubelet_port <= 65535:
            raise ConfigError("--kubelet-port", f"{opts.kubelet_port} is not a TCP port (0-65535)")
        self.driver = driver
        self.node_name = node_name
        self.opts = opts
        self._pods = pods
        self._authn = Authenticator(
            client,
            client_certs=bool(opts.client_ca_file),
            tokens=opts.authentication_token_webhook,
            anonymous=opts.anonymous_auth,
        )
        self._authz = Authorizer(client, webhook=opts.authorization_webhook)
        # How long exec/attach clients may take to open their SPDY streams (kubelet default 30 s).
        self.stream_creation_timeout = 30.0
        # How long a streaming connection may stay silent (kubelet default: 4 h).
        self.stream_idle_timeout = 4 * 3600.0
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._sessions: set[asyncio.Task[Any]] = set()

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        ssl_ctx = server_ssl_context(self.opts)
        app = self._build_app()
        # handler_cancellation: a client that goes away cancels its handler, which ends a
        # follow-mode log stream or an exec session (and the driver call behind it) at once.
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0, handler_cancellation=True
        )
        await runner.setup()
        site = web.TCPSite(
            runner, self.opts.kubelet_address, self.opts.kubelet_port, ssl_context=ssl_ctx,
            reuse_address=True,
        )
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise ConfigError(
                "--kubelet-port",
                f"cannot listen on {self.opts.kubelet_address}:{self.opts.kubelet_port}: {e.strerror or e}",
            ) from e
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info(
            "kubelet API listening node=%s address=%s port=%d client_ca=%s token_webhook=%s "
            "authz_webhook=%s anonymous=%s",
            self.node_name, self.opts.kubelet_address, self.port, bool(self.opts.client_ca_file),
            self.opts.authentication_token_webhook, self.opts.authorization_webhook,
            self.opts.anonymous_auth,
        )

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        # Streaming sessions (exec, attach, port-forward) can last for hours: end them now.
        for task in list(self._sessions):
            task.cancel()
        if runner is not None:
            await runner.cleanup()
            log.info("kubelet API stopped node=%s", self.node_name)

    # ---- application ---------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors_middleware, self._auth_middleware])
        r = app.router
        r.add_get("/containerLogs/{namespace}/{pod}/{container}", self._container_logs)
        r.add_get("/pods", self._api_pods)
        r.add_get("/pods/", _redirect("/pods"))
        r.add_get("/runningpods/", self._running_pods)
        r.add_get("/runningpods", _redirect("/runningpods/"))
        for path in ("/stats/summary", "/stats/summary/"):
            r.add_get(path, self._stats_summary)
        for path in ("/metrics/resource", "/metrics/resource/"):
            r.add_get(path, self._metrics_resource)
        r.add_get("/metrics", _own_metrics)  # cisco-vk's own metrics (nodes/metrics, as the kubelet's)
        r.add_get("/healthz", _ok)
        r.add_get("/readyz", _ok)
        for kind in ("exec", "attach"):
            handler = self._remotecommand_handler(kind)
            for path in (f"/{kind}/{{namespace}}/{{pod}}/{{container}}",
                         f"/{kind}/{{namespace}}/{{pod}}/{{uid}}/{{container}}"):
                r.add_route("GET", path, handler)
                r.add_route("POST", path, handler)
        for path in ("/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"):
            r.add_route("GET", path, self._port_forward)
            r.add_route("POST", path, self._port_forward)
        return app

    @web.middleware
    async def _errors_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return web.Response(status=404, text="404 request not found\n")
        except web.HTTPException:
            raise
        except CvkError as e:
            return error_response(e)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as e:
            log.exception("kubelet API handler failed method=%s path=%s", request.method, request.path)
            return error_response(e)

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in UNAUTHENTICATED_PATHS:
            return await handler(request)
        transport = request.transport
        peercert = transport.get_extra_info("peercert") if transport is not None else None
        try:
            user = await self._authn.authenticate(peercert, request.headers.get("Authorization"))
            if user is None:
                log.info("kubelet API unauthorized method=%s path=%s remote=%s",
                         request.method, request.path, request.remote)
                return web.Response(status=401, text="Unauthorized\n")
            attrs = attributes_for(request.method, request.path, self.node_name)
            allowed, reason = await self._authz.authorize(user, attrs)
        except AuthError as e:
            log.warning("kubelet API auth review failed path=%s error=%r", request.path, str(e))
            return web.Response(status=500, text=f"{e}\n")
        if not allowed:
            log.info("kubelet API forbidden user=%s verb=%s subresource=%s path=%s reason=%r",
                     user.name, attrs.verb, attrs.subresource, request.path, reason)
            text = (
                f"Forbidden (user={user.name}, verb={attrs.verb}, resource={attrs.resource}, "
                f"subresource={attrs.subresource})"
            )
            return web.Response(status=403, text=text + "\n")
        request[USER_KEY] = user
        return await handler(request)

    # ---- handlers ------------------------------------------------------------------------
    async def _container_logs(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        return await serve_container_logs(request, self.driver, m["namespace"], m["pod"], m["container"])

    async def _api_pods(self, request: web.Request) -> web.StreamResponse:
        return _pod_list(self._pods())

    async def _running_pods(self, request: web.Request) -> web.StreamResponse:
        return _pod_list(await self.driver.list_pods())

    async def _stats_summary(self, request: web.Request) -> web.StreamResponse:
        try:
            node_stats = await self.driver.stats()
        except CvkError as e:
            return error_response(e, "error getting status from provider")
        return web.json_response(statsfmt.summary(self.node_name, node_stats))

    async def _metrics_resource(self, request: web.Request) -> web.StreamResponse:
        try:
            node_stats = await self.driver.stats()
        except CvkError as e:
            return error_response(e, "error getting status from provider")
        body = statsfmt.metrics_text(node_stats)
        resp = web.Response(body=body.encode(), status=200)
        resp.headers["Content-Type"] = statsfmt.PROMETHEUS_CONTENT_TYPE
        return resp

    def _remotecommand_handler(self, kind: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            m = request.match_info
            if "uid" in m:
                self.check_pod_uid(m["namespace"], m["pod"], m["uid"])
            target = Target(kind, m["namespace"], m["pod"], m["container"])
            opts = parse_stream_options(request.query, kind)
            if not driver_supports(self.driver, kind):
                return web.Response(status=501, text=f"501 not implemented: {kind} is not supported by "
                                    f"the {type(self.driver).__name__} driver\n")
            with self._session():
                if is_websocket_request(request):
                    return await serve_websocket(request, self.driver, target, opts)
                return await serve_spdy_exec(
                    request, self.driver, target, opts,
                    creation_timeout=self.stream_creation_timeout, idle_timeout=self.stream_idle_timeout,
                )

        return handler

    async def _port_forward(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        if "uid" in m:
            self.check_pod_uid(m["namespace"], m["pod"], m["uid"])
        if not driver_supports(self.driver, "portforward"):
            return web.Response(status=501, text=f"501 not implemented: port-forward is not supported by "
                                f"the {type(self.driver).__name__} driver\n")
        with self._session():
            if is_websocket_request(request) and speaks_channels(request):
                return await serve_websocket_port_forward(request, self.driver, m["namespace"], m["pod"])
            return await serve_port_forward(
                request, self.driver, m["namespace"], m["pod"],
                creation_timeout=self.stream_creation_timeout, idle_timeout=self.stream_idle_timeout,
            )

    @contextlib.contextmanager
    def _session(self) -> Iterator[None]:
        """Track the current handler task as a streaming session so that stop() can end it."""
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            yield
        finally:
            self._sessions.discard(task)

    def check_pod_uid(self, namespace: str, pod: str, uid: str) -> None:
        """Raise NotFound unless the API pod ns/pod bound to this node has ``uid``."""
        for p in self._pods():
            meta = p.get("metadata") or {}
            if meta.get("namespace") == namespace and meta.get("name") == pod:
                if meta.get("uid") == uid:
                    return
                break
        raise NotFound(f"pod {namespace}/{pod} with UID {uid} not found on node {self.node_name}")


def _pod_list(items: list[Pod]) -> web.Response:
    body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


async def _ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


def _redirect(target: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        location = target + (f"?{request.query_string}" if request.query_string else "")
        raise web.HTTPMovedPermanently(location)

    return handler


__all__ = ["KubeletServer"]


async def _own_metrics(request: web.Request) -> web.StreamResponse:
    """The process's Prometheus registry: work queues, device requests and ping, API requests."""
    resp = web.Response(body=generate_latest(REGISTRY), status=200)
    resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return resp
