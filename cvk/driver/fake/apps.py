"""One IOx app per container: the app-hosting state machine of the FAKE device.

INSTALLING -> DEPLOYED -> ACTIVATED -> RUNNING, then STOPPED when the app exits (or is stopped),
ERROR when the install fails. Every transition happens at a computed instant (state start plus the
configured duration), so ``advance(now)`` gives the same result whether it runs every 100 ms or
once after cisco-vk was down for an hour: the device keeps living while nobody watches.

Restarts follow the pod's restartPolicy with Kubernetes-like exponential back-off; a failed install
is retried with the same back-off (like an image pull).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

MIN_BACKOFF = 0.01  # seconds; keeps a zero-length crash loop from spinning in one instant
MAX_STEPS = 100_000  # transitions applied per advance(): bounds a catch-up after a long absence


class AppState(enum.StrEnum):
    INSTALLING = "INSTALLING"
    DEPLOYED = "DEPLOYED"
    ACTIVATED = "ACTIVATED"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


@dataclasses.dataclass(frozen=True)
class Timings:
    install: float = 0.5
    activate: float = 0.3
    start: float = 0.2
    restart_backoff: float = 1.0
    log_interval: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Delay before restart number ``attempt + 1``: doubles each time, capped at 30x the base."""
        base = max(self.restart_backoff, MIN_BACKOFF)
        return float(min(base * (2 ** min(attempt, 16)), base * 30))


@dataclasses.dataclass
class Run:
    """One execution of the container (Kubernetes counts these with restartCount)."""

    started_at: float
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str | None = None  # Completed | Error | Stopped
    message: str | None = None


@dataclasses.dataclass
class Behaviour:
    """How the fake process behaves: exit with ``exit_code`` ``exit_after`` seconds after start
    (None: run until stopped)."""

    exit_code: int = 0
    exit_after: float | None = None


@dataclasses.dataclass
class App:
    name: str  # container name
    app_id: str
    image: str
    command: list[str]
    env: list[tuple[str, str]]
    behaviour: Behaviour
    created_at: float
    state: AppState = AppState.INSTALLING
    state_since: float = 0.0
    restart_count: int = 0
    install_attempts: int = 0
    runs: list[Run] = dataclasses.field(default_factory=list)  # at most two: previous and current
    next_attempt_at: float | None = None  # a restart (STOPPED) or install retry (ERROR) is scheduled
    error: str | None = None
    cpu_millis: int = 100
    memory_bytes: int = 64 * 1024 * 1024

    @property
    def current_run(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def previous_run(self) -> Run | None:
        return self.runs[-2] if len(self.runs) > 1 else None

    # ---- transitions -----------------------------------------------------------------------
    def _enter(self, state: AppState, at: float) -> None:
        self.state = state
        self.state_since = at

    def _start_run(self, at: float) -> None:
        self._enter(AppState.RUNNING, at)
        self.runs.append(Run(started_at=at))
        del self.runs[:-2]
        self.next_attempt_at = None

    def _finish_run(self, at: float, code: int, reason: str, message: str | None,
                    restart_policy: str, timings: Timings, may_restart: bool) -> None:
        run = self.current_run
        assert run is not None
        run.finished_at, run.exit_code, run.reason, run.message = at, code, reason, message
        self._enter(AppState.STOPPED, at)
        restart = may_restart and (
            restart_policy == "Always" or (restart_policy == "OnFailure" and code != 0))
        self.next_attempt_at = at + timings.backoff(self.restart_count) if restart else None

    def advance(self, now: float, timings: Timings, restart_policy: str, fail_installs: bool) -> bool:
        """Apply every transition due by ``now``. Returns True when anything changed."""
        changed = False
        for _step in range(MAX_STEPS):
            if self.state == AppState.INSTALLING:
                due = self.state_since + timings.install
                if now < due:
                    break
                self.install_attempts += 1
                if fail_installs:
                    self.error = (f"install of {self.image} failed: package rejected by the device "
                                  f"(attempt {self.install_attempts})")
                    self._enter(AppState.ERROR, due)
                    self.next_attempt_at = due + timings.backoff(self.install_attempts - 1)
                else:
                    self.error = None
                    self._enter(AppState.DEPLOYED, due)
            elif self.state == AppState.DEPLOYED:
                due = self.state_since + timings.activate
                if now < due:
                    break
                self._enter(AppState.ACTIVATED, due)
            elif self.state == AppState.ACTIVATED:
                due = self.state_since + timings.start
                if now < due:
                    break
                self._start_run(due)
            elif self.state == AppState.RUNNING:
                run = self.current_run
                if run is None or self.behaviour.exit_after is None:
                    break
                due = run.started_at + self.behaviour.exit_after
                if now < due:
                    break
                code = self.behaviour.exit_code
                self._finish_run(due, code, "Completed" if code == 0 else "Error", None,
                                 restart_policy, timings, may_restart=True)
            elif self.state == AppState.STOPPED:
                if self.next_attempt_at is None or now < self.next_attempt_at:
                    break
                self.restart_count += 1
                self._start_run(self.next_attempt_at)
            else:  # ERROR: retry the install after the back-off
                if self.next_attempt_at is None or now < self.next_attempt_at:
                    break
                self._enter(AppState.INSTALLING, self.next_attempt_at)
                self.next_attempt_at = None
            changed = True
        return changed

    def stop(self, now: float, message: str) -> None:
        """Stop the app for good (pod deletion): the current run ends with exit code 0."""
        if self.state == AppState.RUNNING:
            self._finish_run(now, 0, "Completed", message, "Never", Timings(), may_restart=False)
        self.next_attempt_at = None
        if self.state != AppState.STOPPED:
            self._enter(AppState.STOPPED, now)

    def replace_image(self, image: str, now: float) -> None:
        """A pod update changed the image: stop the current run and reinstall (restartCount + 1)."""
        if self.state == AppState.RUNNING:
            self._finish_run(now, 0, "Completed", f"image changed to {image}", "Never", Timings(),
                             may_restart=False)
        if self.runs:
            self.restart_count += 1
        self.image = image
        self.next_attempt_at = None
        self._enter(AppState.INSTALLING, now)

    def next_due(self, timings: Timings) -> float | None:
        """When the next transition is due (None: nothing scheduled)."""
        if self.state == AppState.INSTALLING:
            return self.state_since + timings.install
        if self.state == AppState.DEPLOYED:
            return self.state_since + timings.activate
        if self.state == AppState.ACTIVATED:
            return self.state_since + timings.start
        if self.state == AppState.RUNNING:
            run = self.current_run
            if run is None or self.behaviour.exit_after is None:
                return None
            return run.started_at + self.behaviour.exit_after
        return self.next_attempt_at

    # ---- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["env"] = [[k, v] for k, v in self.env]
        d["state"] = str(self.state)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> App:
        d = dict(d)
        d["env"] = [(str(k), str(v)) for k, v in d.get("env", [])]
        d["state"] = AppState(d["state"])
        d["behaviour"] = Behaviour(**d["behaviour"])
        d["runs"] = [Run(**r) for r in d.get("runs", [])]
        return cls(**d)
