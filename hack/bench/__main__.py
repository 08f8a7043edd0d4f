"""Run every benchmark in turn with its defaults and print their reports.

    python -m hack.bench [NAME ...]     # NAME: kubeapi, daemon, xe, grpc, controller (default: all)
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHES = ["kubeapi", "daemon", "xe", "grpc", "controller"]


def main() -> int:
    names = sys.argv[1:] or BENCHES
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {BENCHES}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n===== {name} =====", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"hack.bench.{name}_bench"])
        print(f"----- {name}: exit {code}, {time.monotonic() - started:.0f}s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"benchmarks that failed to run: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
