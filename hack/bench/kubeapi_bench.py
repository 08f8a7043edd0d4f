"""Benchmark of the API server emulator: list latency for 1,000 pods, watch fan-out latency with 100
watchers, RSS memory with 2,000 objects. Prints numbers; asserts nothing.

    .venv/bin/python -m hack.bench.kubeapi_bench [--pods 1000] [--watchers 100] [--objects 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f} ms  p95 {_pct(values, 95):7.1f} ms"


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "n": name}},
        "spec": {"nodeName": "bench-node", "containers": [{"name": "c", "image": "busybox:1.36"}]},
    }


async def _create_many(
    session: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]], concurrency: int = 16
) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(body: dict[str, Any]) -> None:
        async with sem, session.post(url, json=body) as r:
            if r.status != 201:
                raise RuntimeError(f"create failed: {r.status} {await r.text()}")

    await asyncio.gather(*(one(b) for b in bodies))


async def run(
    base: str, token: str, ca_file: str, pid: int, pods: int, watchers: int, objects: int, rounds: int
) -> None:
    ctx = ssl.create_default_context(cafile=ca_file)
    headers = {"Authorization": f"Bearer {token}"}
    conn = aiohttp.TCPConnector(ssl=ctx, limit=watchers + 32)
    async with aiohttp.ClientSession(base, headers=headers, connector=conn) as s:
        rss_empty = _rss_mib(pid)
        t0 = time.perf_counter()
        await _create_many(s, "/api/v1/namespaces/default/pods", [_pod(f"pod-{i:05d}") for i in range(pods)])
        create_rate = pods / (time.perf_counter() - t0)

        lat_json, lat_table, lat_sel = [], [], []
        table_accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
        for _ in range(rounds):
            t = time.perf_counter()
            async with s.get("/api/v1/namespaces/default/pods") as r:
                body = await r.read()
            lat_json.append((time.perf_counter() - t) * 1000)
            assert len(json.loads(body)["items"]) == pods
            t = time.perf_counter()
            async with s.get("/api/v1/namespaces/default/pods", headers=table_accept) as r:
                await r.read()
            lat_table.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            async with s.get(
                "/api/v1/pods", params={"labelSelector": "n=pod-00007", "fieldSelector": "spec.nodeName=bench-node"}
            ) as r:
                await r.read()
            lat_sel.append((time.perf_counter() - t) * 1000)

        # Watch fan-out: `watchers` concurrent watches; time from each write until the last watcher saw it.
        rv = json.loads(await (await s.get("/api/v1/namespaces/default/configmaps")).read())["metadata"][
            "resourceVersion"
        ]
        queues: list[asyncio.Queue[tuple[str, float]]] = [asyncio.Queue() for _ in range(watchers)]
        ready = asyncio.Event()
        opened = 0

        async def watch(q: asyncio.Queue[tuple[str, float]]) -> None:
            nonlocal opened
            params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "600"}
            async with s.get("/api/v1/namespaces/default/configmaps", params=params) as r:
                opened += 1
                if opened == watchers:
                    ready.set()
                async for line in r.content:
                    ev = json.loads(line)
                    q.put_nowait((ev["object"]["metadata"]["name"], time.perf_counter()))

        tasks = [asyncio.create_task(watch(q)) for q in queues]
        await asyncio.wait_for(ready.wait(), 60)
        await asyncio.sleep(0.2)
        fan_last, fan_median = [], []
        for i in range(rounds):
            name = f"fan-{i}"
            t = time.perf_counter()
            async with s.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": name}}) as r:
                await r.read()
            arrivals = []
            for q in queues:
                got, at = await asyncio.wait_for(q.get(), 30)
                assert got == name
                arrivals.append((at - t) * 1000)
            fan_last.append(max(arrivals))
            fan_median.append(statistics.median(arrivals))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

        remaining = max(0, objects - pods - rounds)
        await _create_many(
            s,
            "/api/v1/namespaces/default/configmaps",
            [{"metadata": {"name": f"cm-{i:05d}"}, "data": {"k": "v" * 64}} for i in range(remaining)],
        )
        rss_full = _rss_mib(pid)

    print(f"kubeapi bench: pods={pods} watchers={watchers} objects={objects} rounds={rounds} cpus={os.cpu_count()}")
    print(f"create pods:                 {create_rate:8.0f} objects/s (16 concurrent clients)")
    print(
        f"list {pods} pods (JSON):      median {statistics.median(lat_json):7.1f} ms  p95 {_pct(lat_json, 95):7.1f} ms"
    )
    print(f"list {pods} pods (Table):     {_stats(lat_table)}")
    print(f"list with selectors:         median {statistics.median(lat_sel):7.1f} ms  p95 {_pct(lat_sel, 95):7.1f} ms")
    print(f"watch fan-out to {watchers} (last): {_stats(fan_last)}")
    print(f"watch fan-out (median watcher): median {statistics.median(fan_median):7.1f} ms")
    print(f"RSS: empty {rss_empty:6.1f} MiB, with {objects} objects {rss_full:6.1f} MiB")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pods", type=int, default=1000)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--objects", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="kubeapi-bench-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hack.kubeapi",
                "--port",
                "0",
                "--write-kubeconfig",
                str(kubeconfig),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            m = re.search(r"url=(\S+) .* ca=(\S+)", line)
            if not m:
                raise SystemExit(f"server did not start: {line!r}")
            cfg = yaml.safe_load(kubeconfig.read_text())
            token = cfg["users"][0]["user"]["token"]
            asyncio.run(
                run(m.group(1), token, m.group(2), proc.pid, args.pods, args.watchers, args.objects, args.rounds)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
