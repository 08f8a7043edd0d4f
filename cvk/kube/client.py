"""A small asyncio client for the Kubernetes API, built on one aiohttp session.

Objects are plain JSON dicts; paths come from ``cvk.kube.paths``. Errors are ``cvk.kube.errors``
types. GET requests (get and list) are retried with exponential backoff on connection failures,
timeouts, 429 and 5xx, honouring ``Retry-After``; nothing else is ever retried, so a create or a
delete is sent at most once per call.

Every HTTP request is counted by (verb, resource) in ``client.metrics`` and in the Prometheus
counter ``cisco_vk_kube_api_requests_total``, so benchmarks can report API requests per minute.

``watch`` streams JSON lines; a 410 (as HTTP status or as an ERROR event) raises ``GoneError``.
Consume it with ``contextlib.aclosing`` when leaving the loop early, so the stream closes at once.
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import json
import logging
import random
from collections.abc import AsyncGenerator, Mapping
from typing import Any, Literal

import aiohttp
from prometheus_client import Counter
from yarl import URL

from cvk import __version__
from cvk.kube.config import KubeConfig
from cvk.kube.errors import ApiError, ApiUnavailable, GoneError, decode_body, error_for

log = logging.getLogger(__name__)

API_REQUESTS = Counter(
    "cisco_vk_kube_api_requests_total",
    "Requests sent to the Kubernetes API server, by verb, resource and HTTP status (0: no answer).",
    ["verb", "resource", "code"],
)

PatchType = Literal["merge", "json", "strategic", "apply"]
PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
_MAX_RETRY_AFTER = 60.0


@dataclasses.dataclass(frozen=True)
class WatchEvent:
    """One line of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object."""

    type: str
    object: dict[str, Any]


def classify(method: str, path: str, params: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """The Kubernetes verb and resource (``pods``, ``pods/status``) of a request, for metrics."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return method.lower(), "/" + "/".join(parts[:1])
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    if not rest:
        return method.lower(), ""
    resource = rest[0]
    has_name = len(rest) > 1
    if len(rest) > 2:
        resource += "/" + "/".join(rest[2:])
    method = method.upper()
    if method == "GET":
        watching = bool(params) and str((params or {}).get("watch", "")).lower() in ("true", "1")
        verb = "watch" if watching else ("get" if has_name else "list")
    elif method == "DELETE":
        verb = "delete" if has_name else "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return verb, resource


def _query(params: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class KubeClient:
    """Async Kubernetes API client. Create it in (or before) the event loop; ``await close()`` at the end."""

    def __init__(
        self,
        config: KubeConfig,
        *,
        timeout: float = 30,
        user_agent: str = f"cisco-vk/{__version__}",
        max_retries: int = 5,
        retry_base_delay: float = 0.2,
        retry_max_delay: float = 10.0,
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.user_agent = user_agent
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self.metrics: dict[tuple[str, str], int] = {}
        self._ssl = config.ssl_context()  # raises ConfigError early on bad TLS material
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    # ----------------------------------------------------------------------------- plumbing

    @property
    def requests_total(self) -> int:
        """All HTTP requests sent so far (retries included)."""
        return sum(self.metrics.values())

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ApiUnavailable("KubeClient is closed")
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True, limit=100)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
            )
        return self._session

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        token = self.config.bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _url(self, path: str) -> URL:
        if not path.startswith("/"):
            raise ValueError(f"API path must start with '/': {path!r}")
        return URL(self.config.server + path, encoded=True)

    def _count(self, verb: str, resource: str, code: int) -> None:
        key = (verb, resource)
        self.metrics[key] = self.metrics.get(key, 0) + 1
        API_REQUESTS.labels(verb, resource, str(code)).inc()

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ----------------------------------------------------------------------------- requests

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
        request_timeout: float | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer ({} when empty).

        ``retry`` defaults to True for GET only: connection failures, timeouts, 429 and 5xx are
        retried with exponential backoff (``Retry-After`` wins when the server sends it).
        """
        method = method.upper()
        retry = method == "GET" if retry is None else retry
        if self._closed:
            raise ApiUnavailable("KubeClient is closed")
        attempt = 0
        while True:
            try:
                return await self._send(method, path, params, body, content_type, headers, request_timeout)
            except ApiError as err:
                retryable = isinstance(err, ApiUnavailable) or err.status == 429 or err.status >= 500
                if not (retry and retryable) or attempt >= self.max_retries:
                    raise
                delay = err.retry_after
                if delay is None:
                    delay = min(self.retry_max_delay, self.retry_base_delay * 2**attempt)
                    delay *= 1 + random.random() * 0.2
                attempt += 1
                log.info(
                    "kube request retry method=%s path=%s attempt=%d delay=%.3f error=%s",
                    method,
                    path,
                    attempt,
                    delay,
                    err,
                )
                await asyncio.sleep(delay)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        content_type: str,
        headers: Mapping[str, str] | None,
        request_timeout: float | None,
    ) -> Any:
        verb, resource = classify(method, path, params)
        hdrs = self._headers(headers)
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs["Content-Type"] = content_type
        session = self._get_session()
        try:
            async with session.request(
                method,
                self._url(path),
                params=_query(params),
                data=data,
                headers=hdrs,
                timeout=aiohttp.ClientTimeout(total=request_timeout if request_timeout is not None else self.timeout),
                server_hostname=self.config.tls_server_name,
                allow_redirects=False,
            ) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = _retry_after(resp.headers)
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            self._count(verb, resource, 0)
            text = str(err) or type(err).__name__
            log.debug("kube request failed method=%s path=%s error=%s", method, path, text)
            raise ApiUnavailable(f"{method} {path}: {text}") from err
        self._count(verb, resource, status)
        log.debug("kube request method=%s path=%s status=%d", method, path, status)
        if status >= 400:
            error = error_for(status, decode_body(raw))
            error.retry_after = retry_after
            raise error
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace")

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return _as_dict(await self.request("GET", path, params=params))

    async def list(
        self,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        params = {
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "limit": limit,
            "continue": continue_,
            "resourceVersion": resource_version,
        }
        return _as_dict(await self.request("GET", path, params=params))

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return _as_dict(await self.request("POST", path, body=body))

    async def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return _as_dict(await self.request("PUT", path, body=body))

    async def patch(
        self,
        path: str,
        body: dict[str, Any] | builtins.list[Any],
        *,
        patch_type: PatchType,
        field_manager: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        content_type = PATCH_CONTENT_TYPES.get(patch_type)
        if content_type is None:
            raise ValueError(f"patch_type must be one of {', '.join(PATCH_CONTENT_TYPES)}, not {patch_type!r}")
        if patch_type == "json" and not isinstance(body, list):
            raise ValueError("a json patch body must be a list of operations")
        if patch_type != "json" and not isinstance(body, dict):
            raise ValueError(f"a {patch_type} patch body must be an object")
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs field_manager")
        if force and patch_type != "apply":
            raise ValueError("force is only valid with patch_type='apply'")
        params: dict[str, Any] = {"fieldManager": field_manager}
        if force:
            params["force"] = True
        return _as_dict(await self.request("PATCH", path, params=params, body=body, content_type=content_type))

    async def delete(
        self,
        path: str,
        *,
        grace_period_seconds: int | None = None,
        preconditions_uid: str | None = None,
        propagation_policy: str | None = None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if preconditions_uid is not None:
            options["preconditions"] = {"uid": preconditions_uid}
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        return _as_dict(await self.request("DELETE", path, body=options))

    # ----------------------------------------------------------------------------- watch

    async def watch(
        self,
        path: str,
        *,
        resource_version: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncGenerator[WatchEvent, None]:
        """Stream watch events from ``resource_version`` until the server ends the stream.

        Raises ``GoneError`` for 410 (HTTP status or ERROR event), ``ApiUnavailable`` when the
        connection fails or breaks, and the mapped ``ApiError`` for other HTTP errors. Other ERROR
        events are yielded with type "ERROR" and the Status object.
        """
        params = _query(
            {
                "watch": True,
                "resourceVersion": resource_version,
                "allowWatchBookmarks": allow_bookmarks or None,
                "timeoutSeconds": timeout_seconds,
                "labelSelector": label_selector,
                "fieldSelector": field_selector,
            }
        )
        verb, resource = classify("GET", path, params)
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=self.timeout,
            sock_read=(timeout_seconds + self.timeout) if timeout_seconds else None,
        )
        session = self._get_session()
        try:
            resp = await session.request(
                "GET",
                self._url(path),
                params=params,
                headers=self._headers(None),
                timeout=timeout,
                server_hostname=self.config.tls_server_name,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            self._count(verb, resource, 0)
            raise ApiUnavailable(f"watch {path}: {str(err) or type(err).__name__}") from err
        self._count(verb, resource, resp.status)
        async with resp:
            if resp.status >= 400:
                error = error_for(resp.status, decode_body(await resp.read()))
                error.retry_after = _retry_after(resp.headers)
                raise error
            buf = bytearray()
            try:
                async for chunk in resp.content.iter_any():
                    buf += chunk
                    start = 0
                    while (end := buf.find(b"\n", start)) >= 0:
                        line = bytes(buf[start:end])
                        start = end + 1
                        if line.strip():
                            yield _watch_event(path, line)
                    del buf[:start]
            except (aiohttp.ClientError, TimeoutError, OSError) as err:
                raise ApiUnavailable(f"watch {path}: stream broke: {str(err) or type(err).__name__}") from err
            if bytes(buf).strip():
                yield _watch_event(path, bytes(buf))


def _watch_event(path: str, line: bytes) -> WatchEvent:
    try:
        data = json.loads(line)
        kind = data["type"]
        obj = data["object"]
        if not isinstance(kind, str) or not isinstance(obj, dict):
            raise ValueError("type or object has the wrong shape")
    except (ValueError, KeyError, TypeError) as err:
        raise ApiUnavailable(f"watch {path}: malformed event line ({err})") from err
    if kind == "ERROR" and obj.get("code") == 410:
        raise GoneError(410, str(obj.get("reason") or "Expired"), str(obj.get("message") or "watch expired"), obj)
    return WatchEvent(kind, obj)


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise ApiUnavailable(f"the API server answered with something that is not a JSON object: {str(value)[:200]!r}")
