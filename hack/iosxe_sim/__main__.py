"""``python -m hack.iosxe_sim``: run one simulated IOS-XE device until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from hack.iosxe_sim.platforms import PLATFORMS
from hack.iosxe_sim.server import SimServer
from hack.iosxe_sim.state import Delays, DeviceState


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m hack.iosxe_sim", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, required=True, help="RESTCONF HTTPS port; 0 picks a free one")
    p.add_argument("--write-ca", required=True, metavar="PATH", help="write the CA certificate (PEM) here")
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default="admin")
    p.add_argument("--platform", default="C8000V", choices=sorted(PLATFORMS), type=str.upper)
    p.add_argument("--hostname", default="", help="device hostname (default sim-<platform>)")
    p.add_argument("--grpc-port", type=int, default=None, help="also serve gNMI/gNOI on this port (0: free)")
    p.add_argument("--ssh-port", type=int, default=None, help="also serve the SSH CLI on this port (0: free)")
    p.add_argument("--state-file", default=None, help="persist apps and files here across restarts")
    p.add_argument(
        "--oper-ip-mode",
        default="oper",
        choices=["oper", "arp"],
        help="report app IPs in app oper data (oper) or only in the ARP table (arp)",
    )
    p.add_argument("--install-delay", type=float, default=2.0, help="seconds an install takes (default 2)")
    p.add_argument("--control-token", default="", help="require this X-Sim-Token on /_sim requests")
    p.add_argument("--ready-file", default=None, help="write {url, port, grpc_port, ssh_port, ca_file} JSON here")
    p.add_argument("--file", action="append", default=[], metavar="PATH",
                   help="preload an app package on the device, e.g. bootflash:/hello.tar (repeatable)")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


def _write(path: Path, data: bytes) -> None:
    """Atomically (rename) so a watcher never reads half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


async def run(args: argparse.Namespace) -> int:
    state = DeviceState(
        args.platform,
        hostname=args.hostname,
        oper_ip_mode=args.oper_ip_mode,
        delays=Delays(install=args.install_delay, auto_advance=0.5),
        state_file=args.state_file,
    )
    for path in args.file:
        state.add_file(path, b"IOX-PACKAGE")
    server = SimServer(
        state,
        host=args.host,
        port=args.port,
        username=args.username,
        password=args.password,
        control_token=args.control_token,
    )
    await server.start()
    _write(Path(args.write_ca), server.credentials.ca_pem)
    ready: dict[str, object] = {"url": server.url, "port": server.port, "ca_file": str(Path(args.write_ca))}
    if args.grpc_port is not None:
        ready["grpc_port"] = await server.start_grpc(args.grpc_port)
    if args.ssh_port is not None:
        ready["ssh_port"] = await server.start_ssh(args.ssh_port)
        ready["known_hosts_line"] = getattr(server.ssh, "known_hosts_line", None)
    line = json.dumps(ready)
    if args.ready_file:
        _write(Path(args.ready_file), (line + "\n").encode())
    print(line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
