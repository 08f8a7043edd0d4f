"""CVK_XE_* settings: a zero interval or timeout would mean a busy loop or no timeout at all."""

from __future__ import annotations

import pytest

from cvk.driver.xe.driver import XESettings
from cvk.errors import ConfigError


@pytest.mark.parametrize(
    "name",
    ["CVK_XE_REQUEST_TIMEOUT", "CVK_XE_POLL_INTERVAL", "CVK_XE_ACTIVE_INTERVAL", "CVK_XE_DELETE_TIMEOUT",
     "CVK_XE_INSTALL_SETTLE_TIMEOUT"],
)
def test_zero_intervals_and_timeouts_are_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "0")
    with pytest.raises(ConfigError, match=name):
        XESettings.from_env()


def test_zero_retries_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CVK_XE_RETRIES", "0")
    assert XESettings.from_env().retries == 0


async def test_connect_does_not_wait_on_a_resolver_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import dataclasses

    from cvk.config.spec import DeviceSpec, DriverName
    from cvk.driver.xe.driver import XEDriver

    loop = asyncio.get_running_loop()

    async def never(*args: object, **kwargs: object) -> list[object]:
        await asyncio.Event().wait()
        return []

    monkeypatch.setattr(loop, "getaddrinfo", never)
    spec = DeviceSpec(driver=DriverName.XE, address="switch.example.invalid", username="admin", password="x")
    driver = XEDriver(spec, settings=dataclasses.replace(XESettings(), request_timeout=0.2, poll_interval=30))
    try:
        await asyncio.wait_for(driver.connect(), timeout=10)
    finally:
        await driver.close()
