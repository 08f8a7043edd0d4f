"""Helpers of the XE driver tests: drivers aimed at a simulator, pods, and waiting with a deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from cvk.config.spec import DeviceSpec, DriverName, TLSConfig, XEConfig, XEInterface, XENetworking
from cvk.driver.xe.driver import XEDriver, XESettings
from hack.iosxe_sim.fixtures import SimHandle
from hack.yang.validate import validate

FAST = XESettings(
    poll_interval=0.3,
    active_interval=0.05,
    install_settle_timeout=5.0,
    restart_backoff_base=0.2,
    restart_backoff_max=1.0,
    arp_retry_interval=0.2,
    step_backoff_max=0.5,
    delete_timeout=20.0,
    request_timeout=5.0,
    retries=2,
)


def spec_for(sim: SimHandle, iface: XEInterface | None = None, **kw: Any) -> DeviceSpec:
    return DeviceSpec(
        driver=DriverName.XE,
        address=sim.address,
        port=sim.port,
        username=sim.username,
        password=sim.password,
        tls=TLSConfig(enabled=True, ca_file=sim.ca_file),
        xe=XEConfig(networking=XENetworking(interface=iface)),
        **kw,
    )


class Recorder:
    """The notify_pods callback: every pushed pod, and the latest per pod."""

    def __init__(self) -> None:
        self.pushed: list[dict[str, Any]] = []

    def __call__(self, pod: dict[str, Any]) -> None:
        self.pushed.append(pod)

    def latest(self, name: str) -> dict[str, Any] | None:
        for pod in reversed(self.pushed):
            if pod["metadata"]["name"] == name:
                return pod
        return None

    def count(self, name: str) -> int:
        return sum(1 for p in self.pushed if p["metadata"]["name"] == name)


async def start_driver(
    sim: SimHandle, iface: XEInterface | None = None, settings: XESettings | None = None, **kw: Any
) -> tuple[XEDriver, Recorder]:
    driver = XEDriver(spec_for(sim, iface, **kw), settings=settings or FAST)
    rec = Recorder()
    driver.notify_pods(rec)
    await driver.connect()
    return driver, rec


def pod(
    name: str = "web",
    containers: list[dict[str, Any]] | None = None,
    *,
    namespace: str = "default",
    restart_policy: str = "Always",
    image: str = "flash:/hello.tar",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": namespace, "name": name, "uid": str(uuid.uuid4())},
        "spec": {
            "containers": containers or [{"name": "app", "image": image}],
            "restartPolicy": restart_policy,
        },
    }


async def wait_for(cond: Callable[[], Any], within: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + within
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


def phase_of(rec: Recorder, name: str) -> str | None:
    latest = rec.latest(name)
    return latest["status"]["phase"] if latest else None


def apps_on(sim: SimHandle) -> dict[str, dict[str, Any]]:
    return sim.state.snapshot()


def invalid_requests(sim: SimHandle) -> list[str]:
    """Every recorded write whose body the YANG models reject, or that the device refused with 400."""
    problems = []
    for r in sim.requests():
        path = r["path"].split("?")[0]
        body = r.get("body")
        if r.get("status") == 400:
            problems.append(f"{r['method']} {path} answered 400")
        if not isinstance(body, dict) or not body:
            continue
        if path.startswith("/restconf/operations/"):
            errs = validate(path[len("/restconf/operations/") :], body, kind="rpc-input")
        elif "/apps/app=" in path:
            errs = validate("Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps", body)
        else:
            errs = validate(path[len("/restconf/data/") :], body)
        problems += [f"{r['method']} {path}: {e}" for e in errs]
    return problems
