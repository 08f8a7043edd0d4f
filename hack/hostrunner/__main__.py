"""python -m hack.hostrunner --kubeconfig PATH [--node-name sandbox-host] [--root DIR] [--no-schedule]"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from cvk.kube.client import KubeClient
from cvk.kube.config import load_config
from hack.hostrunner.runner import HostRunner


async def _main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = KubeClient(load_config(args.kubeconfig))
    try:
        runner = HostRunner(client, node_name=args.node_name, root=Path(args.root) if args.root else None,
                            schedule=not args.no_schedule)
        await runner.run(stop)
    finally:
        await client.close()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m hack.hostrunner", description=__doc__)
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--node-name", default="sandbox-host")
    ap.add_argument("--root", help="folder for pod volumes and logs (default: a temporary folder)")
    ap.add_argument("--no-schedule", action="store_true", help="do not bind pending pods")
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
