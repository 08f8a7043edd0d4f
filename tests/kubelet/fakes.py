"""Test doubles for the kubelet API tests: a minimal Driver and a fake Kubernetes review client."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from cvk.driver.base import (
    AttachIO,
    ContainerStats,
    Driver,
    LogOptions,
    NodeResources,
    NodeStats,
    Pod,
    PodStats,
    PodStatus,
)
from cvk.errors import DeviceUnreachable, NotFound

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def pod(namespace: str, name: str, uid: str = "uid-1", node: str = "node-a") -> Pod:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": namespace, "name": name, "uid": uid},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox"}]},
        "status": {"phase": "Running"},
    }


class TestDriver(Driver):
    """Implements just enough of the Driver ABC for the kubelet API.

    - logs: ``logs[(ns, pod, container)]`` is a list of lines (``!unreachable`` raises there);
      ``follow`` then waits on ``follow_queue`` (None ends the stream); the LogOptions of every
      call are kept in ``log_calls``;
    - exec: ``echo ARGS``, ``err ARGS`` (to stderr), ``cat`` (stdin to stdout until EOF),
      ``exit N``, ``sizes N`` (prints the first N terminal sizes), ``boom`` (raises RuntimeError);
    - attach: echoes stdin back upper-cased and returns 0 at EOF;
    - ``fail`` maps a method name to an exception raised by it.
    """

    __test__ = False

    def __init__(self) -> None:
        self.logs: dict[tuple[str, str, str], list[str]] = {}
        self.log_calls: list[LogOptions] = []
        self.follow_queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.running: list[Pod] = [pod("default", "p1")]
        self.fail: dict[str, BaseException] = {}
        self.exec_calls: list[tuple[str, str, str, list[str], bool]] = []
        self.cancelled = asyncio.Event()
        self.follow_ended = asyncio.Event()
        self.cpu_clock: Callable[[], float] | None = None

    def _maybe_fail(self, name: str) -> None:
        err = self.fail.get(name)
        if err is not None:
            raise err

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def ping(self) -> None:
        pass

    async def node_resources(self) -> NodeResources:
        return NodeResources(capacity={"cpu": "2"}, allocatable={"cpu": "2"})

    async def create_pod(self, pod: Pod) -> None:
        pass

    async def update_pod(self, pod: Pod) -> None:
        pass

    async def delete_pod(self, pod: Pod) -> None:
        pass

    async def get_pod(self, namespace: str, name: str) -> Pod:
        raise NotFound(f"pod {namespace}/{name} not found")

    async def get_pod_status(self, namespace: str, name: str) -> PodStatus:
        raise NotFound(f"pod {namespace}/{name} not found")

    async def list_pods(self) -> list[Pod]:
        self._maybe_fail("list_pods")
        return list(self.running)

    async def container_logs(
        self, namespace: str, pod: str, container: str, opts: LogOptions
    ) -> AsyncIterator[bytes]:
        self.log_calls.append(opts)
        self._maybe_fail("container_logs")
        lines = self.logs.get((namespace, pod, container))
        if lines is None:
            raise NotFound(f"container {container} of pod {namespace}/{pod} not found")
        if opts.tail_lines is not None:
            lines = lines[len(lines) - opts.tail_lines:] if opts.tail_lines else []
        for line in lines:
            if line == "!unreachable":
                raise DeviceUnreachable("device went away mid-stream")
            yield (line + "\n").encode()
        if opts.follow:
            try:
                while True:
                    item = await self.follow_queue.get()
                    if item is None:
                        return
                    yield (item + "\n").encode()
            finally:
                self.follow_ended.set()

    async def run_in_container(
        self, namespace: str, pod: str, container: str, cmd: list[str], io: AttachIO
    ) -> int:
        self.exec_calls.append((namespace, pod, container, list(cmd), io.tty))
        self._maybe_fail("run_in_container")
        try:
            return await self._run(cmd, io)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def _run(self, cmd: list[str], io: AttachIO) -> int:
        if not cmd:
            return 0
        name, args = cmd[0], cmd[1:]
        if name == "echo":
            assert io.stdout is not None
            await io.stdout((" ".join(args) + "\n").encode())
            return 0
        if name == "err":
            assert io.stderr is not None
            await io.stderr((" ".join(args) + "\n").encode())
            return 0
        if name == "exit":
            return int(args[0])
        if name == "cat":
            assert io.stdin is not None and io.stdout is not None
            async for chunk in io.stdin:
                await io.stdout(chunk)
            return 0
        if name == "sizes":
            assert io.resize is not None and io.stdout is not None
            want = int(args[0])
            seen = 0
            async for size in io.resize:
                await io.stdout(f"{size.width}x{size.height}\n".encode())
                seen += 1
                if seen == want:
                    break
            return 0
        if name == "hang":
            await asyncio.Event().wait()
        if name == "boom":
            raise RuntimeError("the device exploded")
        assert io.stderr is not None or io.stdout is not None
        out = io.stderr or io.stdout
        assert out is not None
        await out(f"{shlex.join(cmd)}: command not found\n".encode())
        return 127

    async def attach_to_container(self, namespace: str, pod: str, container: str, io: AttachIO) -> int:
        self.exec_calls.append((namespace, pod, container, [], io.tty))
        assert io.stdin is not None and io.stdout is not None
        async for chunk in io.stdin:
            await io.stdout(chunk.upper())
        return 0

    async def stats(self) -> NodeStats:
        self._maybe_fail("stats")
        # With ``cpu_clock`` set, the cumulative CPU counters grow at exactly the nano-core rates
        # (app 250m, side 50m, node 400m) on the wall clock, so rate-based consumers (kubectl top)
        # see those rates; otherwise they are fixed numbers.
        t = self.cpu_clock() if self.cpu_clock is not None else 0.0

        def cumulative(fixed: int, nano_cores: int) -> int:
            return int(nano_cores * t) if self.cpu_clock is not None else fixed

        containers = [
            ContainerStats("app", T0, 250_000_000, cumulative(12_500_000_000, 250_000_000), 64 * 2**20, 80 * 2**20),
            ContainerStats("side", T0, 50_000_000, cumulative(1_500_000_000, 50_000_000), 16 * 2**20, 20 * 2**20),
        ]
        return NodeStats(
            start_time=T0,
            cpu_usage_nano_cores=400_000_000,
            cpu_usage_core_nano_seconds=cumulative(100_000_000_000, 400_000_000),
            memory_working_set_bytes=512 * 2**20,
            memory_available_bytes=3 * 2**30,
            pods=[PodStats("default", "p1", "uid-1", T0, containers)],
        )


class FakeReviews:
    """A KubeClient stand-in answering TokenReviews and SubjectAccessReviews from tables."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.denied_users: set[str] = set()
        self.latency = 0.0
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((path, body))
        if self.latency:
            await asyncio.sleep(self.latency)  # a round trip to the API server
        if path.endswith("/tokenreviews"):
            user = self.tokens.get(body["spec"]["token"])
            status: dict[str, Any] = {"authenticated": user is not None}
            if user is not None:
                status["user"] = user
            return {**body, "status": status}
        if path.endswith("/subjectaccessreviews"):
            allowed = body["spec"]["user"] not in self.denied_users
            return {**body, "status": {"allowed": allowed, "reason": "" if allowed else "denied by test"}}
        raise AssertionError(f"unexpected create {path}")

    def reviews(self, kind: str) -> list[dict[str, Any]]:
        return [b for p, b in self.calls if p.endswith(kind)]


class BareDriver(Driver):
    """Only the abstract methods: every optional kubelet back-end keeps the base NotSupported."""

    async def connect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def ping(self) -> None:
        pass

    async def node_resources(self) -> NodeResources:
        return NodeResources(capacity={}, allocatable={})

    async def create_pod(self, pod: Pod) -> None:
        pass

    async def update_pod(self, pod: Pod) -> None:
        pass

    async def delete_pod(self, pod: Pod) -> None:
        pass

    async def get_pod(self, namespace: str, name: str) -> Pod:
        raise NotFound(name)

    async def get_pod_status(self, namespace: str, name: str) -> PodStatus:
        raise NotFound(name)

    async def list_pods(self) -> list[Pod]:
        return []
