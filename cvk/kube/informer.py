"""A list-and-watch cache of one resource collection (client-go's reflector + informer, simplified).

``Informer(client, paths.pods(), field_selector="spec.nodeName=N")``:

1. lists the collection (pages of ``page_size``), fills the cache and tells the handlers;
2. watches from the list's resourceVersion; BOOKMARK events advance the resourceVersion; a stream
   that ends (server timeout) is re-opened from the last resourceVersion; watch errors are retried
   with exponential backoff;
3. on 410 Gone (or any ERROR event) lists again and reconciles: objects that vanished get a
   synthesized ``on_delete``, changed ones an ``on_update``, new ones an ``on_add``.

The cache is keyed "namespace/name" ("name" for cluster-scoped objects). Objects handed to
handlers and returned by ``get``/``list`` are shared: treat them as read-only. List items get the
``kind``/``apiVersion`` of the list (the API server leaves them out), like watch objects have.
Handlers are plain callbacks run in the event loop: they must not block; exceptions are logged.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from cvk.kube.client import KubeClient, WatchEvent
from cvk.kube.errors import ApiError, GoneError

log = logging.getLogger(__name__)

Obj = dict[str, Any]
OnAdd = Callable[[Obj], None]
OnUpdate = Callable[[Obj, Obj], None]
OnDelete = Callable[[Obj], None]


def object_key(obj: Obj) -> str:
    """ "namespace/name", or "name" for cluster-scoped objects."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = str(meta.get("name", ""))
    return f"{ns}/{name}" if ns else name


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class _Relist(Exception):
    """The watch cannot continue from the current resourceVersion."""


class Informer:
    def __init__(
        self,
        client: KubeClient,
        path: str,
        *,
        field_selector: str | None = None,
        label_selector: str | None = None,
        resync_seconds: float | None = None,
        name: str = "",
        page_size: int = 500,
        watch_timeout_seconds: int | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.client = client
        self.path = path
        self.field_selector = field_selector
        self.label_selector = label_selector
        self.resync_seconds = resync_seconds
        self.name = name or path
        self.page_size = page_size
        self.watch_timeout_seconds = watch_timeout_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._cache: dict[str, Obj] = {}
        self._handlers: list[tuple[OnAdd | None, OnUpdate | None, OnDelete | None]] = []
        self._synced = asyncio.Event()
        self._rv = ""
        self._tasks: list[asyncio.Task[None]] = []
        self.lists = 0  # completed (re)lists, for tests and benchmarks
        self.watches = 0  # watch requests opened

    # ----------------------------------------------------------------------------- public API

    def add_handler(
        self,
        on_add: OnAdd | None = None,
        on_update: OnUpdate | None = None,
        on_delete: OnDelete | None = None,
    ) -> None:
        """Register callbacks. Added after the first sync, ``on_add`` is replayed for cached objects."""
        self._handlers.append((on_add, on_update, on_delete))
        if self._synced.is_set() and on_add is not None:
            for obj in builtins.list(self._cache.values()):
                self._call(on_add, obj)

    def get(self, key: str) -> Obj | None:
        return self._cache.get(key)

    def list(self) -> builtins.list[Obj]:
        return builtins.list(self._cache.values())

    def keys(self) -> builtins.list[str]:
        return builtins.list(self._cache)

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    @property
    def last_resource_version(self) -> str:
        return self._rv

    async def wait_synced(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 (fixed API)
        """Wait for the first complete list; raises ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            await self._synced.wait()
        return True

    async def start(self) -> None:
        """Start listing and watching in the background (returns at once; see ``wait_synced``)."""
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._run(), name=f"informer-{self.name}"))
        if self.resync_seconds:
            self._tasks.append(asyncio.create_task(self._resync(self.resync_seconds), name=f"resync-{self.name}"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ----------------------------------------------------------------------------- loops

    def _backoff(self, failures: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** min(failures - 1, 30))
        return float(delay * (0.5 + random.random() / 2))

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._relist()
            except ApiError as err:
                failures += 1
                delay = self._backoff(failures)
                log.warning("informer list failed informer=%s retry_in=%.2f error=%s", self.name, delay, err)
                await asyncio.sleep(delay)
                continue
            except Exception:
                failures += 1
                log.exception("informer list failed unexpectedly informer=%s", self.name)
                await asyncio.sleep(self._backoff(failures))
                continue
            listed_at = time.monotonic()
            try:
                healthy = await self._watch_until_relist()
            except Exception:
                log.exception("informer watch failed unexpectedly informer=%s", self.name)
                healthy = False
            if healthy or time.monotonic() - listed_at > 10:
                failures = 0
            else:
                failures += 1  # relist loops without progress: slow down
                await asyncio.sleep(self._backoff(failures))

    async def _relist(self) -> None:
        items: builtins.list[Obj] = []
        cont: str | None = None
        rv = ""
        while True:
            try:
                page = await self.client.list(
                    self.path,
                    label_selector=self.label_selector,
                    field_selector=self.field_selector,
                    limit=self.page_size,
                    continue_=cont,
                )
            except GoneError:
                if cont is None:
                    raise
                log.info("informer list continue token expired, listing again informer=%s", self.name)
                items, cont, rv = [], None, ""
                continue
            meta = page.get("metadata") or {}
            rv = rv or str(meta.get("resourceVersion") or "")
            kind = str(page.get("kind") or "")
            api_version = page.get("apiVersion")
            for item in page.get("items") or []:
                if kind.endswith("List") and "kind" not in item:
                    item["kind"] = kind[: -len("List")]
                if api_version and "apiVersion" not in item:
                    item["apiVersion"] = api_version
                items.append(item)
            cont = meta.get("continue") or None
            if not cont:
                break
        self._replace(items, rv)

    def _replace(self, items: builtins.list[Obj], rv: str) -> None:
        old = self._cache
        new = {object_key(obj): obj for obj in items}
        self._cache = new
        self._rv = rv
        self.lists += 1
        added = updated = deleted = 0
        for key, obj in new.items():
            prev = old.get(key)
            if prev is None:
                added += 1
                self._dispatch_add(obj)
            elif _rv(prev) != _rv(obj):
                updated += 1
                self._dispatch_update(prev, obj)
        for key, prev in old.items():
            if key not in new:
                deleted += 1
                self._dispatch_delete(prev)
        log.info(
            "informer listed informer=%s objects=%d resourceVersion=%s added=%d updated=%d deleted=%d",
            self.name,
            len(new),
            rv,
            added,
            updated,
            deleted,
        )
        self._synced.set()

    async def _watch_until_relist(self) -> bool:
        """Watch (re-opening ended streams) until a relist is needed; True if events flowed."""
        failures = 0
        progressed = False
        while True:
            opened = time.monotonic()
            got_event = False
            try:
                timeout = self.watch_timeout_seconds or random.randint(300, 600)
                self.watches += 1
                async with contextlib.aclosing(
                    self.client.watch(
                        self.path,
                        resource_version=self._rv,
                        label_selector=self.label_selector,
                        field_selector=self.field_selector,
                        timeout_seconds=timeout,
                        allow_bookmarks=True,
                    )
                ) as stream:
                    async for event in stream:
                        got_event = True
                        progressed = True
                        failures = 0
                        self._apply(event)
            except (GoneError, _Relist) as err:
                log.info("informer relisting informer=%s resourceVersion=%s reason=%s", self.name, self._rv, err)
                return progressed
            except ApiError as err:
                failures += 1
                delay = self._backoff(failures)
                log.warning("informer watch failed informer=%s retry_in=%.2f error=%s", self.name, delay, err)
                await asyncio.sleep(delay)
                continue
            if not got_event and time.monotonic() - opened < 1.0:
                failures += 1  # the server keeps closing at once: do not spin
                await asyncio.sleep(self._backoff(failures))

    def _apply(self, event: WatchEvent) -> None:
        obj = event.object
        if event.type == "ERROR":
            raise _Relist(f"watch ERROR event: {obj.get('code')} {obj.get('reason')}: {obj.get('message')}")
        rv = _rv(obj)
        if event.type == "BOOKMARK":
            if rv:
                self._rv = rv
            return
        key = object_key(obj)
        if event.type in ("ADDED", "MODIFIED"):
            prev = self._cache.get(key)
            self._cache[key] = obj
            if rv:
                self._rv = rv
            if prev is None:
                self._dispatch_add(obj)
            else:
                self._dispatch_update(prev, obj)
        elif event.type == "DELETED":
            prev = self._cache.pop(key, None)
            if rv:
                self._rv = rv
            if prev is not None:
                self._dispatch_delete(obj)
        else:
            log.warning("informer ignoring unknown watch event informer=%s type=%s", self.name, event.type)

    async def _resync(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            if self._synced.is_set():
                for obj in builtins.list(self._cache.values()):
                    self._dispatch_update(obj, obj)

    # ----------------------------------------------------------------------------- dispatch

    def _dispatch_add(self, obj: Obj) -> None:
        for on_add, _, _ in self._handlers:
            if on_add is not None:
                self._call(on_add, obj)

    def _dispatch_update(self, old: Obj, new: Obj) -> None:
        for _, on_update, _ in self._handlers:
            if on_update is not None:
                self._call(on_update, old, new)

    def _dispatch_delete(self, obj: Obj) -> None:
        for _, _, on_delete in self._handlers:
            if on_delete is not None:
                self._call(on_delete, obj)

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("informer handler failed informer=%s key=%s", self.name, object_key(args[-1]))
