"""Audit of cvk.daemon.run: a start failure leaves no task of run() behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cvk.config.spec import DeviceSpec, DriverName, FakeConfig
from cvk.daemon import run
from cvk.errors import ConfigError
from cvk.options import RunOptions


async def test_start_failure_leaves_no_pending_task(tmp_path: Path) -> None:
    spec = DeviceSpec(
        driver=DriverName.FAKE, address="127.0.0.1", username="admin", fake=FakeConfig(state_file=str(tmp_path / "s"))
    )
    opts = RunOptions(node_name="n1", kubeconfig=str(tmp_path / "missing"), kubelet_port=0)
    with pytest.raises(ConfigError):
        await asyncio.wait_for(run(spec, opts, asyncio.Event()), 10)
    await asyncio.sleep(0)
    left = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("cvk-") and not t.done()]
    assert left == []
