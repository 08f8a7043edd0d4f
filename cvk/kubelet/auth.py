"""Authentication and authorization of kubelet API requests, the way the kubelet does it.

Authentication, in order:
1. a client certificate verified against ``--client-ca-file`` (CN = user, O = groups);
2. a bearer token, checked with a TokenReview when token webhook authentication is on;
3. otherwise ``system:anonymous`` if anonymous requests are allowed, else 401.
An invalid bearer token is a 401 even when anonymous requests are allowed (as in the kubelet);
with token authentication off, a bearer token is ignored.

Authorization: with webhook authorization a SubjectAccessReview is made for
``verb`` (from the HTTP method) on ``nodes/<subresource>`` named after the node, where the
subresource is ``stats``, ``metrics``, ``log`` or ``proxy`` according to the path; without it every
authenticated request is allowed. Reviews are cached: token results 2 min (failures 10 s),
authorization allows 5 min and denies 30 s, like the kubelet's defaults.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar

from cvk.kube import paths

log = logging.getLogger(__name__)

TOKEN_TTL = 120.0
TOKEN_FAILURE_TTL = 10.0
ALLOW_TTL = 300.0
DENY_TTL = 30.0
CACHE_SIZE = 1024

ANONYMOUS = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
AUTHENTICATED_GROUP = "system:authenticated"

_VERBS = {
    "GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
}


class ReviewClient(Protocol):
    """What auth needs from cisco-vk's Kubernetes client (cvk.kube.client.KubeClient)."""

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclasses.dataclass(frozen=True)
class Attributes:
    """The SubjectAccessReview resource attributes of one request."""

    verb: str
    subresource: str
    name: str
    resource: str = "nodes"
    version: str = "v1"


class AuthError(Exception):
    """Authentication or authorization could not be decided (the review call failed)."""


K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A small LRU cache whose entries expire after a per-entry TTL (monotonic clock)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V, ttl: float) -> None:
        self._data[key] = (time.monotonic() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)


class SingleFlight(Generic[K, V]):
    """Concurrent calls for the same key share one in-flight review instead of each making one.

    The review runs in its own task, so a caller that gives up (client went away) does not cancel
    it for the others.
    """

    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Task[V]] = {}

    async def do(self, key: K, call: Callable[[], Coroutine[Any, Any, V]]) -> V:
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(call())
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._forget(key, t))
        return await asyncio.shield(task)

    def _forget(self, key: K, task: asyncio.Task[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" noise if all gave up


def subresource_for(path: str) -> str:
    """The nodes subresource the kubelet authorizes ``path`` as."""

    def under(prefix: str) -> bool:
        return path == prefix or path.startswith(prefix + "/")

    if under("/stats"):
        return "stats"
    if under("/metrics"):
        return "metrics"
    if under("/logs"):
        return "log"
    return "proxy"


def attributes_for(method: str, path: str, node_name: str) -> Attributes:
    return Attributes(verb=_VERBS.get(method.upper(), method.lower()), subresource=subresource_for(path),
                      name=node_name)


def user_from_peercert(peercert: dict[str, Any] | None) -> User | None:
    """CN and O of a verified client certificate (``ssl.SSLSocket.getpeercert()`` form)."""
    if not peercert:
        return None
    cn = ""
    orgs: list[str] = []
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName" and not cn:
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    if not cn:
        return None
    return User(name=cn, groups=(*orgs, AUTHENTICATED_GROUP))


class Authenticator:
    def __init__(
        self, client: ReviewClient | None, *, client_certs: bool, tokens: bool, anonymous: bool
    ) -> None:
        self._client = client
        self._client_certs = client_certs
        self._tokens = tokens
        self._anonymous = anonymous
        self._cache: TTLCache[str, tuple[User | None]] = TTLCache()  # (None,) caches a rejection
        self._flights: SingleFlight[str, User | None] = SingleFlight()

    async def authenticate(self, peercert: dict[str, Any] | None, authorization: str | None) -> User | None:
        """The request's user, or None (401). Raises AuthError if the TokenReview call failed."""
        if self._client_certs:
            user = user_from_peercert(peercert)
            if user is not None:
                return user
        token = _bearer(authorization)
        if token is not None and self._tokens:
            # An invalid token is a 401, never an anonymous request (the kubelet's FailOnError).
            return await self._review_token(token)
        # Without token authentication a bearer token is not looked at, as in the kubelet.
        if self._anonymous:
            return User(name=ANONYMOUS, groups=(UNAUTHENTICATED_GROUP,))
        return None

    async def _review_token(self, token: str) -> User | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(key)
        if cached is not None:
            return cached[0]
        return await self._flights.do(key, lambda: self._token_review(key, token))

    async def _token_review(self, key: str, token: str) -> User | None:
        assert self._client is not None
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        try:
            result = await self._client.create(paths.token_reviews(), body)
        except Exception as e:
            raise AuthError(f"token review failed: {e}") from e
        status = result.get("status") or {}
        if not status.get("authenticated"):
            log.info("token review rejected token error=%r", status.get("error", ""))
            self._cache.put(key, (None,), TOKEN_FAILURE_TTL)
            return None
        info = status.get("user") or {}
        extra = tuple(sorted((k, tuple(v)) for k, v in (info.get("extra") or {}).items()))
        groups = tuple(info.get("groups") or ())
        if AUTHENTICATED_GROUP not in groups:  # the kubelet's AuthenticatedGroupAdder
            groups = (*groups, AUTHENTICATED_GROUP)
        user = User(
            name=str(info.get("username", "")),
            groups=groups,
            uid=str(info.get("uid", "")),
            extra=extra,
        )
        self._cache.put(key, (user,), TOKEN_TTL)
        return user


class Authorizer:
    def __init__(self, client: ReviewClient | None, *, webhook: bool) -> None:
        self._client = client
        self._webhook = webhook
        self._cache: TTLCache[tuple[User, Attributes], tuple[bool, str]] = TTLCache()
        self._flights: SingleFlight[tuple[User, Attributes], tuple[bool, str]] = SingleFlight()

    async def authorize(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason). Raises AuthError if the SubjectAccessReview call failed."""
        if not self._webhook:
            return True, ""
        key = (user, attrs)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        return await self._flights.do(key, lambda: self._review(key, user, attrs))

    async def _review(self, key: tuple[User, Attributes], user: User, attrs: Attributes) -> tuple[bool, str]:
        assert self._client is not None
        spec: dict[str, Any] = {
            "user": user.name,
            "groups": list(user.groups),
            "resourceAttributes": {
                "verb": attrs.verb,
                "group": "",
                "version": attrs.version,
                "resource": attrs.resource,
                "subresource": attrs.subresource,
                "name": attrs.name,
            },
        }
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra}
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        try:
            result = await self._client.create(paths.subject_access_reviews(), body)
        except Exception as e:
            raise AuthError(f"subject access review failed: {e}") from e
        status = result.get("status") or {}
        allowed = bool(status.get("allowed")) and not status.get("denied")
        reason = str(status.get("reason", "") or status.get("evaluationError", ""))
        self._cache.put(key, (allowed, reason), ALLOW_TTL if allowed else DENY_TTL)
        return allowed, reason


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
