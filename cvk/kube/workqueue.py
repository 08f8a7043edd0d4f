"""A delayed, rate-limited work queue of string keys (virtual-kubelet's ``internal/queue``).

- A key is waiting at most once: enqueueing a waiting key only ever moves its planned time
  *earlier*. Items run in order of planned time.
- A key is never processed concurrently with itself. Enqueueing a key that is being processed marks
  it "dirty": it runs again after the current run finishes (whatever that run's outcome).
- A handler exception requeues the key with per-key exponential backoff
  (``base_delay * 2**n``, capped at ``max_delay``) until it has run ``max_retries`` times, then the
  key is dropped with an error log. ``PermanentError`` drops it at once. Success resets the backoff.
- ``forget(key)`` resets the backoff, removes the key if waiting, and cancels the retry and the
  re-run of a key being processed (it runs again only if enqueued after the forget).

Not thread-safe: call it from the event loop (use ``loop.call_soon_threadsafe`` from threads).

Metrics (served on the kubelet API's ``/metrics``): ``cisco_vk_workqueue_depth`` and
``cisco_vk_workqueue_in_flight`` (read from the live queues at scrape time),
``cisco_vk_workqueue_items_total{name,result}`` (ok, retry, dropped) and
``cisco_vk_workqueue_work_duration_seconds{name}``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from cvk.errors import CvkError
from cvk.waiting import wait_event

log = logging.getLogger(__name__)


class PermanentError(Exception):
    """Raised by a handler when retrying the same key cannot help: the key is dropped."""


ITEMS = Counter(
    "cisco_vk_workqueue_items_total", "Work queue handler runs, by queue and result (ok, retry, dropped).",
    ["name", "result"],
)
WORK_SECONDS = Histogram(
    "cisco_vk_workqueue_work_duration_seconds", "Duration of one handler run, by queue.", ["name"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 120.0),
)
_LIVE: weakref.WeakSet[WorkQueue] = weakref.WeakSet()


class _QueueCollector:
    """Depth and in-flight keys, read from the live queues when scraped (summed per queue name)."""

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("cisco_vk_workqueue_depth", "Keys waiting in a work queue (due or delayed).",
                                  labels=["name"])
        busy = GaugeMetricFamily("cisco_vk_workqueue_in_flight", "Keys being processed by a work queue.",
                                 labels=["name"])
        totals: dict[str, tuple[int, int]] = {}
        for q in list(_LIVE):
            waiting, processing = totals.get(q.name, (0, 0))
            totals[q.name] = (waiting + len(q), processing + q.processing)
        for name, (waiting, processing) in sorted(totals.items()):
            depth.add_metric([name], waiting)
            busy.add_metric([name], processing)
        yield depth
        yield busy

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration; collect() runs at scrape time only


REGISTRY.register(_QueueCollector())


class WorkQueue:
    def __init__(
        self,
        name: str,
        handler: Callable[[str], Awaitable[None]],
        *,
        max_retries: int = 20,
        base_delay: float = 0.005,
        max_delay: float = 1000.0,
    ) -> None:
        if max_retries < 1:
            raise ValueError("max_retries must be at least 1")
        if base_delay < 0 or max_delay < base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")
        self.name = name
        self._handler = handler
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._waiting: dict[str, tuple[float, int]] = {}  # key -> (planned time, heap sequence)
        self._heap: list[tuple[float, int, str]] = []  # may hold stale entries (checked on pop)
        self._seq = itertools.count()
        self._processing: set[str] = set()
        self._dirty: dict[str, float] = {}  # processing keys enqueued again -> planned time
        self._forgotten: set[str] = set()  # processing keys forgotten: no retry
        self._backoff: dict[str, int] = {}  # rate-limiter exponent per key
        self._failures: dict[str, int] = {}  # consecutive failed runs per key
        self._wake = asyncio.Event()
        self._shutdown = False
        self.processed = 0  # handler runs, for metrics and tests
        self.retried = 0
        self.dropped = 0
        _LIVE.add(self)

    # ----------------------------------------------------------------------------- producers

    def enqueue(self, key: str) -> None:
        """Run ``key`` as soon as a worker is free."""
        self._insert(key, time.monotonic())

    def enqueue_after(self, key: str, delay: float) -> None:
        """Run ``key`` after ``delay`` seconds (or earlier if it is already planned earlier)."""
        self._insert(key, time.monotonic() + max(0.0, delay))

    def enqueue_rate_limited(self, key: str) -> None:
        """Run ``key`` after its exponential per-key delay (grows until ``forget`` or a success)."""
        self._insert(key, time.monotonic() + self._next_backoff(key))

    def forget(self, key: str) -> None:
        """Reset the key's backoff; drop it if waiting; cancel the retry/re-run of a running key."""
        self._backoff.pop(key, None)
        self._failures.pop(key, None)
        self._waiting.pop(key, None)
        self._dirty.pop(key, None)
        if key in self._processing:
            self._forgotten.add(key)

    def shutdown(self) -> None:
        """Stop the workers for good: each finishes its current key, waiting keys are abandoned.

        Final: ``run`` returns at once on a queue that was shut down (even before it started)."""
        self._shutdown = True
        self._notify()

    # ----------------------------------------------------------------------------- introspection

    def __len__(self) -> int:
        """Keys waiting (due or delayed), not counting the ones being processed."""
        return len(self._waiting)

    @property
    def processing(self) -> int:
        return len(self._processing)

    def is_processing(self, key: str) -> bool:
        return key in self._processing

    def waiting(self) -> dict[str, float]:
        """Waiting keys and the seconds until each is due (0 when due now)."""
        now = time.monotonic()
        return {key: max(0.0, planned - now) for key, (planned, _) in self._waiting.items()}

    def failures(self, key: str) -> int:
        """Consecutive failed runs of ``key`` so far."""
        return self._failures.get(key, 0)

    # ----------------------------------------------------------------------------- workers

    async def run(self, workers: int) -> None:
        """Process keys with ``workers`` concurrent workers until ``shutdown()`` (or cancellation)."""
        if workers < 1:
            raise ValueError("workers must be at least 1")
        tasks = [asyncio.create_task(self._worker(i), name=f"workqueue-{self.name}-{i}") for i in range(workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _worker(self, worker_id: int) -> None:
        while True:
            key = await self._next()
            if key is None:
                return
            await self._process(key, worker_id)

    async def _next(self) -> str | None:
        while True:
            if self._shutdown:
                return None
            now = time.monotonic()
            timeout: float | None = None
            while self._heap:
                planned, seq, key = self._heap[0]
                if self._waiting.get(key) != (planned, seq):
                    heapq.heappop(self._heap)  # stale: moved earlier or forgotten
                    continue
                if planned <= now:
                    heapq.heappop(self._heap)
                    del self._waiting[key]
                    return key
                timeout = planned - now
                break
            wake = self._wake
            await wait_event(wake, timeout)

    async def _process(self, key: str, worker_id: int) -> None:
        self._processing.add(key)
        attempt = self._failures.get(key, 0) + 1
        retry_at: float | None = None
        self.processed += 1
        result = "ok"
        started = time.monotonic()
        try:
            await self._handler(key)
        except asyncio.CancelledError:
            self._processing.discard(key)
            self._forgotten.discard(key)
            raise
        except PermanentError as err:
            result = "dropped"
            self.dropped += 1
            log.error("work item dropped queue=%s key=%s error=%s", self.name, key, err)
            self._reset(key)
        except Exception as err:
            if key in self._forgotten:
                result = "dropped"
                log.info("work item failed after forget queue=%s key=%s error=%s", self.name, key, err)
                self._reset(key)
            elif attempt >= self.max_retries:
                result = "dropped"
                self.dropped += 1
                log.error(
                    "work item dropped: maximum retries (%d) reached queue=%s key=%s error=%s",
                    self.max_retries,
                    self.name,
                    key,
                    err,
                    exc_info=not isinstance(err, CvkError),
                )
                self._reset(key)
            else:
                result = "retry"
                self.retried += 1
                self._failures[key] = attempt
                delay = self._next_backoff(key)
                retry_at = time.monotonic() + delay
                log.warning(
                    "work item failed, retrying queue=%s key=%s worker=%d requeues=%d delay=%.3f error=%s",
                    self.name,
                    key,
                    worker_id,
                    attempt,
                    delay,
                    err,
                    exc_info=not isinstance(err, CvkError),
                )
        else:
            self._reset(key)
        finally:
            self._processing.discard(key)
            self._forgotten.discard(key)
        ITEMS.labels(self.name, result).inc()
        WORK_SECONDS.labels(self.name).observe(time.monotonic() - started)
        dirty = self._dirty.pop(key, None)
        planned = [t for t in (retry_at, dirty) if t is not None]
        if planned and not self._shutdown:
            self._insert(key, min(planned))

    # ----------------------------------------------------------------------------- internals

    def _reset(self, key: str) -> None:
        self._backoff.pop(key, None)
        self._failures.pop(key, None)

    def _next_backoff(self, key: str) -> float:
        exp = self._backoff.get(key, 0)
        self._backoff[key] = exp + 1
        if exp > 64:
            return self.max_delay
        return float(min(self.max_delay, self.base_delay * 2**exp))

    def _insert(self, key: str, planned: float) -> None:
        if key in self._processing:
            current = self._dirty.get(key)
            if current is None or planned < current:
                self._dirty[key] = planned
            return
        existing = self._waiting.get(key)
        if existing is not None and existing[0] <= planned:
            return
        seq = next(self._seq)
        self._waiting[key] = (planned, seq)
        heapq.heappush(self._heap, (planned, seq, key))
        if len(self._heap) > 2 * len(self._waiting) + 64:
            self._heap = [(p, s, k) for k, (p, s) in self._waiting.items()]
            heapq.heapify(self._heap)
        self._notify()

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()
