"""Secrets never reach logs or errors: a whole pod lifecycle with faults, logged at DEBUG, and the
errors of refused credentials, never show the device password or the Basic authorization token."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

import pytest

from cvk.errors import DeviceAuthError
from hack.iosxe_sim.fixtures import SimHandle
from tests.xe.helpers import phase_of, pod, start_driver, wait_for

FILES = {"flash:/hello.tar": b"IOX-PACKAGE"}
SECRET = "S3cr3t-Pa55word"


def _leaks(text: str, username: str) -> list[str]:
    token = base64.b64encode(f"{username}:{SECRET}".encode()).decode()
    return [s for s in (SECRET, token) if s in text]


async def test_no_secret_in_logs_or_errors_through_a_lifecycle_with_faults(
    iosxe_sim_factory: Callable[..., SimHandle], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = iosxe_sim_factory(files=FILES, password=SECRET)
    assert sim.password == SECRET
    sim.control.fail(status=503, count=5, method="POST", path="operations")
    sim.control.drop(count=2, method="GET", path="oper")
    driver, rec = await start_driver(sim)
    errors: list[str] = []
    try:
        p = pod("quiet")
        await driver.create_pod(p)
        await wait_for(lambda: phase_of(rec, "quiet") == "Running", within=30, what="Running after faults")
        await driver.delete_pod(p)
        sim.control.set_credentials(sim.username, "another-one")  # now ours are refused
        for call in (driver.ping, driver.source.take):
            try:
                await call()
            except DeviceAuthError as e:
                errors.append(str(e))
    finally:
        await driver.close()
    assert errors, "refused credentials were not reported"
    assert _leaks(caplog.text, sim.username) == []
    assert _leaks("\n".join(errors), sim.username) == []
