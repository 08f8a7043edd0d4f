"""Fixtures for FAKE driver tests: a settable clock and a driver on a temporary state file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cvk.config.spec import DeviceSpec, DriverName, FakeConfig
from cvk.driver.fake import FakeDriver

T0 = 1_800_000_000.0  # a fixed instant: statuses are then fully deterministic


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


def make_spec(state_file: Path, **fake: Any) -> DeviceSpec:
    cfg = FakeConfig(state_file=str(state_file), install_seconds=1.0, activate_seconds=1.0,
                     start_seconds=1.0, log_interval_seconds=5.0, restart_backoff_seconds=10.0)
    for key, value in fake.items():
        setattr(cfg, key, value)
    return DeviceSpec(driver=DriverName.FAKE, address="192.0.2.10", username="admin", fake=cfg)


def make_pod(name: str = "web", uid: str = "0f0e0d0c-0b0a-0908-0706-050403020100",
             containers: list[dict[str, Any]] | None = None, restart_policy: str = "Always",
             namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": uid, "labels": {"app": name},
                     "managedFields": [{"manager": "kubectl"}]},
        "spec": {"nodeName": "n1", "restartPolicy": restart_policy,
                 "containers": containers or [{"name": "main", "image": "nginx:1.25",
                                               "command": ["nginx"], "args": ["-g", "daemon off;"],
                                               "env": [{"name": "GREETING", "value": "hello"}]}]},
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "fake.json"


@pytest.fixture
def new_driver(state_file: Path, clock: Clock) -> Callable[..., FakeDriver]:
    def build(**fake: Any) -> FakeDriver:
        return FakeDriver(make_spec(state_file, **fake), clock=clock)

    return build


@pytest.fixture
def driver(new_driver: Callable[..., FakeDriver]) -> FakeDriver:
    return new_driver()


class Pushed:
    """Records what the driver pushes through notify_pods."""

    def __init__(self) -> None:
        self.pods: list[dict[str, Any]] = []

    def __call__(self, pod: dict[str, Any]) -> None:
        self.pods.append(pod)

    @property
    def last(self) -> dict[str, Any]:
        return self.pods[-1]


@pytest.fixture
def pushed(driver: FakeDriver) -> Pushed:
    rec = Pushed()
    driver.notify_pods(rec)
    return rec


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def read_text(path: Path) -> str:
    return path.read_text()


def write_text(path: Path, text: str) -> None:
    path.write_text(text)


def list_dir(path: Path) -> list[str]:
    return [p.name for p in path.iterdir()]


def state_of(status: dict[str, Any], index: int = 0) -> tuple[str, dict[str, Any]]:
    (kind, detail), = status["containerStatuses"][index]["state"].items()
    return kind, detail
