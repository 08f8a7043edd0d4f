"""``cisco-vk run``: one device as one Kubernetes node.

``run(spec, opts, stop)`` wires everything and returns when ``stop`` is set (or, when no ``stop``
event is given, on SIGTERM/SIGINT):

1. API connection from the kubeconfig (flag, KUBECONFIG, ~/.kube/config, in-cluster);
2. the driver from the device spec, ``connect()`` (never fails just because the device is down);
3. the kubelet HTTPS API (its real port goes into the Node's daemonEndpoints);
4. the node controller (Node, Lease, status, device ping), then the pod controller.

Shutdown stops the controllers and the kubelet API and closes the driver and the client. The Node
and the Lease stay (a restart re-adopts them), and so do the apps on the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import tempfile
from urllib.parse import urlsplit

from cvk.config.spec import DeviceSpec
from cvk.driver.factory import new_driver
from cvk.kube.client import KubeClient
from cvk.kube.config import KubeConfig, load_config
from cvk.kubelet.server import KubeletServer
from cvk.node.controller import NodeController
from cvk.node.ping import PingController
from cvk.options import RunOptions
from cvk.pod.controller import PodController

log = logging.getLogger(__name__)


def detect_node_ip(api_server: str) -> str:
    """The local address used to reach the API server (what the API server can reach us at).

    A UDP ``connect`` only selects a route; no packet is sent. Falls back to 127.0.0.1.
    """
    parts = urlsplit(api_server)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError:
        return "127.0.0.1"
    for family, _, _, _, addr in infos:
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            ip = str(s.getsockname()[0])
            if not ipaddress.ip_address(ip).is_unspecified:
                return ip
    return "127.0.0.1"


def cluster_ca_file(config: KubeConfig) -> str | None:
    """The cluster CA as a file, to verify the API server's client certificate on the kubelet API
    when no --client-ca-file is given (as on kubeadm clusters, where one CA signs both)."""
    if config.ca_file:
        return config.ca_file
    if not config.ca_data:
        return None
    fd, path = tempfile.mkstemp(prefix="cisco-vk-cluster-ca-", suffix=".crt")
    with os.fdopen(fd, "wb") as f:
        f.write(config.ca_data)
    return path


class Daemon:
    """The running parts of one ``cisco-vk run``; ``run()`` below drives it."""

    def __init__(self, spec: DeviceSpec, opts: RunOptions) -> None:
        self.spec = spec
        self.opts = opts
        self.client: KubeClient | None = None
        self.node: NodeController | None = None
        self.pods: PodController | None = None
        self.kubelet: KubeletServer | None = None
        self.started = asyncio.Event()
        self._temp_files: list[str] = []

    async def start(self) -> None:
        spec, opts = self.spec, self.opts
        config = load_config(opts.kubeconfig)
        log.info("connecting to the Kubernetes API", extra={"server": config.server, "source": config.source})
        self.client = KubeClient(config)
        if not opts.client_ca_file:
            opts.client_ca_file = cluster_ca_file(config)
            if opts.client_ca_file and opts.client_ca_file != config.ca_file:
                self._temp_files.append(opts.client_ca_file)
        self.driver = new_driver(spec)
        await self.driver.connect()
        node_ip = opts.node_ip or detect_node_ip(config.server)
        ping = PingController(self.driver.ping, interval=opts.ping_seconds)
        node_holder: list[NodeController] = []

        def allocatable() -> dict[str, str]:
            return node_holder[0].allocatable() if node_holder else {}

        self.pods = PodController(self.client, self.driver, opts, node_ip=node_ip, allocatable=allocatable)
        self.kubelet = KubeletServer(self.driver, opts.node_name, opts, self.client, self.pods.pods)
        await self.kubelet.start()
        log.info("kubelet API listening", extra={"address": opts.kubelet_address, "port": self.kubelet.port})
        self.node = NodeController(
            self.client, self.driver, spec, opts, node_ip=node_ip, kubelet_port=self.kubelet.port, ping=ping
        )
        node_holder.append(self.node)
        ping.add_listener(self.pods.on_device_change)
        await self.node.start()
        await self.pods.start()
        self.started.set()
        log.info("cisco-vk running", extra={"node": opts.node_name, "driver": spec.driver, "device": spec.address})

    async def stop(self) -> None:
        log.info("cisco-vk stopping", extra={"node": self.opts.node_name})
        for path in self._temp_files:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._temp_files.clear()
        if self.pods is not None:
            await self.pods.stop()
        if self.node is not None:
            await self.node.stop()
        if self.kubelet is not None:
            with contextlib.suppress(Exception):
                await self.kubelet.stop()
        if hasattr(self, "driver"):
            with contextlib.suppress(Exception):
                await self.driver.close()
        if self.client is not None:
            await self.client.close()
        log.info("cisco-vk stopped; Node, Lease and device apps left in place", extra={"node": self.opts.node_name})


async def run(spec: DeviceSpec, opts: RunOptions, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set; without ``stop``, until SIGTERM or SIGINT."""
    own_signals: list[signal.Signals] = []
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                own_signals.append(sig)
    daemon = Daemon(spec, opts)
    stopping = asyncio.create_task(stop.wait(), name="cvk-stop-wait")
    try:
        starting = asyncio.create_task(daemon.start(), name="cvk-start")
        done, _ = await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            starting.result()  # raises a start failure
            await stopping
        else:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
    finally:
        stopping.cancel()  # a start failure (or our own cancellation) must not leave it pending
        await daemon.stop()
        loop = asyncio.get_running_loop()
        for sig in own_signals:
            loop.remove_signal_handler(sig)
