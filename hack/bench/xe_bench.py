"""XE driver benchmark against the in-process IOS-XE simulator. Prints numbers; asserts nothing.

- device requests per pod lifecycle (create → Running → delete → nothing left), by method;
- device requests per minute with 1 and 16 steady (Running) pods;
- latency from the simulator marking an app RUNNING to the driver's notify_pods callback showing
  the pod Running;
- with ``--api N``: the same latency end to end, to the API pod showing Running, for N pods created
  through the API emulator and run by the cisco-vk daemon (in this process, XE driver defaults).

Run: ``.venv/bin/python -m hack.bench.xe_bench [--window 60] [--poll 5] [--active 1] [--api 8]``.
The default timings are the driver's own defaults (poll 5 s, 1 s while something is in progress).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cvk.config.spec import DeviceSpec, DriverName, TLSConfig
from cvk.driver.xe import naming
from cvk.driver.xe.driver import XEDriver, XESettings
from hack.iosxe_sim.fixtures import SimHandle, start_sim
from hack.iosxe_sim.state import RUNNING, App, DeviceState


def _pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "bench", "name": name, "uid": str(uuid.uuid4())},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "flash:/bench.tar",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "64Mi"}},
                }
            ],
            "restartPolicy": "Always",
        },
    }


class Marks:
    """When the simulator set each app RUNNING (monotonic and wall clock; same process)."""

    def __init__(self) -> None:
        self.running_at: dict[str, float] = {}
        self.running_wall: dict[str, float] = {}
        original = DeviceState._set_state
        marks = self

        def patched(state: DeviceState, app: App, new: str, detail: str = "") -> None:
            original(state, app, new, detail)
            if new == RUNNING:
                marks.running_at.setdefault(app.app_id, time.monotonic())
                marks.running_wall.setdefault(app.app_id, time.time())

        DeviceState._set_state = patched  # type: ignore[method-assign]


def _count(sim: SimHandle, since: int) -> tuple[collections.Counter[str], int]:
    reqs = sim.requests(since)
    counts = collections.Counter(r["method"] for r in reqs)
    last = reqs[-1]["seq"] if reqs else since
    return counts, last


def _last_seq(sim: SimHandle) -> int:
    reqs = sim.requests()
    return int(reqs[-1]["seq"]) if reqs else 0


async def _wait(cond: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.01)


async def run(window: float, settings: XESettings, marks: Marks) -> None:
    with tempfile.TemporaryDirectory(prefix="xe-bench-") as tmp:
        sim = start_sim(Path(tmp), files={"flash:/bench.tar": b"IOX-PACKAGE"})
        try:
            spec = DeviceSpec(
                driver=DriverName.XE,
                address=sim.address,
                port=sim.port,
                username=sim.username,
                password=sim.password,
                tls=TLSConfig(enabled=True, ca_file=sim.ca_file),
                max_pods=32,
            )
            driver = XEDriver(spec, settings=settings)
            notified: dict[str, float] = {}

            def on_pod(pod: dict[str, Any]) -> None:
                if pod["status"]["phase"] == "Running":
                    notified.setdefault(pod["metadata"]["name"], time.monotonic())

            driver.notify_pods(on_pod)
            await driver.connect()
            print(f"xe_bench: poll={settings.poll_interval}s active={settings.active_interval}s window={window}s")

            # 1. One pod lifecycle.
            seq = _last_seq(sim)
            p = _pod("life")
            started = time.monotonic()
            await driver.create_pod(p)
            await _wait(lambda: "life" in notified, 120)
            await driver.delete_pod(p)
            took = time.monotonic() - started
            counts, _ = _count(sim, seq)
            total = sum(counts.values())
            print(
                f"requests per pod lifecycle (create→Running→deleted, {took:.1f}s): {total} "
                f"({', '.join(f'{m} {n}' for m, n in sorted(counts.items()))})"
            )

            # 2. Steady pods, 1 then 16.
            latencies: list[float] = []
            live: list[dict[str, Any]] = []
            for target in (1, 16):
                while len(live) < target:
                    live.append(_pod(f"steady{len(live)}"))
                    await driver.create_pod(live[-1])
                await _wait(lambda: all(x["metadata"]["name"] in notified for x in live), 300)
                await asyncio.sleep(settings.poll_interval * 2)  # let IP discovery and pushes settle
                seq = _last_seq(sim)
                await asyncio.sleep(window)
                counts, _ = _count(sim, seq)
                per_min = sum(counts.values()) * 60.0 / window
                print(
                    f"requests per minute, {target:2d} steady pod(s): {per_min:.1f} "
                    f"({', '.join(f'{m} {n * 60.0 / window:.1f}' for m, n in sorted(counts.items()))})"
                )
            for x in [p, *live]:
                app_id = naming.app_id(x["metadata"]["name"], x["metadata"]["uid"], "app")
                name = x["metadata"]["name"]
                if app_id in marks.running_at and name in notified:
                    latencies.append(notified[name] - marks.running_at[app_id])
            if latencies:
                latencies.sort()
                p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
                print(
                    f"latency simulator RUNNING → notify Running over {len(latencies)} pods: "
                    f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                    f"max {latencies[-1] * 1000:.0f} ms"
                )
            for x in live:
                await driver.delete_pod(x)
            print(f"apps left on the device: {len(sim.state.snapshot())}")
            await driver.close()
        finally:
            sim.stop()


async def api_latency(pods: int, marks: Marks) -> None:
    """Simulator RUNNING → API pod Running through the API emulator and the cisco-vk daemon."""
    from cvk.daemon import Daemon
    from cvk.kube import paths
    from cvk.kube.client import KubeClient
    from cvk.kube.config import load_config
    from cvk.options import RunOptions
    from hack.kubeapi.server import KubeAPIServer

    node = "xe-bench"
    with tempfile.TemporaryDirectory(prefix="xe-bench-api-") as tmp:
        sim = start_sim(Path(tmp) / "sim", files={"flash:/bench.tar": b"IOX-PACKAGE"})
        server = KubeAPIServer()
        await server.start()
        kubeconfig = str(server.write_kubeconfig(Path(tmp) / "kubeconfig"))
        client = KubeClient(load_config(kubeconfig))
        spec = DeviceSpec(
            driver=DriverName.XE,
            address=sim.address,
            port=sim.port,
            username=sim.username,
            password=sim.password,
            tls=TLSConfig(enabled=True, ca_file=sim.ca_file),
            max_pods=32,
        )
        opts = RunOptions(node_name=node, kubeconfig=kubeconfig, kubelet_port=0, kubelet_address="127.0.0.1",
                          node_ip="127.0.0.1")  # fmt: skip
        daemon = Daemon(spec, opts)
        running: dict[str, float] = {}
        uids: dict[str, str] = {}
        try:
            await daemon.start()

            async def watch() -> None:
                listing = await client.list(paths.pods("bench"))
                rv = listing["metadata"]["resourceVersion"]
                while True:
                    async for ev in client.watch(paths.pods("bench"), resource_version=rv):
                        obj = ev.object
                        rv = (obj.get("metadata") or {}).get("resourceVersion", rv)
                        if (obj.get("status") or {}).get("phase") == "Running":
                            running.setdefault(obj["metadata"]["name"], time.time())
                            uids[obj["metadata"]["name"]] = obj["metadata"]["uid"]

            watcher = asyncio.create_task(watch())
            await client.create(paths.namespaces(), {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": "bench"}})  # fmt: skip
            for i in range(pods):
                body = _pod(f"api{i}")
                body["metadata"].pop("uid")
                body["spec"]["nodeName"] = node
                body["spec"]["tolerations"] = [{"key": "virtual-kubelet.io/provider", "operator": "Exists"}]
                await client.create(paths.pods("bench"), body)
            await _wait(lambda: len(running) >= pods, 300)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            lat = sorted(
                running[n] - marks.running_wall[a]
                for n in running
                if (a := naming.app_id(n, uids[n], "app")) in marks.running_wall
            )
            if lat:
                print(
                    f"latency simulator RUNNING → API pod Running over {len(lat)} pods (daemon, API emulator): "
                    f"median {statistics.median(lat) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
                )
        finally:
            await daemon.stop()
            await client.close()
            await server.stop()
            sim.stop()


def main() -> None:
    defaults = XESettings()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--window", type=float, default=60.0,
                    help="seconds of steady state measured per pod count (60: one whole config-refresh cycle)")
    ap.add_argument("--poll", type=float, default=defaults.poll_interval, help="driver poll interval (s)")
    ap.add_argument("--active", type=float, default=defaults.active_interval, help="interval while busy (s)")
    ap.add_argument("--api", type=int, default=0, help="also measure RUNNING → API Running for N pods")
    args = ap.parse_args()
    settings = XESettings(poll_interval=args.poll, active_interval=args.active)
    marks = Marks()
    asyncio.run(run(args.window, settings, marks))
    if args.api:
        asyncio.run(api_latency(args.api, marks))


if __name__ == "__main__":
    main()
