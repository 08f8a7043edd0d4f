"""End-to-end XE fixtures: the API emulator, the IOS-XE simulator, fast XE driver timings."""

from __future__ import annotations

import pytest

from hack.iosxe_sim.fixtures import iosxe_sim, iosxe_sim_factory  # noqa: F401
from hack.kubeapi.fixtures import kubeapi  # noqa: F401


@pytest.fixture(autouse=True)
def fast_xe_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """The XE driver built by the factory reads its timings from CVK_XE_* variables."""
    for name, value in {
        "POLL_INTERVAL": "0.3",
        "ACTIVE_INTERVAL": "0.1",
        "RESTART_BACKOFF_BASE": "0.3",
        "RESTART_BACKOFF_MAX": "1",
        "STEP_BACKOFF_MAX": "1",
        "INSTALL_SETTLE_TIMEOUT": "5",
        "REQUEST_TIMEOUT": "3",
        "RETRIES": "1",
        "DELETE_TIMEOUT": "20",
    }.items():
        monkeypatch.setenv(f"CVK_XE_{name}", value)
