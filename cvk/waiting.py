"""Waiting on an ``asyncio.Event`` with a time-out, without losing a cancellation.

``asyncio.wait_for`` on Python 3.11 can swallow a ``cancel()`` that arrives while the awaited
event completes (cpython gh-86296, fixed in 3.12 by rebuilding it on ``asyncio.timeout``). In the
daemons' long-running loops a swallowed cancel means a task that never stops, so they wait here.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, seconds: float | None) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass (None: no limit); True when it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
