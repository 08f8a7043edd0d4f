"""gNOI channel-class benchmark against the in-process simulator. Prints numbers; asserts nothing.

Measures the latency of 100 Control-class RPCs (System.Ping, count 1) three ways:

1. idle: nothing else running;
2. pooled: while a File.Put of ``--mb`` MB (default 100) runs on the BulkTransfer channel;
3. shared: the same Put sent on the Control channel's connection (what a single-channel client does).

The simulator runs in its own process (``python -m hack.iosxe_sim``), so client and device do not share
a GIL. Also prints the Put's throughput. Run: ``.venv/bin/python -m hack.bench.grpc_bench [--mb 100] [--pings 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from cvk.transport.grpc import ChannelPool, GnoiClient, GrpcConfig, WorkloadClass

BLOCK = 1024 * 1024


def _summary(name: str, lat: list[float]) -> str:
    ms = sorted(x * 1000 for x in lat)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return (f"{name:<28} n={len(ms):<4} p50={statistics.median(ms):7.2f} ms  p95={p95:7.2f} ms  "
            f"max={ms[-1]:7.2f} ms")


async def _pings(client: GnoiClient, n: int, gap: float) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await client.ping("192.168.1.1", count=1, interval_ns=0)
        out.append(time.perf_counter() - t0)
        await asyncio.sleep(gap)
    return out


async def _data(mb: int) -> AsyncIterator[bytes]:
    block = bytes(range(256)) * (BLOCK // 256)
    for _ in range(mb):
        yield block


async def _run(client: GnoiClient, mb: int, n: int, gap: float) -> tuple[list[float], float]:
    put = asyncio.create_task(client.file_put("bootflash:/bench.bin", _data(mb)))
    await asyncio.sleep(0.05)  # let the transfer get going
    t0 = time.perf_counter()
    lat = await _pings(client, n, gap)
    await put
    return lat, time.perf_counter() - t0


async def bench(port: int, ca_pem: bytes, mb: int, n: int, gap: float) -> None:
    cfg = GrpcConfig(host="127.0.0.1", port=port, username="admin", password="admin", ca_pem=ca_pem,
                     transfer_timeout=900)
    pooled = GnoiClient(ChannelPool(cfg))
    await pooled.time()  # connect
    idle = await _pings(pooled, n, gap)
    print(_summary("idle", idle))
    t0 = time.perf_counter()
    lat, _ = await _run(pooled, mb, n, gap)
    put_s = time.perf_counter() - t0
    print(_summary(f"pooled, {mb} MB Put on bulk", lat))
    print(f"{'':<28} Put throughput {mb / put_s:7.1f} MB/s ({put_s:.1f} s)")
    await pooled.pool.close()

    shared = GnoiClient(ChannelPool(cfg))
    control = shared.pool.channel(WorkloadClass.CONTROL)
    shared.pool._channels[WorkloadClass.BULK] = control  # one connection for everything
    await shared.time()
    t0 = time.perf_counter()
    lat, _ = await _run(shared, mb, n, gap)
    put_s = time.perf_counter() - t0
    print(_summary(f"shared, {mb} MB Put on control", lat))
    print(f"{'':<28} Put throughput {mb / put_s:7.1f} MB/s ({put_s:.1f} s)")
    await shared.pool.close()


def main(mb: int, n: int, gap: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready.json"
        ca = Path(tmp) / "ca.pem"
        sim = subprocess.Popen(
            [sys.executable, "-m", "hack.iosxe_sim", "--port", "0", "--grpc-port", "0", "--write-ca", str(ca),
             "--ready-file", str(ready), "--log-level", "WARNING"],
            stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 60
            while not ready.exists():
                if sim.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the simulator did not start")
                time.sleep(0.05)
            port = int(json.loads(ready.read_text())["grpc_port"])
            asyncio.run(bench(port, ca.read_bytes(), mb, n, gap))
        finally:
            sim.send_signal(signal.SIGTERM)
            sim.wait(10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=100, help="size of the File.Put in MB")
    ap.add_argument("--pings", type=int, default=100, help="Control RPCs to time")
    ap.add_argument("--gap", type=float, default=0.01, help="seconds between pings")
    args = ap.parse_args()
    main(args.mb, args.pings, args.gap)
