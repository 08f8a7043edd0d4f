"""CPU and memory figures of FAKE containers: plausible, deterministic per app, slowly varying.

A container uses about 10 % of its CPU request (100m when it has none) with a gentle wave, and
between 30 % and 50 % of its memory request (64Mi when none). The device itself uses 200m and 512Mi.
"""

from __future__ import annotations

import hashlib
import math

from cvk.driver.base import ContainerStats
from cvk.driver.fake.apps import App
from cvk.driver.fake.timefmt import to_datetime

SYSTEM_CPU_NANO_CORES = 200_000_000
SYSTEM_MEMORY_BYTES = 512 * 1024 * 1024


def _seed(app_id: str) -> float:
    return hashlib.sha256(app_id.encode()).digest()[0] / 255.0


def container_stats(app: App, now: float) -> ContainerStats | None:
    run = app.current_run
    if run is None or run.finished_at is not None:
        return None
    seed = _seed(app.app_id)
    uptime = max(now - run.started_at, 0.0)
    base = app.cpu_millis * 1_000_000 * 0.1  # nano-cores
    usage = int(base * (1 + 0.5 * math.sin(now / 30 + seed * 6.28)))
    working_set = int(app.memory_bytes * (0.3 + 0.2 * seed))
    return ContainerStats(
        name=app.name,
        start_time=to_datetime(run.started_at),
        cpu_usage_nano_cores=max(usage, 1),
        cpu_usage_core_nano_seconds=int(base * uptime),
        memory_working_set_bytes=working_set,
        memory_usage_bytes=working_set + app.memory_bytes // 16,
    )
