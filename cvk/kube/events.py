"""Kubernetes Events (core/v1) written in the background, with client-go's correlation.

``EventRecorder(client, component="n1/pod-controller", host="n1").event(pod, "Normal", reason, msg)``
returns at once: events go through a bounded queue to one background task. Like client-go's
EventCorrelator:

- a repeat of the same (object, type, reason, message, source) PATCHes the Event written before
  (``count`` + 1, new ``lastTimestamp``) instead of creating another; when that Event has expired
  from the API (404) a new one is created;
- a per-object token bucket (burst 25, one more every 5 minutes) drops event storms.

``event`` never raises; failures are logged without bodies. ``await close()`` flushes the queue.
Messages must not contain secrets: callers are responsible (this module never logs them).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, Literal

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import ApiError, ApiUnavailable, NotFoundError

log = logging.getLogger(__name__)

EventType = Literal["Normal", "Warning"]
MAX_MESSAGE = 1024
CACHE_SIZE = 4096


@dataclasses.dataclass
class _Pending:
    involved: dict[str, Any]
    namespace: str
    type: str
    reason: str
    message: str
    timestamp: str


@dataclasses.dataclass
class _Seen:
    name: str
    namespace: str
    count: int
    first_timestamp: str


@dataclasses.dataclass
class _Bucket:
    tokens: float
    updated: float


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def involved_object(obj: dict[str, Any], kind: str | None = None, api_version: str | None = None) -> dict[str, Any]:
    """The ObjectReference of ``obj`` (kind/apiVersion from the object, else from the arguments)."""
    meta = obj.get("metadata") or {}
    kind = kind or obj.get("kind")
    api_version = api_version or obj.get("apiVersion")
    if not kind and isinstance((obj.get("spec") or {}).get("containers"), list):
        kind, api_version = "Pod", api_version or "v1"  # informer-less pods: the only kind that lacks it
    ref: dict[str, Any] = {}
    for key, value in (
        ("kind", kind),
        ("apiVersion", api_version),
        ("namespace", meta.get("namespace")),
        ("name", meta.get("name")),
        ("uid", meta.get("uid")),
        ("resourceVersion", meta.get("resourceVersion")),
    ):
        if value:
            ref[key] = value
    return ref


class EventRecorder:
    def __init__(
        self,
        client: KubeClient,
        component: str,
        host: str,
        *,
        queue_size: int = 1000,
        burst: int = 25,
        refill_seconds: float = 300.0,
        max_tries: int = 3,
        retry_delay: float = 1.0,
    ) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.max_tries = max(1, max_tries)
        self.retry_delay = retry_delay
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=queue_size)
        self._seen: OrderedDict[tuple[str, ...], _Seen] = OrderedDict()  # the correlator's memory
        self._buckets: OrderedDict[tuple[str, ...], _Bucket] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._last_ns = 0
        self.created = 0
        self.patched = 0
        self.dropped = 0
        self.failed = 0

    def event(
        self,
        obj: dict[str, Any],
        type_: EventType | str,
        reason: str,
        message: str,
        *,
        kind: str | None = None,
        api_version: str | None = None,
        field_path: str | None = None,
    ) -> None:
        """Record an Event about ``obj`` in the background. Never blocks, never raises."""
        try:
            if self._closed:
                log.debug("event dropped: recorder closed reason=%s", reason)
                return
            if type_ not in ("Normal", "Warning"):
                self.dropped += 1
                log.warning("event dropped: type must be Normal or Warning, not %r reason=%s", type_, reason)
                return
            involved = involved_object(obj, kind, api_version)
            if field_path:
                involved["fieldPath"] = field_path
            if not involved.get("name"):
                self.dropped += 1
                log.warning("event dropped: object has no metadata.name reason=%s", reason)
                return
            if not self._allow(involved):
                self.dropped += 1
                log.debug("event dropped by the spam filter object=%s reason=%s", _ref_key(involved), reason)
                return
            if len(message) > MAX_MESSAGE:
                message = message[: MAX_MESSAGE - 3] + "..."
            pending = _Pending(
                involved=involved,
                namespace=involved.get("namespace") or "default",
                type=type_,
                reason=reason,
                message=message,
                timestamp=_now(),
            )
            loop = asyncio.get_running_loop()  # RuntimeError outside the event loop: dropped below
            self._queue.put_nowait(pending)
            if self._task is None or self._task.done():
                self._task = loop.create_task(self._worker(), name="event-recorder")
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event dropped: queue full reason=%s", reason)
        except Exception:
            self.dropped += 1
            log.exception("event dropped: cannot queue it reason=%s", reason)

    async def close(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (a flush deadline)
        """Write the queued events (up to ``timeout`` seconds), then stop."""
        self._closed = True
        task = self._task
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._task = None

    # ----------------------------------------------------------------------------- internals

    def _allow(self, involved: dict[str, Any]) -> bool:
        key = (self.component, self.host, _ref_key(involved))
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            if len(self._buckets) > CACHE_SIZE:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            if self.refill_seconds > 0:
                bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) / self.refill_seconds)
            bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    async def _worker(self) -> None:
        while True:
            pending = await self._queue.get()
            try:
                await self._write_with_retries(pending)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.failed += 1
                log.warning(
                    "event not written object=%s reason=%s error=%s",
                    _ref_key(pending.involved).replace("\x00", "/"),
                    pending.reason,
                    err,
                )
            finally:
                self._queue.task_done()

    async def _write_with_retries(self, ev: _Pending) -> None:
        """Retry transient failures (no answer, 429, 5xx) a few times, like client-go (which tries 12)."""
        for attempt in range(1, self.max_tries + 1):
            try:
                await self._write(ev)
                return
            except ApiError as err:
                transient = isinstance(err, ApiUnavailable) or err.status == 429 or err.status >= 500
                if not transient or attempt == self.max_tries:
                    raise
                await asyncio.sleep(self.retry_delay * attempt)

    async def _write(self, ev: _Pending) -> None:
        key = (_ref_key(ev.involved), ev.type, ev.reason, ev.message)
        seen = self._seen.get(key)
        if seen is not None:
            self._seen.move_to_end(key)
            patch = {"count": seen.count + 1, "lastTimestamp": ev.timestamp, "message": ev.message}
            try:
                await self.client.patch(paths.events(seen.namespace, seen.name), patch, patch_type="merge")
                seen.count += 1
                self.patched += 1
                return
            except NotFoundError:
                del self._seen[key]  # expired from the API (TTL): write a new one
        name = f"{ev.involved['name']}.{self._unique_ns():x}"
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ev.namespace},
            "involvedObject": ev.involved,
            "reason": ev.reason,
            "message": ev.message,
            "type": ev.type,
            "source": {"component": self.component, "host": self.host},
            "firstTimestamp": ev.timestamp,
            "lastTimestamp": ev.timestamp,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        await self.client.create(paths.events(ev.namespace), body)
        self.created += 1
        self._seen[key] = _Seen(name, ev.namespace, 1, ev.timestamp)
        if len(self._seen) > CACHE_SIZE:
            self._seen.popitem(last=False)

    def _unique_ns(self) -> int:
        now = time.time_ns()
        if now <= self._last_ns:
            now = self._last_ns + 1
        self._last_ns = now
        return now


def _ref_key(involved: dict[str, Any]) -> str:
    return "\x00".join(
        str(involved.get(k, "")) for k in ("kind", "apiVersion", "namespace", "name", "uid", "fieldPath")
    )
