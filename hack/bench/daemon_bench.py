"""Benchmark of the cisco-vk daemon on the FAKE driver (prints numbers; asserts nothing).

    .venv/bin/python -m hack.bench.daemon_bench [--pods 16] [--window 60]

Runs the API emulator in this process and cisco-vk (``cvk.daemon.Daemon``, production intervals:
lease 10 s, node status 60 s, ping 10 s) in a child process, then reports:

- latency from the FAKE app reaching RUNNING (the driver's notification) to the API pod showing
  ``phase=Running`` (p50, p99);
- time from pod creation in the API to the driver's ``create_pod`` call (p50, p99);
- API requests per minute sent by cisco-vk while idle, and with ``--pods`` steady pods;
- resident memory (VmRSS) of the cisco-vk process idle and with the pods.

The child instruments the driver (create_pod calls, notifications of Running) and writes its
figures to a JSON file on SIGUSR1; both processes use the same wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------- child
async def child_main(kubeconfig: str, state_file: str, stats_file: str, node: str) -> None:
    from cvk.config.spec import DeviceSpec, DriverName, FakeConfig
    from cvk.daemon import Daemon
    from cvk.driver.base import Pod
    from cvk.options import RunOptions

    spec = DeviceSpec(
        driver=DriverName.FAKE,
        address="127.0.0.1",
        username="admin",
        max_pods=64,
        fake=FakeConfig(state_file=state_file),
    )
    opts = RunOptions(node_name=node, kubeconfig=kubeconfig, kubelet_port=0, kubelet_address="127.0.0.1",
                      node_ip="127.0.0.1")  # fmt: skip
    daemon = Daemon(spec, opts)
    created: dict[str, float] = {}
    running: dict[str, float] = {}
    added: dict[str, float] = {}
    original_factory = None

    import cvk.daemon as daemon_mod

    original_factory = daemon_mod.new_driver

    def instrumented(s: DeviceSpec) -> Any:
        driver = original_factory(s)
        create = driver.create_pod
        notify = driver.notify_pods

        async def create_pod(pod: Pod) -> None:
            meta = pod["metadata"]
            created.setdefault(f"{meta['namespace']}/{meta['name']}", time.time())
            await create(pod)

        def notify_pods(callback: Any) -> None:
            def wrapped(pod: Pod) -> None:
                meta = pod["metadata"]
                if (pod.get("status") or {}).get("phase") == "Running":
                    running.setdefault(f"{meta['namespace']}/{meta['name']}", time.time())
                callback(pod)

            notify(wrapped)

        driver.create_pod = create_pod  # type: ignore[method-assign]
        driver.notify_pods = notify_pods  # type: ignore[method-assign]
        return driver

    daemon_mod.new_driver = instrumented
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def dump() -> None:
        client = daemon.client
        Path(stats_file).write_text(
            json.dumps(
                {
                    "requests": client.requests_total if client else 0,
                    "by_verb": {f"{v} {r}": n for (v, r), n in (client.metrics if client else {}).items()},
                    "created": created,
                    "added": added,
                    "running": running,
                    "ready": daemon.started.is_set(),
                }
            )
        )

    loop.add_signal_handler(signal.SIGUSR1, dump)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await daemon.start()
    assert daemon.pods is not None

    def on_add(pod: Pod) -> None:
        meta = pod["metadata"]
        added.setdefault(f"{meta['namespace']}/{meta['name']}", time.time())

    daemon.pods.informer.add_handler(on_add=on_add)
    dump()
    await stop.wait()
    await daemon.stop()


# ------------------------------------------------------------------------------------- parent
def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class Child:
    def __init__(self, workdir: Path, kubeconfig: str, node: str) -> None:
        self.stats_file = workdir / "stats.json"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hack.bench.daemon_bench", "--child", kubeconfig,
             str(workdir / "fake.json"), str(self.stats_file), node],
            cwd=REPO,
            stdout=open(workdir / "cisco-vk.log", "wb"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def stats(self) -> dict[str, Any]:
        before = self.stats_file.stat().st_mtime_ns if self.stats_file.exists() else 0
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(200):
            await asyncio.sleep(0.025)
            if self.stats_file.exists() and self.stats_file.stat().st_mtime_ns != before:
                with contextlib.suppress(ValueError):
                    return dict(json.loads(self.stats_file.read_text()))
        raise RuntimeError("the cisco-vk child did not write its figures")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def parent_main(pods: int, window: float) -> None:
    from cvk.kube import paths
    from cvk.kube.client import KubeClient
    from cvk.kube.config import load_config
    from hack.kubeapi.server import KubeAPIServer

    node = "bench-node"
    with tempfile.TemporaryDirectory(prefix="cvk-bench-") as tmp:
        workdir = Path(tmp)
        server = KubeAPIServer()
        await server.start()
        kubeconfig = str(server.write_kubeconfig(workdir / "kubeconfig"))
        client = KubeClient(load_config(kubeconfig))
        child = Child(workdir, kubeconfig, node)
        try:
            for _ in range(600):
                await asyncio.sleep(0.1)
                if child.proc.poll() is not None:
                    raise RuntimeError(f"cisco-vk exited; see {workdir / 'cisco-vk.log'}")
                if child.stats_file.exists() and json.loads(child.stats_file.read_text() or "{}").get("ready"):
                    break
            await asyncio.sleep(2)  # let the start-up burst settle
            s0 = await child.stats()
            rss_idle = rss_kib(child.proc.pid)
            await asyncio.sleep(window)
            s1 = await child.stats()
            idle_rpm = (s1["requests"] - s0["requests"]) * 60 / window
            rss_idle = max(rss_idle, rss_kib(child.proc.pid))

            api_created: dict[str, float] = {}
            api_running: dict[str, float] = {}
            watch_task = asyncio.create_task(_watch_running(client, node, api_running))
            await client.list(paths.pods("default"))  # warm the client's connection: time the creates only
            for i in range(pods):
                name = f"bench-{i}"
                body = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": name, "namespace": "default"},
                    "spec": {
                        "nodeName": node,
                        "containers": [{"name": "app", "image": "fake/app:1"}],
                        "tolerations": [{"key": "virtual-kubelet.io/provider", "operator": "Exists"}],
                    },
                }
                t = time.time()
                await client.create(paths.pods("default"), body)
                api_created[f"default/{name}"] = t
            for _ in range(600):
                if len(api_running) >= pods:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)
            s2 = await child.stats()
            await asyncio.sleep(window)
            s3 = await child.stats()
            busy_rpm = (s3["requests"] - s2["requests"]) * 60 / window
            rss_busy = rss_kib(child.proc.pid)
            watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch_task

            create_lat = [s3["created"][k] - api_created[k] for k in api_created if k in s3["created"]]
            watch_lat = [s3["added"][k] - api_created[k] for k in api_created if k in s3["added"]]
            both = [k for k in api_created if k in s3["created"] and k in s3["added"]]
            sync_lat = [s3["created"][k] - s3["added"][k] for k in both]
            run_lat = [api_running[k] - s3["running"][k] for k in api_running if k in s3["running"]]
            print(f"cisco-vk daemon on FAKE ({pods} pods, {window:.0f} s windows, production intervals)")
            print(f"  FAKE RUNNING -> API Running   p50 {statistics.median(run_lat) * 1000:7.1f} ms   "
                  f"p99 {pct(run_lat, 99) * 1000:7.1f} ms   (n={len(run_lat)})")  # fmt: skip
            print(f"  API create -> driver create   p50 {statistics.median(create_lat) * 1000:7.1f} ms   "
                  f"p99 {pct(create_lat, 99) * 1000:7.1f} ms   (n={len(create_lat)})")  # fmt: skip
            print(f"    API create -> watch event   p50 {statistics.median(watch_lat) * 1000:7.1f} ms   "
                  f"p99 {pct(watch_lat, 99) * 1000:7.1f} ms   (API server and watch delivery)")  # fmt: skip
            print(f"    watch event -> driver call  p50 {statistics.median(sync_lat) * 1000:7.1f} ms   "
                  f"p99 {pct(sync_lat, 99) * 1000:7.1f} ms   (cisco-vk: queue, env resolution, get_pod)")  # fmt: skip
            print(f"  API requests/min idle         {idle_rpm:7.1f}")
            print(f"  API requests/min {pods:2d} pods      {busy_rpm:7.1f}")
            print(f"  RSS idle                      {rss_idle / 1024:7.1f} MiB")
            print(f"  RSS {pods:2d} pods                   {rss_busy / 1024:7.1f} MiB")
            print("  create -> driver create, in creation order (ms): "
                  + " ".join(f"{(s3['created'][k] - api_created[k]) * 1000:.0f}" for k in api_created
                             if k in s3["created"]))  # fmt: skip
            print("  requests in the busy window by verb/resource: "
                  + ", ".join(f"{k}={s3['by_verb'].get(k, 0) - s2['by_verb'].get(k, 0)}" for k in sorted(s3["by_verb"])
                              if s3["by_verb"].get(k, 0) - s2["by_verb"].get(k, 0)))  # fmt: skip
        finally:
            child.stop()
            await client.close()
            await server.stop()


async def _watch_running(client: Any, node: str, seen: dict[str, float]) -> None:
    from cvk.kube import paths

    listing = await client.list(paths.pods(), field_selector=f"spec.nodeName={node}")
    rv = listing["metadata"]["resourceVersion"]
    while True:
        async for ev in client.watch(paths.pods(), resource_version=rv, field_selector=f"spec.nodeName={node}"):
            obj = ev.object
            rv = (obj.get("metadata") or {}).get("resourceVersion", rv)
            if ev.type in ("ADDED", "MODIFIED") and (obj.get("status") or {}).get("phase") == "Running":
                meta = obj["metadata"]
                seen.setdefault(f"{meta['namespace']}/{meta['name']}", time.time())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kubeconfig, state_file, stats_file, node = sys.argv[2:6]
        asyncio.run(child_main(kubeconfig, state_file, stats_file, node))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=16)
    parser.add_argument("--window", type=float, default=60.0, help="seconds per request-rate window")
    args = parser.parse_args()
    asyncio.run(parent_main(args.pods, args.window))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
