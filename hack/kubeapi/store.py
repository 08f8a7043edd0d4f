"""In-memory object store: one resourceVersion counter, a bounded event history, watchers.

Stored objects are never mutated: every write stores a new dict, so readers can serialise them
without copying. All methods run on the server's event loop thread.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from .errors import gone

log = logging.getLogger(__name__)

Obj = dict[str, Any]

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


@dataclasses.dataclass(frozen=True)
class Event:
    rv: int
    type: str
    key: str  # ResourceType.key, "group/plural"
    obj: Obj
    old: Obj | None


Predicate = Callable[[Obj], bool]


class Watcher:
    """One watch stream: receives the events of one resource key that pass its predicate."""

    def __init__(self, key: str, namespace: str | None, predicate: Predicate, maxsize: int = 0) -> None:
        self.key = key
        self.namespace = namespace
        self.predicate = predicate
        self.queue: asyncio.Queue[tuple[str, Obj] | None] = asyncio.Queue(maxsize)
        self.overflowed = False
        # Only events newer than this are sent (a watch from a resourceVersion ahead of the store).
        self.min_rv = 0

    def _in_scope(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj.get("metadata", {}).get("namespace") != self.namespace:
            return False
        return self.predicate(obj)

    def offer(self, ev: Event) -> None:
        """Translate a store event into what this watcher sees (selector transitions included)."""
        if ev.rv <= self.min_rv:
            return
        new_in = self._in_scope(ev.obj)
        if ev.type == DELETED:
            if new_in or self._in_scope(ev.old):
                self._put((DELETED, ev.obj))
            return
        old_in = self._in_scope(ev.old)
        if new_in and old_in:
            self._put((MODIFIED, ev.obj))
        elif new_in:
            self._put((ADDED, ev.obj))
        elif old_in:
            # The object stopped matching the selector: the real server sends DELETED.
            self._put((DELETED, ev.obj))

    def _put(self, item: tuple[str, Obj]) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # A watcher that cannot keep up is closed, as the watch cache does; the client relists.
            self.overflowed = True
            log.warning("watch queue full, closing watch key=%s", self.key)


def obj_key(obj: Obj) -> tuple[str, str]:
    md = obj.get("metadata", {})
    return (md.get("namespace") or "", md.get("name") or "")


class Store:
    def __init__(self, window: int = 10000) -> None:
        self._rv = 100
        self._data: dict[str, dict[tuple[str, str], Obj]] = collections.defaultdict(dict)
        self._history: collections.deque[Event] = collections.deque(maxlen=max(1, window))
        self._watchers: dict[str, set[Watcher]] = collections.defaultdict(set)
        self._listeners: list[Callable[[Event], None]] = []
        # Lowest resourceVersion from which a watch can still resume.
        self._compacted_rv = self._rv

    # --- revisions --------------------------------------------------------------------------

    @property
    def rv(self) -> int:
        return self._rv

    def next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def set_window(self, size: int) -> None:
        """Keep only the last `size` events; older resourceVersions answer 410 Gone."""
        size = max(1, size)
        old = list(self._history)
        self._history = collections.deque(old[-size:], maxlen=size)
        self._recompute_compaction()

    def compact(self) -> None:
        """Forget all retained events (every resume from an older resourceVersion gets 410)."""
        self._history.clear()
        self._compacted_rv = self._rv

    def _recompute_compaction(self) -> None:
        if self._history:
            self._compacted_rv = max(self._compacted_rv, self._history[0].rv - 1)

    def events_since(self, rv: int) -> list[Event]:
        """Events newer than rv; raises 410 Gone if some of them are no longer retained."""
        if rv >= self._rv:
            return []
        if rv < self._compacted_rv:
            raise gone(f"too old resource version: {rv} ({self._compacted_rv})")
        return [e for e in self._history if e.rv > rv]

    def list_at(self, key: str, namespace: str | None, rv: int) -> list[Obj]:
        """The objects of key as they were at resourceVersion rv, rebuilt from the retained events
        (410 Gone when rv is older than the window, like etcd after compaction)."""
        if rv >= self._rv:
            return self.list(key, namespace)
        if rv < self._compacted_rv:
            raise gone("The resourceVersion for the provided list is too old.")
        items = dict(self._data[key])
        for ev in reversed(self._history):
            if ev.rv <= rv:
                break
            if ev.key != key:
                continue
            k = obj_key(ev.obj)
            if ev.old is None:
                items.pop(k, None)
            else:
                items[k] = ev.old
        return [items[k] for k in sorted(items) if namespace is None or k[0] == namespace]

    # --- reads ------------------------------------------------------------------------------

    def get(self, key: str, namespace: str, name: str) -> Obj | None:
        return self._data[key].get((namespace, name))

    def list(self, key: str, namespace: str | None = None) -> list[Obj]:
        items = self._data[key]
        if namespace is None:
            return [items[k] for k in sorted(items)]
        return [items[k] for k in sorted(items) if k[0] == namespace]

    def count(self) -> int:
        return sum(len(v) for v in self._data.values())

    def resource_keys(self) -> builtins.list[str]:
        return [k for k, v in self._data.items() if v]

    # --- writes -----------------------------------------------------------------------------

    def put(self, key: str, obj: Obj) -> Event:
        """Store obj (its metadata.resourceVersion must already be the next rv)."""
        k = obj_key(obj)
        old = self._data[key].get(k)
        self._data[key][k] = obj
        return self._emit(Event(int(obj["metadata"]["resourceVersion"]), MODIFIED if old else ADDED, key, obj, old))

    def remove(self, key: str, obj: Obj) -> Event:
        """Remove the object; obj is the final state (with the deletion's resourceVersion)."""
        k = obj_key(obj)
        old = self._data[key].pop(k, None)
        return self._emit(Event(int(obj["metadata"]["resourceVersion"]), DELETED, key, obj, old))

    def _emit(self, ev: Event) -> Event:
        if self._history.maxlen and len(self._history) == self._history.maxlen:
            self._compacted_rv = self._history[0].rv
        self._history.append(ev)
        for w in list(self._watchers.get(ev.key, ())):
            w.offer(ev)
        for listener in list(self._listeners):
            try:
                listener(ev)
            except Exception:
                log.exception("store listener failed key=%s", ev.key)
        return ev

    # --- watchers and listeners ---------------------------------------------------------------

    def add_watcher(self, w: Watcher) -> None:
        self._watchers[w.key].add(w)

    def remove_watcher(self, w: Watcher) -> None:
        self._watchers[w.key].discard(w)

    def close_watchers(self) -> None:
        """End every watch stream (server shutdown): each handler finishes its response cleanly."""
        for watchers in self._watchers.values():
            for w in watchers:
                try:
                    w.queue.put_nowait(None)
                except asyncio.QueueFull:
                    w.overflowed = True

    def watcher_count(self) -> int:
        return sum(len(v) for v in self._watchers.values())

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        self._listeners.append(fn)
