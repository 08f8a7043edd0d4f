"""Status stability while a pod is deleted: a container already gone keeps one finishedAt, so the
pushes that follow (the other containers walking back) do not carry a new time each pass."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from cvk.driver.xe import status as status_module
from hack.iosxe_sim.fixtures import SimHandle
from tests.xe.helpers import pod, start_driver, wait_for

FILES = {"flash:/hello.tar": b"IOX-PACKAGE"}


async def test_a_deleted_container_keeps_its_finished_at(
    iosxe_sim_factory: Callable[..., SimHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = itertools.count()

    def clock() -> str:  # every reading gives a new time, as if each pass ran a second after the last
        n = next(ticks)
        return f"2030-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"

    monkeypatch.setattr(status_module, "now_rfc3339", clock)
    sim = iosxe_sim_factory(files=FILES)
    driver, rec = await start_driver(sim)
    try:
        p = pod(
            "pair",
            [
                {"name": "runs", "image": "flash:/hello.tar"},
                {"name": "never", "image": "flash:/missing.tar"},  # never installs: removed at once
            ],
        )
        await driver.create_pod(p)

        def runs_and_refused() -> bool:
            latest = rec.latest("pair")
            if latest is None:
                return False
            states = {c["name"]: c["state"] for c in latest["status"]["containerStatuses"]}
            return "running" in states["runs"] and states["never"].get("waiting", {}).get("reason") == "InstallFailed"

        await wait_for(runs_and_refused, what="one container running, one refused")
        mark = len(rec.pushed)
        await driver.delete_pod(p)
        finished = []
        for pushed in rec.pushed[mark:]:
            never = next(c for c in pushed["status"]["containerStatuses"] if c["name"] == "never")
            term = never["state"].get("terminated")
            if term is not None:
                finished.append(term["finishedAt"])
        assert finished, "the removed container was never shown terminated"
        assert len(set(finished)) == 1, finished
    finally:
        await driver.close()
