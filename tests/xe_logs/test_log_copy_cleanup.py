"""Removing the log copy is best effort: a failed removal never loses (or masks) the log read."""

from __future__ import annotations

from typing import Any

import pytest

from cvk.driver.xe.logs import DeviceFiles, fetch_log
from cvk.errors import DeviceRejected, DeviceUnreachable


class _Restconf:
    base_url = "https://cleanup-test:443"

    async def rpc(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"Cisco-IOS-XE-rpc:output": {"result": "Successfully moved log to bootflash:/iox_app1_log.txt"}}


class _Files(DeviceFiles):
    def __init__(self, *, read_error: Exception | None = None) -> None:
        self.read_error = read_error
        self.removed: list[str] = []

    async def read(self, path: str) -> bytes:
        if self.read_error is not None:
            raise self.read_error
        return b"hello\n"

    async def remove(self, path: str) -> None:
        self.removed.append(path)
        raise DeviceUnreachable("SSH connection to the device failed: timed out")


async def test_log_is_returned_when_removing_the_copy_fails() -> None:
    files = _Files()
    data = await fetch_log(_Restconf(), files, "app1")  # type: ignore[arg-type]
    assert data == b"hello\n"
    assert files.removed == ["bootflash:/iox_app1_log.txt"]


async def test_the_read_error_is_reported_not_the_removal_error() -> None:
    files = _Files(read_error=DeviceRejected("reading failed: %Error opening", device_message="%Error opening"))
    with pytest.raises(DeviceRejected, match="reading failed"):
        await fetch_log(_Restconf(), files, "app1")  # type: ignore[arg-type]
    assert files.removed == ["bootflash:/iox_app1_log.txt"]


async def test_per_app_log_locks_do_not_accumulate() -> None:
    from cvk.driver.xe import logs

    class _Quiet(_Files):
        async def remove(self, path: str) -> None:
            return None

    class _Other(_Restconf):
        base_url = "https://lock-test:443"

    for i in range(20):
        await fetch_log(_Other(), _Quiet(), f"app{i}")  # type: ignore[arg-type]
    # One lock per app read at the moment, not one per app ever read (a long-running daemon).
    assert [k for k in list(logs._LOCKS) if k[0] == _Other.base_url] == []
