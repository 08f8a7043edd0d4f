"""cvk.waiting.wait_event: a cancel that arrives as the event is set is never swallowed."""

from __future__ import annotations

import asyncio

import pytest

from cvk.waiting import wait_event


async def test_set_event_and_time_out() -> None:
    ev = asyncio.Event()
    assert await wait_event(ev, 0.01) is False
    ev.set()
    assert await wait_event(ev, 0.01) is True
    assert await wait_event(ev, None) is True


async def test_cancel_racing_with_set_still_cancels() -> None:
    """Python 3.11's asyncio.wait_for returns normally in this race (gh-86296); a loop built on it
    would never stop. Every one of these waits must end in CancelledError."""
    for _ in range(50):
        ev = asyncio.Event()
        task = asyncio.create_task(wait_event(ev, 10))
        await asyncio.sleep(0)  # the task now waits on the event
        ev.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
