"""The driver interface: everything device-specific sits behind it.

The pod and node controllers (cvk/pod, cvk/node) and the kubelet API (cvk/kubelet) only ever call a
``Driver``. A driver is the Python counterpart of virtual-kubelet's ``nodeutil.Provider`` plus
``PodNotifier`` and ``NodeProvider``:

- pods are plain ``dict`` objects in the Kubernetes JSON shape (``metadata``, ``spec``, ``status``);
  the driver must treat the pods it receives as read-only and return copies;
- "not found" is always ``cvk.errors.NotFound``; device failures are ``cvk.errors.DeviceError``
  subclasses (unreachable, auth, rejected, busy) and never turn into NotFound;
- observation (``get_pod_status``, ``list_pods``, ``ping``, ``node_resources``, ``stats``) never
  changes the device.

Drivers push pod status through the callback registered with ``notify_pods``; the pod controller
uses polling only as a fallback.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from cvk.errors import NotSupported

Pod = dict[str, Any]
"""A v1 Pod as JSON (the shape the Kubernetes API returns)."""

PodStatus = dict[str, Any]
"""A v1 PodStatus as JSON."""

PodCallback = Callable[[Pod], None]
"""Called by a driver with a pod whose ``status`` is current. Must not block."""

NodeCallback = Callable[["NodeResources"], None]
"""Called by a driver when the node's capacity, info or conditions changed. Must not block."""


@dataclasses.dataclass(frozen=True)
class LogOptions:
    """Options of GET /containerLogs, already validated (see cvk/kubelet)."""

    tail_lines: int | None = None
    limit_bytes: int | None = None
    since_seconds: int | None = None
    since_time: datetime | None = None
    timestamps: bool = False
    follow: bool = False
    previous: bool = False


@dataclasses.dataclass(frozen=True)
class TermSize:
    width: int
    height: int


@dataclasses.dataclass
class AttachIO:
    """The streams of an exec or attach session, bridged by the kubelet API.

    ``stdin`` yields what the client types (None when the client asked for no stdin);
    ``stdout``/``stderr`` are coroutines that send bytes to the client (None when not requested;
    with a TTY, stderr is None and everything goes to stdout); ``resize`` yields terminal sizes.
    """

    stdin: AsyncIterator[bytes] | None
    stdout: Callable[[bytes], Awaitable[None]] | None
    stderr: Callable[[bytes], Awaitable[None]] | None
    tty: bool = False
    resize: AsyncIterator[TermSize] | None = None


@dataclasses.dataclass(frozen=True)
class NodeResources:
    """What the node controller needs from the device to write the Node.

    ``capacity`` and ``allocatable`` are Kubernetes quantities as strings
    (``{"cpu": "7", "memory": "3Gi", "ephemeral-storage": "20Gi", "pods": "16"}``).
    ``node_info`` holds the v1 NodeSystemInfo keys the driver knows (``kernelVersion``,
    ``osImage``, ``architecture``, ``machineID``, ``systemUUID``, ...).
    ``labels`` and ``annotations`` are device facts added to the Node (model, serial, version).
    """

    capacity: dict[str, str]
    allocatable: dict[str, str]
    node_info: dict[str, str] = dataclasses.field(default_factory=dict)
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ContainerStats:
    name: str
    start_time: datetime
    cpu_usage_nano_cores: int
    cpu_usage_core_nano_seconds: int
    memory_working_set_bytes: int
    memory_usage_bytes: int


@dataclasses.dataclass(frozen=True)
class PodStats:
    namespace: str
    name: str
    uid: str
    start_time: datetime
    containers: list[ContainerStats]


@dataclasses.dataclass(frozen=True)
class NodeStats:
    """Figures for /stats/summary and /metrics/resource."""

    start_time: datetime
    cpu_usage_nano_cores: int
    cpu_usage_core_nano_seconds: int
    memory_working_set_bytes: int
    memory_available_bytes: int
    pods: list[PodStats]


class Driver(abc.ABC):
    """One device. Created by ``cvk.driver.factory.new_driver`` from a validated DeviceSpec."""

    # ---- connection and node -------------------------------------------------------------
    @abc.abstractmethod
    async def connect(self) -> None:
        """Open transports. Must not fail just because the device is down: ``ping`` reports that."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release transports. Never touches apps on the device."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Cheap reachability check; raises DeviceUnreachable / DeviceAuthError with a clear message."""

    @abc.abstractmethod
    async def node_resources(self) -> NodeResources:
        """Capacity, allocatable and node info as the device reports them."""

    def notify_node_status(self, callback: NodeCallback) -> None:  # noqa: B027 - optional hook
        """Register a callback for node changes. Default: the driver never pushes node changes."""

    # ---- pod lifecycle -------------------------------------------------------------------
    @abc.abstractmethod
    async def create_pod(self, pod: Pod) -> None:
        """Start deploying ``pod`` (env already resolved). Idempotent: a pod that exists is adopted."""

    @abc.abstractmethod
    async def update_pod(self, pod: Pod) -> None:
        """Apply a changed pod spec."""

    async def adopt_pod(self, pod: Pod) -> bool:
        """Take over ``pod`` when the device already runs it but the driver holds no record of it
        (cisco-vk restarted and ``get_pod`` could only describe what the device shows). True when
        adopted: the pod controller then neither creates nor updates it. Drivers that keep their
        pods across restarts (FAKE persists them) keep this default."""
        return False

    @abc.abstractmethod
    async def delete_pod(self, pod: Pod) -> None:
        """Remove the pod's apps. May be called repeatedly; raises NotFound when nothing is there."""

    @abc.abstractmethod
    async def get_pod(self, namespace: str, name: str) -> Pod:
        """The driver's view of the pod (spec it was created from plus current status)."""

    @abc.abstractmethod
    async def get_pod_status(self, namespace: str, name: str) -> PodStatus:
        """Current status; raises NotFound when the device has no app of that pod."""

    @abc.abstractmethod
    async def list_pods(self) -> list[Pod]:
        """Every pod this driver manages on the device (apps carrying our labels)."""

    def notify_pods(self, callback: PodCallback) -> None:
        """Register the status callback (PodNotifier). Drivers that push status override this and
        ``supports_notify``; the pod controller polls ``get_pod_status`` otherwise."""
        raise NotSupported("driver does not push pod status")

    @property
    def supports_notify(self) -> bool:
        return False

    # ---- kubelet API back-ends -----------------------------------------------------------
    async def container_logs(
        self, namespace: str, pod: str, container: str, opts: LogOptions
    ) -> AsyncIterator[bytes]:
        """Yield log bytes (already filtered by opts; with ``follow`` keep yielding)."""
        raise NotSupported("container logs are not supported by this driver")
        yield b""  # pragma: no cover - makes this an async generator

    async def run_in_container(
        self, namespace: str, pod: str, container: str, cmd: list[str], io: AttachIO
    ) -> int:
        """Run ``cmd`` in the container, bridging ``io``; return the exit code."""
        raise NotSupported("exec is not supported by this driver")

    async def attach_to_container(self, namespace: str, pod: str, container: str, io: AttachIO) -> int:
        """Attach to the container's console; return the exit code when the session ends."""
        raise NotSupported("attach is not supported by this driver")

    async def port_forward(
        self, namespace: str, pod: str, port: int, reader: Any, writer: Any
    ) -> None:
        """Forward one TCP stream to ``port`` inside the pod."""
        raise NotSupported("port-forward is not supported by this driver")

    async def stats(self) -> NodeStats:
        """CPU and memory figures for the node and each pod."""
        raise NotSupported("stats are not supported by this driver")

