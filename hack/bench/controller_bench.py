"""Benchmark of the CiscoDevice controller from a cold start (prints numbers; asserts nothing).

    .venv/bin/python -m hack.bench.controller_bench [--devices 1000] [--workers 4] [--idle 30]

Runs the API emulator in this process, creates ``--devices`` CiscoDevices (FAKE driver, all with
``credentialSecretRef`` to one Secret) before any controller runs, then starts the controller
(``controller.manager.Manager`` with production settings and leader election) in a child process
and reports:

- time from the child's start (interpreter start-up included) and from the controller being ready
  (leader, informers synced) until every device has its Deployment and a status written for its
  current generation;
- API requests the controller sent until then, per device, and by verb/resource;
- API requests per minute once everything is reconciled (nothing changes; ``--idle`` window);
- resident memory (VmRSS) of the controller process at the end of the cold start and after idling.

By default the emulator's built-in Deployment/ReplicaSet/GC controllers are stopped: they rescan
every Deployment on each change, so with a thousand Deployments the emulator itself, not the
controller, would be measured. ``--with-workloads`` keeps them (each Deployment then gets a
ReplicaSet and a pod that never becomes ready, as without a kubelet). Devices stay Provisioning.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NS = "bench"
SYSTEM_NS = "cisco-vk-system"
SECRET = "bench-creds"


# ------------------------------------------------------------------------------------- child
async def child_main(kubeconfig: str, stats_file: str, workers: int) -> None:
    from controller.manager import Manager, ManagerOptions

    started = time.time()
    manager = Manager(ManagerOptions(kubeconfig=kubeconfig, namespace=SYSTEM_NS, health_port=-1, workers=workers))
    stop = asyncio.Event()
    ready_at: list[float] = []
    loop = asyncio.get_running_loop()

    profile = os.environ.get("CVK_BENCH_PROFILE")  # a path: cProfile stats written with each dump
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

    def dump() -> None:
        if profiler is not None and profile:
            profiler.dump_stats(profile)  # stops profiling: resume
            profiler.enable()
        client = manager.client
        metrics = dict(client.metrics) if client else {}
        queue = getattr(manager, "queue", None)
        Path(stats_file).write_text(json.dumps({
            "started": started,
            "ready_at": ready_at[0] if ready_at else None,
            "requests": sum(metrics.values()),
            "by_verb": {f"{verb} {resource}": n for (verb, resource), n in metrics.items()},
            "processed": queue.processed if queue is not None else 0,
        }))

    async def watch_ready() -> None:
        while True:  # the manager has no "ready" event to wait on
            if manager.ready:
                break
            await asyncio.sleep(0.01)
        ready_at.append(time.time())
        dump()

    loop.add_signal_handler(signal.SIGUSR1, dump)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    watcher = asyncio.create_task(watch_ready())
    await manager.run(stop)
    watcher.cancel()


# ------------------------------------------------------------------------------------- parent
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Child:
    def __init__(self, workdir: Path, kubeconfig: str, workers: int) -> None:
        self.stats_file = workdir / "stats.json"
        self.log = workdir / "controller.log"
        self.started = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hack.bench.controller_bench", "--child", kubeconfig, str(self.stats_file),
             str(workers)],
            cwd=REPO,
            stdout=open(self.log, "wb"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )

    def read(self) -> dict[str, Any]:
        with contextlib.suppress(OSError, ValueError):
            return dict(json.loads(self.stats_file.read_text()))
        return {}

    async def stats(self) -> dict[str, Any]:
        before = self.stats_file.stat().st_mtime_ns if self.stats_file.exists() else 0
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(400):
            await asyncio.sleep(0.025)
            if self.stats_file.exists() and self.stats_file.stat().st_mtime_ns != before:
                data = self.read()
                if data:
                    return data
        raise RuntimeError(f"the controller child did not write its figures; see {self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _device(i: int) -> dict[str, Any]:
    from controller.crd import API_VERSION, KIND

    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": f"dev-{i:04d}", "namespace": NS},
            "spec": {"driver": "FAKE", "address": f"10.{i // 250}.{i % 250}.1", "username": "admin",
                     "credentialSecretRef": {"name": SECRET}}}


async def _setup(client: Any, devices: int) -> None:
    from controller.crd import crd_manifest
    from controller.reconcile import device_path
    from cvk.kube import paths

    await client.create(paths.api_group("apiextensions.k8s.io", "v1", "customresourcedefinitions"), crd_manifest())
    for ns in (SYSTEM_NS, NS):
        await client.create(paths.namespaces(), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    await client.create(paths.serviceaccounts(NS), {"apiVersion": "v1", "kind": "ServiceAccount",
                                                    "metadata": {"name": "cisco-vk"}})
    await client.create(paths.secrets(NS), {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                            "metadata": {"name": SECRET}, "stringData": {"password": "bench"}})
    sem = asyncio.Semaphore(16)

    async def create(i: int) -> None:
        async with sem:
            await client.create(device_path(NS), _device(i))

    await asyncio.gather(*(create(i) for i in range(devices)))


async def _reconciled(client: Any, devices: int) -> tuple[int, int]:
    """(devices with a status for their generation, Deployments of devices)."""
    from controller.reconcile import device_path
    from cvk.kube import paths

    listed = await client.list(device_path(NS))
    done = sum(1 for d in listed.get("items", [])
               if (d.get("status") or {}).get("phase")
               and (d.get("status") or {}).get("observedGeneration") == d["metadata"].get("generation"))
    deps = await client.list(paths.deployments(NS), label_selector="app.kubernetes.io/managed-by=cisco-vk-controller")
    return done, len(deps.get("items", []))


async def parent_main(devices: int, workers: int, idle: float, limit: float, workloads: bool) -> None:
    from cvk.kube.client import KubeClient
    from cvk.kube.config import load_config
    from hack.kubeapi.server import KubeAPIServer

    with tempfile.TemporaryDirectory(prefix="cvk-controller-bench-") as tmp:
        workdir = Path(tmp)
        server = KubeAPIServer(workdir=workdir / "pki", watch_window=max(10000, devices * 100))
        await server.start()
        if not workloads:
            await server.controllers.stop()
        kubeconfig = str(server.write_kubeconfig(workdir / "kubeconfig"))
        client = KubeClient(load_config(kubeconfig))
        child: Child | None = None
        try:
            t0 = time.monotonic()
            await _setup(client, devices)
            print(f"created {devices} CiscoDevices in {time.monotonic() - t0:.1f} s (controller not running yet)")
            child = Child(workdir, kubeconfig, workers)
            started = time.time()
            deadline = time.monotonic() + limit
            done = deps = 0
            while time.monotonic() < deadline:
                if child.proc.poll() is not None:
                    raise RuntimeError(f"the controller exited; see {child.log}:\n{child.log.read_text()[-2000:]}")
                done, deps = await _reconciled(client, devices)
                if done >= devices and deps >= devices:
                    break
                await asyncio.sleep(0.5)
            finished = time.time()
            s1 = await child.stats()
            rss_cold = rss_kib(child.proc.pid)
            # Events recorded during the cold start are posted by one background sender: let that
            # backlog drain before measuring the idle window, and report it on its own.
            drain_started = time.monotonic()
            settled = s1
            while time.monotonic() - drain_started < limit:
                await asyncio.sleep(1.0)
                now_stats = await child.stats()
                if now_stats["by_verb"].get("create events", 0) == settled["by_verb"].get("create events", 0):
                    break
                settled = now_stats
            drained = time.monotonic() - drain_started
            backlog = settled["by_verb"].get("create events", 0) - s1["by_verb"].get("create events", 0)
            cpu_cold = cpu_seconds(child.proc.pid)
            await asyncio.sleep(idle)
            s2 = await child.stats()
            rss_idle = rss_kib(child.proc.pid)
            cpu_idle = cpu_seconds(child.proc.pid) - cpu_cold

            complete = done >= devices and deps >= devices
            ready_at = s1.get("ready_at") or started
            print(f"CiscoDevice controller cold start: {devices} devices (FAKE, one credential Secret), "
                  f"{workers} workers, emulator in-process "
                  f"({'with' if workloads else 'without'} its Deployment controllers), controller in a child process")
            if not complete:
                print(f"  NOT COMPLETE after {limit:.0f} s: {done} statuses, {deps} Deployments")
            print(f"  process start -> all reconciled   {finished - started:8.1f} s")
            print(f"  controller ready -> all reconciled {finished - ready_at:7.1f} s "
                  f"({devices / max(finished - ready_at, 1e-9):.0f} devices/s; ready after "
                  f"{ready_at - started:.1f} s)")
            print(f"  API requests until then           {s1['requests']:8d} "
                  f"({s1['requests'] / devices:.1f} per device; {s1['processed']} reconcile passes)")
            by_verb = sorted(s1["by_verb"].items(), key=lambda kv: -kv[1])
            print("    by verb/resource: " + ", ".join(f"{k}={n}" for k, n in by_verb))
            print(f"  controller CPU until then         {cpu_cold:8.1f} s")
            print(f"  events posted after that          {backlog:8d} (cold-start backlog, drained in {drained:.0f} s)")
            idle_rpm = (s2["requests"] - settled["requests"]) * 60 / idle
            print(f"  API requests/min afterwards       {idle_rpm:8.1f} (window {idle:.0f} s; controller CPU "
                  f"{cpu_idle:.1f} s)")
            later = {k: n - settled["by_verb"].get(k, 0) for k, n in s2["by_verb"].items()
                     if n - settled["by_verb"].get(k, 0)}
            if later:
                print("    by verb/resource: " + ", ".join(f"{k}={n}" for k, n in sorted(later.items(),
                                                                                       key=lambda kv: -kv[1])))
            print(f"  RSS after the cold start          {rss_cold / 1024:8.1f} MiB")
            print(f"  RSS after the idle window         {rss_idle / 1024:8.1f} MiB")
        finally:
            if child is not None:
                child.stop()
            await client.close()
            await server.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kubeconfig, stats_file, workers = sys.argv[2:5]
        asyncio.run(child_main(kubeconfig, stats_file, int(workers)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4, help="controller workers (its default: 4)")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of the after-start request window")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    parser.add_argument("--with-workloads", action="store_true",
                        help="keep the emulator's Deployment/ReplicaSet controllers running")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(parent_main(args.devices, args.workers, args.idle, args.timeout, args.with_workloads))


if __name__ == "__main__":
    main()
