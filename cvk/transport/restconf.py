"""RESTCONF (RFC 8040) client on aiohttp.

- HTTPS with certificate verification on by default: CA from a file (``tls.ca_file``) or PEM bytes
  (e.g. read from a Secret), client certificates, ``insecure_skip_verify`` only when asked;
- HTTP Basic authentication on every request (the password is never logged);
- one ``aiohttp.ClientSession`` reused for every request (keep-alive), a timeout per request and a
  shorter one for the TCP connect (a blackholed device fails each attempt in ``connect_timeout``);
- retries with exponential backoff on connection errors and 5xx answers only, never on 4xx;
  a POST is retried after a connection error only when the request cannot have reached the device;
- errors mapped to ``cvk.errors``: DeviceUnreachable (no answer), DeviceAuthError (401/403),
  NotFound (404), DeviceBusy (409 lock-denied / in-use), DeviceRejected otherwise, carrying the
  device's own ``ietf-restconf:errors`` error-message;
- responses are plain JSON dicts: unknown leaves are simply carried along;
- ``install_slot``: a per-device semaphore that callers hold around app installs (IOS-XE does not
  handle concurrent installs reliably);
- ``stats``: request counts per method, for benchmarks; every attempt is also counted in
  ``cisco_vk_device_requests_total{transport="restconf",method,code}`` (code: the HTTP status, or
  ``unreachable``) and timed in ``cisco_vk_device_request_duration_seconds``.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import ipaddress
import json
import logging
import re
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from cvk.config.spec import TLSConfig
from cvk.errors import ConfigError, DeviceAuthError, DeviceBusy, DeviceRejected, DeviceUnreachable, NotFound
from cvk.transport.metrics import DEVICE_REQUESTS, DEVICE_SECONDS

log = logging.getLogger(__name__)

YANG_JSON = "application/yang-data+json"
_BUSY_TAGS = frozenset({"lock-denied", "in-use", "resource-denied"})
_XML_MESSAGE = re.compile(r"<error-message[^>]*>(.*?)</error-message>", re.S)
_XML_TAG = re.compile(r"<error-tag[^>]*>(.*?)</error-tag>", re.S)


def _host_for_url(address: str) -> str:
    try:
        if ipaddress.ip_address(address).version == 6:
            return f"[{address}]"
    except ValueError:
        pass
    return address


def build_ssl_context(
    tls: TLSConfig, ca_pem: bytes | None = None, client_cert: tuple[str, str] | None = None
) -> ssl.SSLContext:
    """An SSLContext for ``tls``. Verification stays on unless ``insecure_skip_verify`` is set."""
    ctx = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.ca_file:
        try:
            ctx.load_verify_locations(cafile=tls.ca_file)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError("tls.caFile", f"{tls.ca_file!r} cannot be loaded: {e}") from e
    if ca_pem:
        try:
            ctx.load_verify_locations(cadata=ca_pem.decode("ascii", errors="replace"))
        except (ssl.SSLError, ValueError) as e:
            raise ConfigError("tls.caFile", f"the CA certificate (PEM) cannot be loaded: {e}") from e
    cert = client_cert or ((tls.cert_file, tls.key_file) if tls.cert_file and tls.key_file else None)
    if cert:
        try:
            ctx.load_cert_chain(certfile=cert[0], keyfile=cert[1])
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(
                "tls.certFile", f"client certificate {cert[0]!r} / key {cert[1]!r} cannot be loaded: {e}"
            ) from e
    return ctx


def parse_errors(body: bytes) -> tuple[str, str]:
    """(error-tag, error-message) of an RFC 8040 errors document (JSON or XML); empty when absent."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return "", ""
    try:
        doc = json.loads(text)
    except ValueError:
        tags = _XML_TAG.findall(text)
        msgs = _XML_MESSAGE.findall(text)
        return (tags[0].strip() if tags else ""), "; ".join(m.strip() for m in msgs) or text[:300]
    if isinstance(doc, dict):
        errs = doc.get("ietf-restconf:errors") or doc.get("errors") or {}
        items = errs.get("error", []) if isinstance(errs, dict) else []
        if isinstance(items, dict):
            items = [items]
        tags = [str(e.get("error-tag", "")) for e in items if isinstance(e, dict)]
        msgs = [str(e["error-message"]) for e in items if isinstance(e, dict) and e.get("error-message")]
        if tags or msgs:
            return (tags[0] if tags else ""), "; ".join(msgs)
    return "", text[:300]


class RestconfClient:
    """One device's RESTCONF endpoint. Create inside a running event loop or call methods from one."""

    def __init__(
        self,
        address: str,
        port: int,
        username: str,
        password: str,
        *,
        tls: TLSConfig,
        ca_pem: bytes | None = None,
        client_cert: tuple[str, str] | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        retries: int = 3,
        backoff_base: float = 0.2,
        backoff_max: float = 5.0,
        max_connections: int = 4,
    ) -> None:
        self.address = address
        self.port = port
        self.scheme = "https" if tls.enabled else "http"
        self.base_url = f"{self.scheme}://{_host_for_url(address)}:{port}"
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
        self._auth_header = f"Basic {token}"
        self._username = username
        self._ssl: ssl.SSLContext | bool = (
            build_ssl_context(tls, ca_pem, client_cert) if tls.enabled else False
        )
        if not tls.enabled:
            log.warning("RESTCONF over plain HTTP: credentials travel unencrypted (set tls.enabled: true) "
                        "device=%s port=%s", address, port)
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.retries = max(0, retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._install_slot: asyncio.Semaphore | None = None
        self.stats: collections.Counter[str] = collections.Counter()
        self.on_request: Callable[[str, str, int | None], None] | None = None

    # ---- session -----------------------------------------------------------------------------
    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl, limit=self._max_connections)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"Accept": YANG_JSON, "Authorization": self._auth_header},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @property
    def install_slot(self) -> asyncio.Semaphore:
        """Held around app installs: at most one install in flight per device."""
        if self._install_slot is None:
            self._install_slot = asyncio.Semaphore(1)
        return self._install_slot

    @property
    def request_count(self) -> int:
        return sum(v for k, v in self.stats.items() if k.startswith("method:"))

    # ---- verbs -------------------------------------------------------------------------------
    async def get(self, path: str, *, params: dict[str, str] | None = None) -> dict[str, Any]:
        doc = await self.request("GET", path, params=params)
        return doc if isinstance(doc, dict) else {}

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return await self.request("POST", path, body=body)

    async def put(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return await self.request("PUT", path, body=body)

    async def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return await self.request("PATCH", path, body=body)

    async def delete(self, path: str) -> None:
        await self.request("DELETE", path)

    async def rpc(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """POST an operation (``/restconf/operations/...``); returns its output document, if any."""
        return await self.request("POST", path, body=body)

    # ---- core --------------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": YANG_JSON} if data is not None else {}
        attempt = 0
        while True:
            attempt += 1
            self.stats[f"method:{method}"] += 1
            started = time.monotonic()
            try:
                session = self._get_session()
                async with session.request(
                    method,
                    url,
                    data=data,
                    params=params,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=self.connect_timeout),
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
                    ctype = resp.headers.get("Content-Type", "")
            except aiohttp.ClientConnectorCertificateError as e:
                self._observe(method, "unreachable", started)
                raise DeviceUnreachable(
                    f"device {self.address}:{self.port}: TLS certificate verification failed: {e}; "
                    "set tls.caFile to the CA that signed the device certificate"
                ) from e
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as e:
                self._observe(method, "unreachable", started)
                # The connection was never established (refused, or no answer to the connect within
                # connect_timeout, as from a blackholed device): safe to repeat any method.
                err: Exception = self._unreachable(method, path, e)
                retryable = True
            except (aiohttp.ClientError, TimeoutError, OSError) as e:
                self._observe(method, "unreachable", started)
                # The request may have reached the device: repeat only idempotent methods.
                err = self._unreachable(method, path, e)
                retryable = method != "POST"
            else:
                self._observe(method, str(status), started)
                if self.on_request is not None:
                    self.on_request(method, path, status)
                log.debug(
                    "restconf method=%s path=%s status=%d ms=%d",
                    method, path, status, int((time.monotonic() - started) * 1000),
                )
                if status < 300:
                    return self._decode(raw, ctype, method, path)
                err = self._http_error(status, raw, method, path)
                retryable = status >= 500
            if not retryable or attempt > self.retries:
                raise err
            delay = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
            log.info(
                "restconf retry method=%s path=%s attempt=%d delay=%.2fs error=%s",
                method, path, attempt, delay, err,
            )
            self.stats["retries"] += 1
            await asyncio.sleep(delay)

    @staticmethod
    def _observe(method: str, code: str, started: float) -> None:
        DEVICE_REQUESTS.labels("restconf", method, code).inc()
        DEVICE_SECONDS.labels("restconf", method).observe(time.monotonic() - started)

    def _unreachable(self, method: str, path: str, e: BaseException) -> DeviceUnreachable:
        what = type(e).__name__
        detail = str(e) or what
        return DeviceUnreachable(f"device {self.address}:{self.port} unreachable ({method} {path}): {detail}")

    def _http_error(self, status: int, raw: bytes, method: str, path: str) -> Exception:
        tag, message = parse_errors(raw)
        where = f"{method} {path}"
        if status in (401, 403):
            return DeviceAuthError(
                f"device {self.address}:{self.port} refused the credentials of user {self._username!r} "
                f"(HTTP {status} on {where}); check username and password"
            )
        if status == 404:
            return NotFound(f"{where}: not found on the device" + (f": {message}" if message else ""))
        text = f"device rejected {where} (HTTP {status}" + (f" {tag}" if tag else "") + ")"
        if message:
            text += f": {message}"
        if status == 409 and tag in _BUSY_TAGS:
            return DeviceBusy(text, status=status, device_message=message)
        if status in (502, 503, 504):
            return DeviceUnreachable(text)
        return DeviceRejected(text, status=status, device_message=message)

    @staticmethod
    def _decode(raw: bytes, ctype: str, method: str, path: str) -> dict[str, Any] | None:
        if not raw.strip():
            return None
        try:
            doc = json.loads(raw)
        except ValueError as e:
            if "json" in ctype:
                raise DeviceRejected(f"{method} {path}: the device answered invalid JSON: {e}") from e
            return None
        return doc if isinstance(doc, dict) else {"value": doc}

