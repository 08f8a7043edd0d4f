"""Run the simulator in-process (own thread and loop) and the pytest fixtures built on it.

Use from a conftest: ``from hack.iosxe_sim.fixtures import iosxe_sim, iosxe_sim_factory  # noqa: F401``.

``iosxe_sim`` yields a :class:`SimHandle` for a C8000V with admin/admin; ``iosxe_sim_factory(**opts)``
starts more (``platform``, ``username``, ``password``, ``hostname``, ``oper_ip_mode``, ``delays``
(dict or :class:`Delays`), ``files`` (path -> bytes), ``grpc``/``ssh`` (bool), ``control_token``,
``gnoi_services``). Every simulator started by a fixture is stopped at teardown.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hack.iosxe_sim.control import SimControl
from hack.iosxe_sim.server import SimServer
from hack.iosxe_sim.state import Delays, DeviceState

T = TypeVar("T")


@dataclass
class SimHandle:
    """A running simulator: where it listens, how to log in, and its state/control/recording."""

    server: SimServer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    ca_file: str
    control: SimControl
    address: str = "127.0.0.1"
    grpc_port: int | None = None
    ssh_port: int | None = None
    known_hosts_line: str | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def username(self) -> str:
        return self.server.username

    @property
    def password(self) -> str:
        return self.server.password

    @property
    def state(self) -> DeviceState:
        return self.server.state

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Recorded RESTCONF requests (method, path, query, headers without auth, body, status)."""
        return self.server.recorder.since(since)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the simulator's loop (e.g. ``state.install(...)``) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.control.close()
        try:
            self.call(self.server.stop(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


def start_sim(
    workdir: Path,
    *,
    platform: str = "C8000V",
    username: str = "admin",
    password: str = "admin",
    hostname: str = "",
    oper_ip_mode: str = "oper",
    delays: Delays | dict[str, float] | None = None,
    files: dict[str, bytes] | None = None,
    grpc: bool = False,
    ssh: bool = False,
    control_token: str = "",
    gnoi_services: set[str] | None = None,
    state_file: str | None = None,
) -> SimHandle:
    """Start a simulator on 127.0.0.1 with a free port in a background thread."""
    if isinstance(delays, dict):
        delays = Delays(**delays)
    state = DeviceState(platform, hostname=hostname, oper_ip_mode=oper_ip_mode, delays=delays, state_file=state_file)
    if gnoi_services is not None:
        state.platform.gnoi_services = set(gnoi_services)
    for path, data in (files or {}).items():
        state.files[path if path.startswith("bootflash:/") else _norm(path)] = data
    server = SimServer(
        state, host="127.0.0.1", port=0, username=username, password=password, control_token=control_token
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"iosxe-sim-{state.hostname}", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        raise
    workdir.mkdir(parents=True, exist_ok=True)
    ca_file = workdir / "iosxe-sim-ca.pem"
    ca_file.write_bytes(server.credentials.ca_pem)
    handle = SimHandle(server, loop, thread, str(ca_file), SimControl(server.url, str(ca_file), control_token))
    try:
        if grpc:
            handle.grpc_port = handle.call(server.start_grpc(0))
        if ssh:
            handle.ssh_port = handle.call(server.start_ssh(0))
            handle.known_hosts_line = getattr(server.ssh, "known_hosts_line", None)
    except BaseException:
        handle.stop()
        raise
    return handle


def _norm(path: str) -> str:
    from hack.iosxe_sim.state import normalise_file

    return normalise_file(path)


@pytest.fixture
def iosxe_sim_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SimHandle]]:
    handles: list[SimHandle] = []

    def factory(**opts: Any) -> SimHandle:
        handle = start_sim(tmp_path_factory.mktemp("iosxe-sim"), **opts)
        handles.append(handle)
        return handle

    yield factory
    for h in handles:
        h.stop()


@pytest.fixture
def iosxe_sim(iosxe_sim_factory: Callable[..., SimHandle]) -> SimHandle:
    return iosxe_sim_factory()
