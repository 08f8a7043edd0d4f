"""The emulator server: HTTPS on aiohttp, routing, authentication, discovery, OpenAPI."""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime
import functools
import logging
import secrets
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiohttp import web

from . import discovery, openapi, rbac
from .api import ResourceAPI, json_response, read_body, truthy
from .auth import Authority, User
from .certs import CertFiles, CertificateAuthority, kubelet_client_ssl_context, server_ssl_context, write_pki
from .controllers import Controllers
from .errors import ApiError, bad_request, conflict, forbidden, invalid, method_not_allowed, not_found
from .objects import invalid_value
from .openapi_pb import encode_document
from .resources import Registry, ResourceType
from .storage import Backend
from .store import Obj, Store

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_VERSION = "v1.31.4"
USER_KEY = web.RequestKey("user", User)
_NOT_FOUND_PATH = ApiError(404, "NotFound", "the server could not find the requested resource")


def threadsafe(fn: Callable[..., T]) -> Callable[..., T]:
    """Run a method on the server's loop when called from another thread (tests, fixtures)."""

    @functools.wraps(fn)
    def wrapper(self: KubeAPIServer, *args: Any, **kwargs: Any) -> T:
        loop = self._loop
        if loop is None or self._loop_thread == threading.get_ident() or not loop.is_running():
            return fn(self, *args, **kwargs)

        async def call() -> T:
            return fn(self, *args, **kwargs)

        return asyncio.run_coroutine_threadsafe(call(), loop).result(30)

    return wrapper


class KubeAPIServer:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        watch_window: int = 10000,
        deny: tuple[str, ...] | list[str] = (),
        workdir: Path | None = None,
        version: str = DEFAULT_VERSION,
        bookmark_interval: float = 60.0,
        min_request_timeout: int = 1800,
        rbac: bool = False,
    ) -> None:
        self.host = host
        # Enforce the stored RBAC objects for every user outside system:masters (hack/kubeapi/rbac.py).
        self.rbac = rbac
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self.version = version
        self.bookmark_interval = bookmark_interval
        self.min_request_timeout = min_request_timeout
        self.watch_queue_size = 100000
        self._own_workdir: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._own_workdir = tempfile.TemporaryDirectory(prefix="kubeapi-")
            workdir = Path(self._own_workdir.name)
        self.workdir = workdir
        self.store = Store(window=watch_window)
        self.registry = Registry()
        self.backend = Backend(self.store, self.registry)
        self.authority = Authority(self.token)
        self.authority.deny(*deny)
        self.api = ResourceAPI(self)
        self.ca = CertificateAuthority()
        self.files: CertFiles = write_pki(self.ca, workdir)[0]
        self.controllers = Controllers(self)
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._openapi_cache: dict[str, Any] = {}
        self.backend.crd_hooks.append(self._openapi_cache.clear)
        self.backend.ensure_default_namespaces()
        from .proxy import KubeletProxy

        self.proxy = KubeletProxy(self)
        from .metrics import MetricsAPI

        self.metrics = MetricsAPI(self)

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def kubelet_ssl_context(self) -> Any:
        return kubelet_client_ssl_context(self.files)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        ssl_ctx = server_ssl_context(self.files)
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_ctx, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self.controllers.start()
        log.info("kubeapi emulator listening url=%s", self.url)

    async def stop(self) -> None:
        await self.controllers.stop()
        await self.proxy.close()
        # Open watches end their responses now, instead of being cut after the shutdown timeout.
        self.store.close_watchers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def cleanup_files(self) -> None:
        if self._own_workdir is not None:
            self._own_workdir.cleanup()
            self._own_workdir = None

    def kubeconfig(self, token: str | None = None, user: str = "admin") -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "kubeapi-emulator",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(self.files.ca_file.read_bytes()).decode(),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": token or self.token}}],
            "contexts": [
                {
                    "name": "kubeapi-emulator",
                    "context": {"cluster": "kubeapi-emulator", "user": user, "namespace": "default"},
                }
            ],
            "current-context": "kubeapi-emulator",
            "preferences": {},
        }

    def write_kubeconfig(self, path: Path | str, token: str | None = None) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(yaml.safe_dump(self.kubeconfig(token)))
        p.chmod(0o600)
        return p

    # --- test controls (thread-safe) ---------------------------------------------------------

    @threadsafe
    def set_watch_window(self, size: int) -> None:
        """Retain only the last `size` events; older watch resourceVersions get 410 Gone."""
        self.store.set_window(size)

    @threadsafe
    def compact(self) -> None:
        """Forget the event history now: every watch resuming from an older version gets 410."""
        self.store.compact()

    @threadsafe
    def deny(self, *rules: str) -> None:
        """Add deny rules USER:VERB:RESOURCE[/SUBRESOURCE] (fnmatch patterns)."""
        self.authority.deny(*rules)

    @threadsafe
    def clear_deny(self) -> None:
        self.authority.clear_denies()

    @threadsafe
    def add_token(self, token: str, user: str, groups: tuple[str, ...] = ("system:authenticated",)) -> None:
        self.authority.add_token(token, User(user, groups))

    def _resolve(self, resource: str, group: str, version: str | None) -> ResourceType:
        for rt in self.registry.all():
            if rt.plural == resource and rt.group == group and (version is None or rt.version == version):
                return rt
        raise KeyError(f"no resource {resource!r} in group {group!r}")

    @threadsafe
    def get_object(self, resource: str, name: str, namespace: str = "", group: str = "") -> Obj | None:
        """Direct store read: a deep copy of the object or None."""
        rt = self._resolve(resource, group, None)
        obj = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        return copy.deepcopy(obj) if obj is not None else None

    @threadsafe
    def list_objects(self, resource: str, namespace: str | None = None, group: str = "") -> list[Obj]:
        rt = self._resolve(resource, group, None)
        return copy.deepcopy(self.store.list(rt.key, namespace))

    @threadsafe
    def create_object(self, obj: Obj) -> Obj:
        """Create through the same path as POST (validation, defaults); returns the stored object."""
        rt = self._rt_for(obj)
        ns = (obj.get("metadata") or {}).get("namespace") or ("default" if rt.namespaced else "")
        return copy.deepcopy(self.backend.create(rt, ns, obj).obj)

    @threadsafe
    def update_object(self, obj: Obj, subresource: str | None = None) -> Obj:
        rt = self._rt_for(obj)
        md = obj.get("metadata") or {}
        return copy.deepcopy(
            self.backend.update(rt, md.get("namespace") or "", md["name"], obj, subresource=subresource).obj
        )

    @threadsafe
    def delete_object(
        self, resource: str, name: str, namespace: str = "", group: str = "", grace: int | None = None
    ) -> bool:
        rt = self._resolve(resource, group, None)
        return self.backend.delete(rt, namespace, name, grace=grace)[1]

    @threadsafe
    def reset(self) -> None:
        """Remove every object except the default namespaces and forget all CRDs (kubeapi_clean)."""
        for rt in list(self.registry.all()):
            if rt.custom:
                self.registry.remove_group_resource(rt.group, rt.plural)
        keys: list[str] = self.store.resource_keys()
        for key in keys:
            for obj in self.store.list(key):
                if key == "/namespaces" and obj["metadata"]["name"] in (
                    "default",
                    "kube-system",
                    "kube-public",
                    "kube-node-lease",
                ):
                    continue
                final = copy.deepcopy(obj)
                final["metadata"]["resourceVersion"] = str(self.store.next_rv())
                self.store.remove(key, final)
        self._openapi_cache.clear()
        self.authority.clear_denies()

    def _rt_for(self, obj: Obj) -> ResourceType:
        api_version = obj.get("apiVersion") or ""
        group, _, version = api_version.rpartition("/")
        for rt in self.registry.all():
            if rt.group == group and rt.version == version and rt.kind == obj.get("kind"):
                return rt
        raise KeyError(f"no resource for {api_version} {obj.get('kind')}")

    # --- HTTP -----------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            if request.path in ("/healthz", "/livez", "/readyz"):
                return web.Response(text="ok")
            user = self._authenticate(request)
            if user is None:
                return json_response(ApiError(401, "Unauthorized", "Unauthorized").status(), 401)
            request[USER_KEY] = user
            return await handler(request)
        except ApiError as exc:
            return json_response(exc.status(), exc.code)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("request failed method=%s path=%s", request.method, request.path)
            return json_response(ApiError(500, "InternalError", f"Internal error occurred: {exc}").status(), 500)

    def _authenticate(self, request: web.Request) -> User | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self.authority.user_for_token(header[7:].strip())
        peercert = request.transport.get_extra_info("peercert") if request.transport else None
        if peercert:
            subject = dict(x[0] for x in peercert.get("subject", ()))
            orgs = tuple(v for rdn in peercert.get("subject", ()) for k, v in rdn if k == "organizationName")
            return User(subject.get("commonName", ""), (*orgs, "system:authenticated"))
        return None

    def _authorize(
        self, request: web.Request, verb: str, rt: ResourceType, ns: str | None, name: str, sub: str
    ) -> None:
        user: User = request[USER_KEY]
        if "system:masters" in user.groups and not self.authority.deny_rules:
            return
        if not self.authority.allowed(user.name, verb, rt.plural, sub) or not self._rbac_allows(
            user.name, user.groups, verb, rt.group, rt.plural, sub, ns, name
        ):
            res = f"{rt.plural}/{sub}" if sub else rt.plural
            where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
            subject = f'{rt.plural} "{name}"' if name else rt.plural
            raise forbidden(
                f'{subject} is forbidden: User "{user.name}" cannot {verb} resource "{res}" '
                f'in API group "{rt.group}"{where}',
                rt.group,
                rt.plural,
                name,
            )

    def _rbac_allows(
        self, user: str, groups: tuple[str, ...], verb: str, group: str, resource: str, sub: str,
        ns: str | None, name: str,
    ) -> bool:
        """With ``--rbac``, what the stored RBAC objects grant; system:masters and no ``--rbac``: all."""
        if not self.rbac or "system:masters" in groups:
            return True
        return rbac.allows(self.store.list, self.store.get, user, groups, verb, group, resource, sub, ns, name)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        segs = [s for s in request.path.split("/") if s]
        if not segs:
            return json_response(
                {
                    "paths": [
                        "/api",
                        "/api/v1",
                        "/apis",
                        "/healthz",
                        "/livez",
                        "/openapi/v2",
                        "/openapi/v3",
                        "/readyz",
                        "/version",
                    ]
                }
            )
        head = segs[0]
        if head == "version":
            return json_response(discovery.version_info(self.version))
        if head == "openapi":
            return self._openapi(request, segs[1:])
        if head in ("api", "apis") and len(segs) == 1:
            agg = discovery.aggregated_version(request.headers.get("Accept", ""))
            if agg is not None:
                resp = json_response(discovery.aggregated(self.registry, head == "api", agg))
                resp.headers["Content-Type"] = discovery.aggregated_content_type(agg)
                resp.headers["Vary"] = "Accept"
                return resp
        if head == "api":
            if len(segs) == 1:
                return json_response(discovery.api_versions(f"{self.host}:{self.port}"))
            group, version, rest = "", segs[1], segs[2:]
        elif head == "apis":
            if len(segs) == 1:
                return json_response(discovery.api_group_list(self.registry))
            if len(segs) == 2:
                g = discovery.api_group(self.registry, segs[1])
                if g is None:
                    raise _NOT_FOUND_PATH
                return json_response(g)
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            raise _NOT_FOUND_PATH
        if not rest:
            doc = discovery.api_resource_list(self.registry, group, version)
            if doc is None:
                raise _NOT_FOUND_PATH
            return json_response(doc)
        return await self._resource(request, group, version, rest)

    def _openapi(self, request: web.Request, rest: list[str]) -> web.StreamResponse:
        if rest == ["v2"]:
            accept = request.headers.get("Accept", "")
            doc = self._openapi_cache.get("v2")
            if doc is None:
                doc = self._openapi_cache["v2"] = openapi.v2_doc(self.registry, self.version)
            if "protobuf" in accept and "application/json" not in accept:
                pb = self._openapi_cache.get("v2pb")
                if pb is None:
                    pb = self._openapi_cache["v2pb"] = encode_document(doc)
                return web.Response(body=pb, content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            return json_response(doc)
        if rest == ["v3"]:
            doc = self._openapi_cache.get("v3")
            if doc is None:
                doc = self._openapi_cache["v3"] = openapi.root_doc(self.registry, self.version)
            return json_response(doc)
        if len(rest) >= 3 and rest[0] == "v3":
            if rest[1] == "api" and len(rest) == 3:
                group, version = "", rest[2]
            elif rest[1] == "apis" and len(rest) == 4:
                group, version = rest[2], rest[3]
            else:
                raise _NOT_FOUND_PATH
            key = f"v3/{group}/{version}"
            doc = self._openapi_cache.get(key)
            if doc is None:
                doc = openapi.group_version_doc(self.registry, group, version, self.version)
                if doc is None:
                    raise _NOT_FOUND_PATH
                self._openapi_cache[key] = doc
            resp = json_response(doc)
            if request.query.get("hash"):
                resp.headers["Cache-Control"] = "public, immutable"
            return resp
        raise _NOT_FOUND_PATH

    async def _resource(self, request: web.Request, group: str, version: str, rest: list[str]) -> web.StreamResponse:
        if not self.registry.in_group_version(group, version):
            raise _NOT_FOUND_PATH
        ns: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = self.registry.get(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                ns = rest[1]
                rest = rest[2:]
        rt = self.registry.get(group, version, rest[0])
        if rt is None:
            raise _NOT_FOUND_PATH
        if ns is not None and not rt.namespaced:
            raise _NOT_FOUND_PATH
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        subpath = rest[3:]
        method = request.method
        if sub and sub not in rt.subresources:
            raise _NOT_FOUND_PATH
        if subpath and sub != "proxy":
            raise _NOT_FOUND_PATH
        if not name:
            if method == "GET":
                verb = "watch" if truthy(request.query.get("watch")) else "list"
                if verb not in rt.verbs:
                    raise method_not_allowed(
                        f"the server does not allow this method on the requested resource ({rt.plural})"
                    )
                self._authorize(request, verb, rt, ns, "", "")
                if not rt.stored:
                    return await self.virtual_list(request, rt, ns)
                return await self.api.list(request, rt, ns)
            if method == "POST":
                if rt.namespaced and ns is None:
                    raise method_not_allowed("the server does not allow this method on the requested resource")
                self._authorize(request, "create", rt, ns, "", "")
                return await self.api.create(request, rt, ns or "")
            if method == "DELETE":
                self._authorize(request, "deletecollection", rt, ns, "", "")
                return await self.api.delete_collection(request, rt, ns)
            raise method_not_allowed(f"the server does not allow this method on the requested resource ({rt.plural})")
        if rt.namespaced and ns is None:
            raise _NOT_FOUND_PATH
        ns_ = ns or ""
        if not rt.stored:
            if method != "GET" or "get" not in rt.verbs:
                raise method_not_allowed(
                    f"the server does not allow this method on the requested resource ({rt.plural})"
                )
            self._authorize(request, "get", rt, ns, name, "")
            return await self.virtual_get(request, rt, ns_, name)
        if sub in ("log", "exec", "attach", "portforward", "proxy"):
            verb = (
                "get"
                if sub == "log"
                else ("create" if method in ("POST", "GET") and sub != "proxy" else method.lower())
            )
            if sub == "proxy":
                verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
                    method, "get"
                )
            self._authorize(request, verb, rt, ns, name, sub)
            return await self.proxy.handle(request, rt, ns_, name, sub, subpath)
        if sub == "binding":
            if method != "POST":
                raise method_not_allowed("the server does not allow this method on the requested resource")
            self._authorize(request, "create", rt, ns, name, sub)
            return await self._bind(request, ns_, name)
        if sub == "token":
            if method != "POST":
                raise method_not_allowed("the server does not allow this method on the requested resource")
            self._authorize(request, "create", rt, ns, name, sub)
            return await self._token_request(request, ns_, name)
        if sub == "eviction":
            if method != "POST":
                raise method_not_allowed("the server does not allow this method on the requested resource")
            self._authorize(request, "create", rt, ns, name, sub)
            return await self._evict(request, rt, ns_, name)
        verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
        method_verb = verbs.get(method)
        if method_verb is None or (sub and method_verb == "delete"):
            raise method_not_allowed(f"the server does not allow this method on the requested resource ({rt.plural})")
        self._authorize(request, method_verb, rt, ns, name, sub)
        subresource = sub or None
        if method == "GET":
            if sub == "scale":
                obj = self.store.get(rt.key, ns_, name)
                if obj is None:
                    raise not_found(rt.group, rt.plural, name)
                return json_response(self.scale_of(rt, obj))
            return await self.api.get(request, rt, ns_, name)
        if method == "PUT":
            return await self.api.update(request, rt, ns_, name, subresource)
        if method == "PATCH":
            return await self.api.patch(request, rt, ns_, name, subresource)
        return await self.api.delete(request, rt, ns_, name)

    # --- subresources -------------------------------------------------------------------------

    def scale_of(self, rt: ResourceType, obj: Obj) -> Obj:
        md = obj["metadata"]
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md
            },
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {
                "replicas": status.get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items())),
            },
        }

    def scale_update(self, rt: ResourceType, ns: str, name: str, body: Obj) -> Obj:
        live = self.store.get(rt.key, ns, name)
        if live is None:
            raise not_found(rt.group, rt.plural, name)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != live["metadata"]["resourceVersion"]:
            from .errors import STALE

            raise conflict(rt.group, rt.plural, name, STALE)
        replicas = (body.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            from .errors import invalid
            from .objects import invalid_value

            raise invalid(
                "Scale",
                "autoscaling",
                name,
                [invalid_value("spec.replicas", replicas, "must be greater than or equal to 0")],
            )
        new = copy.deepcopy(live)
        new["spec"]["replicas"] = replicas
        res = self.backend.update(rt, ns, name, new)
        return self.scale_of(rt, res.obj)

    async def _bind(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        body = await read_body(request) or {}
        target = (body.get("target") or {}).get("name")
        if not target:
            from .errors import invalid
            from .objects import required

            raise invalid("Binding", "", name, [required("target.name")])
        rt = self.backend.rt("", "v1", "pods")
        live = self.store.get(rt.key, ns, name)
        if live is None:
            raise not_found("", "pods", name)
        if (live.get("spec") or {}).get("nodeName"):
            raise conflict(
                "", "pods/binding", name, f'pod {name} is already assigned to node "{live["spec"]["nodeName"]}"'
            )
        new = copy.deepcopy(live)
        new["spec"]["nodeName"] = target
        new["metadata"]["resourceVersion"] = str(self.store.next_rv())
        self.store.put(rt.key, new)
        return json_response(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
        )

    async def _evict(self, request: web.Request, rt: ResourceType, ns: str, name: str) -> web.StreamResponse:
        body = await read_body(request) or {}
        opts = body.get("deleteOptions") or {}
        self.backend.delete(rt, ns, name, grace=opts.get("gracePeriodSeconds"), preconditions=opts.get("preconditions"))
        return json_response(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
        )

    # --- virtual resources (reviews, metrics) -------------------------------------------------

    async def _token_request(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        """serviceaccounts/NAME/token (TokenRequest): a bearer token that authenticates as the
        ServiceAccount, as the kubelet obtains for a pod's projected token."""
        body = await read_body(request)
        if not isinstance(body, dict):
            raise bad_request("the body of the request is not a JSON object")
        sa = self.store.get("/serviceaccounts", ns, name)
        if sa is None:
            raise not_found("", "serviceaccounts", name)
        spec = dict(body.get("spec") or {})
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < 600:
            raise invalid(
                "TokenRequest", "authentication.k8s.io", name,
                [invalid_value("spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")],
            )
        token = secrets.token_urlsafe(32)
        uid = sa["metadata"].get("uid") or ""
        self.authority.add_token(
            token, User(f"{rbac.SA_PREFIX}{ns}:{name}", rbac.service_account_groups(ns), uid=uid)
        )
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
        spec["expirationSeconds"] = seconds
        spec.setdefault("audiences", ["https://kubernetes.default.svc"])
        out = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": None},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }
        return json_response(out, 201)

    async def virtual_create(self, request: web.Request, rt: ResourceType, body: Obj) -> web.StreamResponse:
        if not isinstance(body, dict):
            raise bad_request("the body of the request is not a JSON object")
        if rt.kind == "TokenReview":
            if not ((body.get("spec") or {}).get("token")):
                from .errors import invalid
                from .objects import required

                raise invalid("TokenReview", "authentication.k8s.io", "", [required("spec.token")])
            return json_response(self.authority.token_review(body), 201)
        if rt.kind in ("SubjectAccessReview", "SelfSubjectAccessReview"):
            spec = body.get("spec") or {}
            if rt.kind == "SubjectAccessReview" and not spec.get("user") and not spec.get("groups"):
                from .errors import invalid
                from .objects import required

                raise invalid(
                    rt.kind, rt.group, "", [required("spec.user", "at least one of user or group must be specified")]
                )
            requester: User = request[USER_KEY]
            review = self.authority.access_review(body, rt.kind, requester)
            attrs = spec.get("resourceAttributes")
            if review["status"]["allowed"] and attrs:
                user, groups = (
                    (requester.name, requester.groups)
                    if rt.kind == "SelfSubjectAccessReview"
                    else (str(spec.get("user") or ""), tuple(spec.get("groups") or ()))
                )
                if not self._rbac_allows(
                    user, groups, attrs.get("verb") or "", attrs.get("group") or "", attrs.get("resource") or "",
                    attrs.get("subresource") or "", attrs.get("namespace") or None, attrs.get("name") or "",
                ):
                    review["status"] = {"allowed": False, "reason": "no RBAC rule grants it"}
            return json_response(review, 201)
        raise method_not_allowed(f"the server does not allow this method on the requested resource ({rt.plural})")

    async def virtual_list(self, request: web.Request, rt: ResourceType, ns: str | None) -> web.StreamResponse:
        if rt.group == "metrics.k8s.io":
            return json_response(await self.metrics.list(rt, ns, request.query.get("labelSelector") or ""))
        raise method_not_allowed(f"the server does not allow this method on the requested resource ({rt.plural})")

    async def virtual_get(self, request: web.Request, rt: ResourceType, ns: str, name: str) -> web.StreamResponse:
        if rt.group == "metrics.k8s.io":
            return json_response(await self.metrics.get(rt, ns, name))
        raise forbidden("not allowed")
