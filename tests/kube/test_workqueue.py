"""WorkQueue semantics (virtual-kubelet internal/queue): dedupe, no self-concurrency, backoff, retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from cvk.kube.workqueue import PermanentError, WorkQueue

from .helpers import eventually


@asynccontextmanager
async def running(queue: WorkQueue, workers: int = 4) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(queue.run(workers))
    try:
        yield task
    finally:
        queue.shutdown()
        await asyncio.wait_for(task, 5)


class Recorder:
    """A handler that records calls and concurrency, optionally blocking on a gate or failing."""

    def __init__(self, fail: Callable[[str, int], Exception | None] | None = None) -> None:
        self.calls: list[str] = []
        self.active: dict[str, int] = {}
        self.max_active_same_key = 0
        self.max_active = 0
        self.gate: asyncio.Event | None = None
        self.fail = fail

    async def __call__(self, key: str) -> None:
        self.calls.append(key)
        self.active[key] = self.active.get(key, 0) + 1
        self.max_active_same_key = max(self.max_active_same_key, self.active[key])
        self.max_active = max(self.max_active, sum(self.active.values()))
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0)
            err = self.fail(key, self.calls.count(key)) if self.fail else None
            if err is not None:
                raise err
        finally:
            self.active[key] -= 1


def handler_of(rec: Recorder) -> Callable[[str], Awaitable[None]]:
    return rec


async def test_waiting_keys_are_deduplicated() -> None:
    rec = Recorder()
    queue = WorkQueue("t", rec)
    for _ in range(5):
        queue.enqueue("a")
    queue.enqueue("b")
    queue.enqueue_rate_limited("a")
    assert len(queue) == 2
    async with running(queue):
        await eventually(lambda: sorted(rec.calls) == ["a", "b"] and queue.processing == 0 and len(queue) == 0)
    assert sorted(rec.calls) == ["a", "b"]


async def test_key_re_added_while_processing_runs_again_never_concurrently() -> None:
    rec = Recorder()
    rec.gate = asyncio.Event()
    queue = WorkQueue("t", rec)
    async with running(queue, workers=4):
        queue.enqueue("a")
        await eventually(lambda: queue.is_processing("a"))
        queue.enqueue("a")
        queue.enqueue("a")
        queue.enqueue("b")
        await eventually(lambda: rec.calls.count("b") == 1, what="b runs while a is busy")
        # "a" is dirty, not waiting: no second worker may pick it up.
        assert rec.calls.count("a") == 1
        assert rec.max_active_same_key == 1
        rec.gate.set()
        await eventually(lambda: rec.calls.count("a") == 2 and queue.processing == 0)
    assert rec.max_active_same_key == 1
    assert rec.max_active == 2  # different keys do run concurrently


async def test_failures_back_off_exponentially_and_success_resets() -> None:
    rec = Recorder(fail=lambda key, n: RuntimeError(f"fail {n}") if n <= 3 else None)
    queue = WorkQueue("t", rec, base_delay=10.0, max_delay=35.0)
    async with running(queue, workers=1):
        expected = [10.0, 20.0, 35.0]  # 10, 20, 40 capped at 35
        queue.enqueue("a")
        for n, delay in enumerate(expected, start=1):
            await eventually(lambda n=n: rec.calls.count("a") == n and "a" in queue.waiting())
            assert queue.failures("a") == n
            assert delay - 5.0 < queue.waiting()["a"] <= delay  # 5 s of slack for a loaded machine
            queue.enqueue("a")  # moves the planned retry earlier: run it now
        await eventually(lambda: rec.calls.count("a") == 4 and queue.processing == 0)
        assert queue.failures("a") == 0
        assert len(queue) == 0
        # The backoff was reset by the success: a new rate-limited enqueue starts at base_delay again.
        queue.enqueue_rate_limited("a")
        assert 9.0 < queue.waiting()["a"] <= 10.0


async def test_max_retries_then_dropped() -> None:
    rec = Recorder(fail=lambda key, n: RuntimeError("always"))
    queue = WorkQueue("t", rec, max_retries=4, base_delay=0.001)
    async with running(queue):
        queue.enqueue("a")
        await eventually(lambda: queue.dropped == 1)
        await eventually(lambda: queue.processing == 0)
    assert rec.calls == ["a"] * 4
    assert len(queue) == 0
    assert queue.failures("a") == 0


async def test_permanent_error_is_not_retried() -> None:
    rec = Recorder(fail=lambda key, n: PermanentError("bad spec"))
    queue = WorkQueue("t", rec, base_delay=0.001)
    async with running(queue):
        queue.enqueue("a")
        await eventually(lambda: queue.dropped == 1 and queue.processing == 0)
        queue.enqueue("b")
        await eventually(lambda: rec.calls.count("b") == 1 and queue.processing == 0)
    assert rec.calls.count("a") == 1
    assert len(queue) == 0


async def test_failed_key_that_was_re_added_runs_again_even_after_last_retry() -> None:
    rec = Recorder(fail=lambda key, n: RuntimeError("x") if n == 1 else None)
    rec.gate = asyncio.Event()
    queue = WorkQueue("t", rec, max_retries=1, base_delay=0.001)
    async with running(queue):
        queue.enqueue("a")
        await eventually(lambda: queue.is_processing("a"))
        queue.enqueue("a")
        rec.gate.set()
        await eventually(lambda: rec.calls.count("a") == 2 and queue.processing == 0)
    assert queue.dropped == 1


async def test_enqueue_after_and_moving_earlier() -> None:
    rec = Recorder()
    queue = WorkQueue("t", rec)
    async with running(queue):
        queue.enqueue_after("a", 1000)
        queue.enqueue_after("a", 2000)  # later: ignored
        assert 999 < queue.waiting()["a"] <= 1000
        queue.enqueue_after("a", 500)  # earlier: wins
        assert 499 < queue.waiting()["a"] <= 500
        queue.enqueue_after("b", 0.01)
        await eventually(lambda: rec.calls == ["b"])
        assert rec.calls == ["b"] and "a" in queue.waiting()
        queue.enqueue("a")
        await eventually(lambda: rec.calls == ["b", "a"])


async def test_delayed_items_run_in_planned_order() -> None:
    rec = Recorder()
    queue = WorkQueue("t", rec)
    queue.enqueue_after("late", 0.06)
    queue.enqueue_after("early", 0.02)
    queue.enqueue("now")
    async with running(queue, workers=1):
        await eventually(lambda: len(rec.calls) == 3)
    assert rec.calls == ["now", "early", "late"]


async def test_forget_resets_backoff_and_removes_waiting() -> None:
    rec = Recorder()
    queue = WorkQueue("t", rec, base_delay=10.0)
    queue.enqueue_rate_limited("a")
    queue.enqueue_rate_limited("a")
    queue.enqueue_rate_limited("a")
    assert 9 < queue.waiting()["a"] <= 10  # already waiting: stays at the earliest time
    queue.forget("a")
    assert "a" not in queue.waiting() and len(queue) == 0
    queue.enqueue_rate_limited("a")
    assert 9 < queue.waiting()["a"] <= 10  # backoff was reset (else 80 s)
    queue.enqueue_rate_limited("b")
    queue.forget("b")
    async with running(queue):
        queue.enqueue("c")
        await eventually(lambda: rec.calls == ["c"])
    assert "b" not in rec.calls


async def test_forget_while_processing_cancels_retry_and_rerun() -> None:
    rec = Recorder(fail=lambda key, n: RuntimeError("x") if key == "a" else None)
    rec.gate = asyncio.Event()
    queue = WorkQueue("t", rec, base_delay=0.001)
    async with running(queue):
        queue.enqueue("a")
        await eventually(lambda: queue.is_processing("a"))
        queue.enqueue("a")
        queue.forget("a")
        rec.gate.set()
        await eventually(lambda: queue.processing == 0)
        queue.enqueue("z")
        await eventually(lambda: "z" in rec.calls and queue.processing == 0)
    assert rec.calls.count("a") == 1
    assert len(queue) == 0


async def test_shutdown_stops_workers_and_validation() -> None:
    rec = Recorder()
    queue = WorkQueue("t", rec)
    task = asyncio.create_task(queue.run(3))
    queue.enqueue("a")
    await eventually(lambda: rec.calls == ["a"])
    queue.shutdown()
    await asyncio.wait_for(task, 5)
    # Shutdown is final, even when it comes before the workers started.
    other = WorkQueue("t2", rec)
    task = asyncio.create_task(other.run(2))
    other.shutdown()
    await asyncio.wait_for(task, 5)
    with pytest.raises(ValueError):
        await queue.run(0)
    with pytest.raises(ValueError):
        WorkQueue("t", rec, max_retries=0)


async def test_metrics_count_results_and_show_depth_and_in_flight() -> None:
    from prometheus_client import REGISTRY

    def sample(metric: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(metric, labels) or 0.0

    rec = Recorder(fail=lambda key, n: RuntimeError("once") if key == "a" and n == 1 else None)
    rec.gate = asyncio.Event()
    queue = WorkQueue("metrics-test", rec, base_delay=0.001)
    queue.enqueue("a")
    queue.enqueue("b")
    queue.enqueue_after("later", 60)
    assert sample("cisco_vk_workqueue_depth", name="metrics-test") == 3
    async with running(queue, workers=2):
        await eventually(lambda: queue.processing == 2)
        assert sample("cisco_vk_workqueue_in_flight", name="metrics-test") == 2
        assert sample("cisco_vk_workqueue_depth", name="metrics-test") == 1
        rec.gate.set()
        await eventually(lambda: rec.calls.count("a") == 2 and queue.processing == 0)
    assert sample("cisco_vk_workqueue_items_total", name="metrics-test", result="retry") == 1
    assert sample("cisco_vk_workqueue_items_total", name="metrics-test", result="ok") == 2
    assert sample("cisco_vk_workqueue_work_duration_seconds_count", name="metrics-test") == 3
