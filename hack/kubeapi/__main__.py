"""python -m hack.kubeapi --port PORT --write-kubeconfig PATH [--token T] [--watch-window N] [--deny RULE ...]"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from .auth import DenyRule
from .server import DEFAULT_VERSION, KubeAPIServer


def _deny_rule(text: str) -> str:
    try:
        DenyRule.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m hack.kubeapi", description="In-memory Kubernetes API server emulator (HTTPS)."
    )
    p.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--write-kubeconfig", type=Path, required=True, metavar="PATH", help="write a kubeconfig for this server here"
    )
    p.add_argument("--token", default=None, help="bearer token clients must present (default: random)")
    p.add_argument(
        "--watch-window",
        type=int,
        default=10000,
        metavar="N",
        help="events retained for watch resume; older resourceVersions get 410 Gone (default 10000)",
    )
    p.add_argument(
        "--deny",
        action="append",
        default=[],
        type=_deny_rule,
        metavar="USER:VERB:RESOURCE",
        help="deny rule for authorization and SubjectAccessReview (repeatable; fnmatch patterns)",
    )
    p.add_argument(
        "--pki-dir",
        type=Path,
        default=None,
        help="where to write the CA, serving and kubelet-client certificates (default: next to the kubeconfig)",
    )
    p.add_argument(
        "--version",
        default=DEFAULT_VERSION,
        dest="server_version",
        help=f"version reported by /version (default {DEFAULT_VERSION})",
    )
    p.add_argument(
        "--rbac",
        action="store_true",
        help="enforce the stored Roles, ClusterRoles and bindings for every user outside system:masters "
        "(service-account tokens come from serviceaccounts/NAME/token)",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = p.parse_args(argv)
    if not 0 <= args.port <= 65535:
        p.error(f"--port: {args.port} is not a port number (0-65535)")
    if args.watch_window < 1:
        p.error("--watch-window: must be at least 1")
    return args


async def _serve(args: argparse.Namespace) -> None:
    workdir = args.pki_dir or args.write_kubeconfig.parent / (args.write_kubeconfig.stem + "-pki")
    server = KubeAPIServer(
        host=args.host,
        port=args.port,
        token=args.token,
        watch_window=args.watch_window,
        deny=tuple(args.deny),
        workdir=workdir,
        version=args.server_version,
        rbac=args.rbac,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    server.write_kubeconfig(args.write_kubeconfig)
    files = server.files
    print(
        f"kubeapi listening url={server.url} kubeconfig={args.write_kubeconfig} ca={files.ca_file} "
        f"ca_key={files.ca_key_file}",
        flush=True,
    )
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
