"""Fault injection rules and the request recorder of the simulator's HTTP front end."""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = ("latency", "status", "unauthorized", "lock", "drop")
WRITE_METHODS = "POST|PUT|PATCH|DELETE"


@dataclass
class Fault:
    """A rule applied to matching requests.

    ``kind``: ``latency`` (sleep ``seconds`` then go on; several may add up), ``status`` (answer
    ``status`` with an errors body), ``unauthorized`` (401), ``lock`` (409 lock-denied), ``drop`` (close
    the connection without an answer). ``method`` and ``path`` are regular expressions matched
    (``fullmatch`` for the method, ``search`` for the path including the query); empty matches all.
    ``count`` is how many requests it still applies to (``None``: until removed).
    """

    kind: str
    method: str = ""
    path: str = ""
    count: int | None = None
    seconds: float = 0.0
    status: int = 503
    tag: str = ""
    message: str = ""
    id: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, got {self.kind!r}")
        if self.kind == "lock" and not self.method:
            self.method = WRITE_METHODS
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error code 400..599")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or omitted for no limit)")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")
        re.compile(self.method)
        re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        if self.method and not re.fullmatch(self.method, method, re.IGNORECASE):
            return False
        return not (self.path and not re.search(self.path, path))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def take(self, method: str, path: str) -> tuple[float, Fault | None]:
        """Total latency of matching latency rules, and the first matching other rule (consumed)."""
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            for f in list(self._faults):
                if not f.matches(method, path):
                    continue
                if f.kind == "latency":
                    delay += f.seconds
                elif chosen is None:
                    chosen = f
                else:
                    continue
                f.hits += 1
                if f.count is not None:
                    f.count -= 1
                    if f.count <= 0:
                        self._faults.remove(f)
        return delay, chosen


@dataclass
class Recorded:
    seq: int
    time: float
    method: str
    path: str  # path with query, as sent
    query: dict[str, str]
    headers: dict[str, str]  # Authorization removed
    body: Any  # parsed JSON when it is JSON, else text ("" when none)
    status: int | None = None  # None when the connection was dropped
    fault: str = ""
    duration: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Every RESTCONF request (not the control endpoint), oldest first, capped at ``limit``."""

    def __init__(self, limit: int = 20000) -> None:
        self._lock = threading.Lock()
        self._items: list[Recorded] = []
        self._seq = itertools.count(1)
        self.limit = limit

    def start(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any) -> Recorded:
        rec = Recorded(next(self._seq), time.time(), method, path, query, headers, body)
        with self._lock:
            self._items.append(rec)
            del self._items[: -self.limit]
        return rec

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._items if r.seq > seq]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
