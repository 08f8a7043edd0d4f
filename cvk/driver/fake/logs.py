"""What a FAKE container writes to its log, derived from its spec and its run timeline.

For each run: a start line, the command line, one line per env variable (all at the start
instant), a heartbeat line every ``log_interval`` seconds while it runs, and an exit line when it
ends. Lines are computed, not stored, so a container that ran for a week costs nothing; index
arithmetic answers tail and since without generating the whole log.
"""

from __future__ import annotations

import bisect
import math
import shlex
from collections.abc import Iterator

from cvk.driver.fake.apps import App, Run
from cvk.driver.fake.timefmt import rfc3339_nano

Line = tuple[float, str]


class RunLog:
    """The log lines of one run of a container, as a random-access sequence."""

    def __init__(self, app: App, run: Run, interval: float, now: float) -> None:
        self.run = run
        self.interval = interval
        cmd = shlex.join(app.command) if app.command else "(image entrypoint)"
        self.header = [
            f"starting container {app.name} (image {app.image}, IOx app {app.app_id})",
            f"command: {cmd}",
            *(f"env: {k}={v}" for k, v in app.env),
        ]
        end = run.finished_at if run.finished_at is not None else now
        span = max(end - run.started_at, 0.0)
        beats = math.floor(span / interval + 1e-9) if interval > 0 else 0
        if run.finished_at is not None and beats and run.started_at + beats * interval >= run.finished_at:
            beats -= 1  # a heartbeat exactly at the exit instant is not written
        self.beats = beats
        self.footer: list[str] = []
        if run.finished_at is not None:
            if run.reason == "Completed" and run.message:
                self.footer = [f"stopping: {run.message}; exit code {run.exit_code}"]
            else:
                self.footer = [f"exiting with code {run.exit_code}"]

    def __len__(self) -> int:
        return len(self.header) + self.beats + len(self.footer)

    def line(self, i: int) -> Line:
        h = len(self.header)
        if i < h:
            return self.run.started_at, self.header[i]
        if i < h + self.beats:
            k = i - h + 1
            return self.run.started_at + k * self.interval, f"heartbeat {k} (uptime {k * self.interval:g}s)"
        assert self.run.finished_at is not None
        return self.run.finished_at, self.footer[i - h - self.beats]

    def first_at_or_after(self, since: float) -> int:
        """Index of the first line with timestamp >= since."""
        return bisect.bisect_left(_Times(self), since)

    def lines(self, start: int = 0) -> Iterator[Line]:
        for i in range(start, len(self)):
            yield self.line(i)


class _Times:
    def __init__(self, log: RunLog) -> None:
        self.log = log

    def __len__(self) -> int:
        return len(self.log)

    def __getitem__(self, i: int) -> float:
        return self.log.line(i)[0]


def render(line: Line, timestamps: bool) -> bytes:
    ts, text = line
    return (f"{rfc3339_nano(ts)} {text}\n" if timestamps else f"{text}\n").encode()
