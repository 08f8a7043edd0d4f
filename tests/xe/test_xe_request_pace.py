"""Request pace: a step the device refuses is retried with back-off, and while a pod only waits for that
retry the device is read at the normal poll pace, not the fast pace used while work is in progress."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from cvk.config.spec import DeviceSpec, DriverName
from cvk.driver.xe import paths
from cvk.driver.xe.driver import XEDriver
from cvk.driver.xe.oper import OperData, parse_app
from cvk.driver.xe.records import build_pod_record
from cvk.driver.xe.snapshot import Snapshot
from hack.iosxe_sim.fixtures import SimHandle
from tests.xe.helpers import FAST, pod, start_driver, wait_for

# A short poll interval, a far shorter active interval, and a step back-off that reaches its cap soon.
PACE = dataclasses.replace(FAST, poll_interval=0.4, active_interval=0.02, step_backoff_max=1.0)


def _is_install(r: dict[str, Any]) -> bool:
    return r["method"] == "POST" and r["path"].startswith(paths.RPC_APP_HOSTING) and '"install"' in str(
        r["body"]
    ).replace("'", '"')


def _oper_reads(reqs: list[dict[str, Any]]) -> int:
    return sum(1 for r in reqs if r["method"] == "GET" and r["path"].split("?")[0] == paths.OPER)


async def test_a_refused_install_does_not_make_the_driver_poll_fast(iosxe_sim: SimHandle) -> None:
    driver, rec = await start_driver(iosxe_sim, settings=PACE)
    try:
        await driver.create_pod(pod("nopkg", image="flash:/missing.tar"))
        # Back-off after the k-th refusal: 0.02 * 2**(k-1) s, capped at 1 s from the 7th on.
        reqs = await wait_for(
            lambda: (r := iosxe_sim.requests()) and sum(1 for x in r if _is_install(x)) >= 9 and r,
            within=30,
            what="nine refused installs",
        )
        installs = [i for i, r in enumerate(reqs) if _is_install(r)]
        between = reqs[installs[7] + 1 : installs[8]]  # one full 1 s back-off
        # At the active pace (0.02 s) that back-off would cost about 50 oper reads; at the poll pace a few.
        assert _oper_reads(between) <= 6, _oper_reads(between)
        status = rec.latest("nopkg")
        assert status is not None and status["status"].get("reason") == "InstallFailed"
    finally:
        await driver.close()


def _driver_with_installing_app(policy: str) -> XEDriver:
    spec = DeviceSpec(driver=DriverName.XE, address="192.0.2.1", username="admin", password="x")
    driver = XEDriver(spec, settings=PACE)
    p = {
        "metadata": {"namespace": "default", "name": "signed", "uid": "u-1"},
        "spec": {"containers": [{"name": "app", "image": "flash:/unsigned.tar"}]},
    }
    rec = build_pod_record(spec, p, static_ready=False)
    app = rec.containers[0].app_id
    rec.containers[0].observed_state = "INSTALLING"
    driver._pods[rec.uid] = rec
    oper = OperData(
        apps={app: parse_app({"name": app, "details": {"state": "INSTALLING"}, "pkg-policy": policy})},
        notifications=(),
        resources=None,
        iox_enabled=True,
    )
    driver.source.latest = Snapshot(at=time.monotonic(), configs={}, oper=oper)
    return driver


def test_an_app_held_for_its_package_signature_is_polled_at_the_normal_pace() -> None:
    # An install in progress is watched closely; one the device holds for an invalid signature is not.
    assert _driver_with_installing_app("iox-pkg-policy-valid")._pending()
    assert not _driver_with_installing_app("iox-pkg-policy-invalid")._pending()
