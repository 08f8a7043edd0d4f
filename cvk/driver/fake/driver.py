"""FakeDriver: an in-memory IOx host that persists itself to a state file.

It behaves like a device, not like a mock: apps go through the IOx state machine on a timer, keep
running while cisco-vk is down (the state file remembers them and the timeline catches up on the
next start), write logs, answer a few exec commands, report CPU and memory, and misbehave on
request (see ``faults.Faults``). Every status change is pushed through ``notify_pods``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from cvk.config.quantity import parse_quantity
from cvk.config.spec import DeviceSpec, FakeConfig
from cvk.driver.base import (
    AttachIO,
    Driver,
    LogOptions,
    NodeResources,
    NodeStats,
    Pod,
    PodCallback,
    PodStats,
    PodStatus,
)
from cvk.driver.fake.apps import App, AppState, Run, Timings
from cvk.driver.fake.faults import Faults
from cvk.driver.fake.figures import SYSTEM_CPU_NANO_CORES, SYSTEM_MEMORY_BYTES, container_stats
from cvk.driver.fake.ipam import AddressPool, default_network
from cvk.driver.fake.logs import RunLog, render
from cvk.driver.fake.pods import PodRecord, new_apps, pod_key, stored_pod
from cvk.driver.fake.ports import declared_ports
from cvk.driver.fake.ports import serve as serve_port
from cvk.driver.fake.shell import Container, run_command
from cvk.driver.fake.status import pod_status
from cvk.driver.fake.store import StateError, StateStore, default_state_file, faults_of
from cvk.driver.fake.timefmt import to_datetime
from cvk.errors import (
    ConfigError,
    DeviceAuthError,
    DeviceBusy,
    DeviceRejected,
    DeviceUnreachable,
    InvalidInput,
    NotFound,
)
from cvk.waiting import wait_event

log = logging.getLogger(__name__)

MODEL = "FAKE-DEVICE"
SOFTWARE_VERSION = "17.15.1"
FAULT_POLL_SECONDS = 0.25


class FakeDriver(Driver):
    """The FAKE device named by ``spec.address``; state in ``spec.fake.stateFile``.

    ``clock`` (seconds since the epoch) can be replaced in tests, which then call ``advance()``
    instead of waiting; the background ticker started by ``connect`` uses the real event loop.
    """

    def __init__(self, spec: DeviceSpec, *, clock: Callable[[], float] = time.time) -> None:
        self.spec = spec
        cfg = spec.fake or FakeConfig()
        self.config = cfg
        self.timings = Timings(install=cfg.install_seconds, activate=cfg.activate_seconds,
                               start=cfg.start_seconds, restart_backoff=cfg.restart_backoff_seconds,
                               log_interval=cfg.log_interval_seconds)
        self.state_file = cfg.state_file or default_state_file(spec.address)
        self._clock = clock
        self._store = StateStore(self.state_file)
        self._pool = AddressPool(spec.pod_cidr or default_network(spec.address))
        self._pods: dict[str, PodRecord] = {}
        self._faults = Faults()
        self._device: dict[str, Any] = {}
        self._loaded = False
        self._callback: PodCallback | None = None
        self._pushed: dict[str, PodStatus] = {}
        self._changed = asyncio.Event()
        self._ticker: asyncio.Task[None] | None = None
        self._host_ip: str | None = _ip_or_none(spec.address)
        self._was_reachable = True

    # ---- state -------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            self._load_state()
        except OSError as err:
            raise ConfigError("device.fake.stateFile",
                              f"cannot use {self.state_file}: {err.strerror or err}; set fake.stateFile to a "
                              "writable path (or XDG_STATE_HOME)") from err

    def _load_state(self) -> None:
        try:
            doc = self._store.read()
            faults = self._store.read_faults() if doc is not None else Faults()
        except StateError as err:
            raise ConfigError("device.fake.stateFile",
                              f"{err}; fix or delete the file to start with an empty device") from err
        now = self._clock()
        if doc is None:
            self._device = {"serial": "FAKE" + uuid.uuid4().hex[:8].upper(), "bootId": str(uuid.uuid4()),
                            "bootTime": now, "address": self.spec.address}
            self._pods = {}
        else:
            try:
                self._device = dict(doc["device"])
                self._pods = {}
                for item in doc.get("pods", []):
                    rec = PodRecord.from_dict(item)
                    self._pods[rec.key] = rec
            except (KeyError, TypeError, ValueError) as err:
                raise ConfigError("device.fake.stateFile",
                                  f"{self.state_file} is not a FAKE state file ({err!r}); "
                                  "delete it to start with an empty device") from err
        self._loaded = True
        self._faults = faults
        self._catch_up(now)
        self._persist()
        for rec in self._pods.values():  # what the device runs now, for whoever listens
            self._push(rec)
        log.info("FAKE device loaded", extra={"device": self.spec.address, "state_file": self.state_file,
                                              "pods": len(self._pods)})

    def _document(self) -> dict[str, Any]:
        return {"device": self._device, "pods": [r.to_dict() for r in self._pods.values()]}

    def _persist(self) -> None:
        self._faults = self._store.save(lambda _faults: self._document(), self._faults)

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._load()

    def _refresh_faults(self) -> None:
        """Pick up what another writer changed in the state file: a test flipping faults, or a
        second cisco-vk using the same device. Our own changes are persisted at once, so the file
        is never older than our memory and taking it as the truth loses nothing."""
        if self._store.changed_on_disk():
            try:
                with self._store.locked():
                    doc = self._store.read()
                faults = faults_of(doc, self._store.path)
                records = [PodRecord.from_dict(item) for item in (doc or {}).get("pods", [])]
            except (StateError, OSError, KeyError, TypeError, ValueError) as err:
                log.warning("ignoring an unreadable FAKE state file", extra={"error": str(err)})
            else:
                if faults != self._faults:
                    log.info("FAKE device faults changed", extra={"faults": faults.to_dict()})
                self._faults = faults
                if doc is not None:
                    self._adopt(records)
        reachable = not (self._faults.unreachable or self._faults.auth_failure)
        if reachable and not self._was_reachable:
            self._was_reachable = True
            for rec in self._pods.values():
                self._push(rec)
        self._was_reachable = reachable

    def _adopt(self, records: list[PodRecord]) -> None:
        """Replace the pods by those read from the file, keeping the objects that did not change."""
        pods: dict[str, PodRecord] = {}
        for rec in records:
            old = self._pods.get(rec.key)
            pods[rec.key] = old if old is not None and old.to_dict() == rec.to_dict() else rec
        gone = set(self._pods) - set(pods)
        changed = [rec for key, rec in pods.items() if self._pods.get(key) is not rec]
        self._pods = pods
        for key in gone:
            self._pushed.pop(key, None)
        for rec in changed:
            self._push(rec)
        if gone:
            self._wake()

    @property
    def faults(self) -> Faults:
        self._ensure_loaded()
        self._refresh_faults()
        return self._faults

    def set_faults(self, **changes: Any) -> Faults:
        """Flip fault switches (``unreachable=True``, ``latency_seconds=2``...), persisted to the file."""
        self._ensure_loaded()
        self._refresh_faults()
        faults = self._faults.replace(**changes)
        self._store.write_faults(faults)
        self._faults = faults
        self._refresh_faults()
        return faults

    # ---- simulation --------------------------------------------------------------------------
    def _catch_up(self, now: float) -> list[PodRecord]:
        return [rec for rec in self._pods.values()
                if rec.advance(now, self.timings, self._faults.fail_installs)]

    def advance(self) -> bool:
        """Apply every transition due by now; persist and push what changed. True if anything did."""
        self._ensure_loaded()
        changed = self._catch_up(self._clock())
        if changed:
            self._persist()
            for rec in changed:
                self._push(rec)
        return bool(changed)

    def _next_due(self) -> float | None:
        dues = [a.next_due(self.timings) for rec in self._pods.values() for a in rec.apps]
        return min((d for d in dues if d is not None), default=None)

    async def _tick_forever(self) -> None:
        while True:
            try:
                self._refresh_faults()
                self.advance()
            except Exception:  # the device model must survive anything a test does to its file
                log.exception("FAKE device tick failed")
            due = self._next_due()
            delay = FAULT_POLL_SECONDS if due is None else min(max(due - self._clock(), 0.0),
                                                               FAULT_POLL_SECONDS)
            await asyncio.sleep(delay)

    def _status(self, rec: PodRecord) -> PodStatus:
        return pod_status(rec, self._host_ip, self.timings)

    def _pod(self, rec: PodRecord, status: PodStatus | None = None) -> Pod:
        pod = copy.deepcopy(rec.pod)
        pod["status"] = copy.deepcopy(status) if status is not None else self._status(rec)
        return pod

    def _wake(self) -> None:
        """Wake log followers and attach sessions: something changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _push(self, rec: PodRecord) -> None:
        self._wake()
        if self._faults.unreachable or self._faults.auth_failure:
            return  # nobody can hear the device; pushed again when it is reachable
        status = self._status(rec)
        if self._pushed.get(rec.key) == status:
            return
        self._pushed[rec.key] = status
        if self._callback is not None:
            try:
                self._callback(self._pod(rec, status))
            except Exception:
                log.exception("pod status callback failed", extra={"pod": rec.key})

    async def _gate(self, *, lifecycle: bool = False) -> None:
        """What every call to the device goes through: faults first, then the timeline."""
        self._ensure_loaded()
        self._refresh_faults()
        if self._faults.latency_seconds > 0:
            await asyncio.sleep(self._faults.latency_seconds)
            self._refresh_faults()
        where = f"FAKE device {self.spec.address}"
        if self._faults.unreachable:
            raise DeviceUnreachable(f"{where} is unreachable (fault 'unreachable' in {self.state_file})")
        if self._faults.auth_failure:
            raise DeviceAuthError(f"{where} refused the credentials of user {self.spec.username!r} "
                                  f"(fault 'authFailure' in {self.state_file})")
        if lifecycle and self._faults.busy:
            raise DeviceBusy(f"{where} is busy, retry later", status=409, device_message="lock-denied")
        self.advance()

    def _record(self, namespace: str, name: str) -> PodRecord:
        rec = self._pods.get(pod_key(namespace, name))
        if rec is None:
            raise NotFound(f"pod {namespace}/{name} has no apps on FAKE device {self.spec.address}")
        return rec

    def _app(self, namespace: str, pod: str, container: str) -> tuple[PodRecord, App]:
        rec = self._record(namespace, pod)
        app = rec.app(container)
        if app is None:
            raise NotFound(f'container "{container}" not found in pod "{namespace}/{pod}"')
        return rec, app

    # ---- connection and node -----------------------------------------------------------------
    async def connect(self) -> None:
        self._ensure_loaded()
        if self._host_ip is None:
            with contextlib.suppress(OSError):
                infos = await asyncio.get_running_loop().getaddrinfo(self.spec.address, None,
                                                                     type=socket.SOCK_STREAM)
                if infos:
                    self._host_ip = str(infos[0][4][0])
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick_forever(), name=f"fake-device-{self.spec.address}")

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        # Nothing to save: every change was written when it happened (and the apps keep running).

    async def ping(self) -> None:
        await self._gate()

    async def node_resources(self) -> NodeResources:
        await self._gate()
        capacity = {"cpu": self.config.cpu, "memory": self.config.memory,
                    "ephemeral-storage": self.config.storage, "pods": str(self.spec.max_pods)}
        serial = str(self._device.get("serial", "FAKE0000"))
        return NodeResources(
            capacity=capacity,
            allocatable=dict(capacity),
            node_info={
                "machineID": serial.lower(),
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, serial)),
                "bootID": str(self._device.get("bootId", "")),
                "kernelVersion": SOFTWARE_VERSION,
                "osImage": f"Cisco IOS-XE Software (FAKE), Version {SOFTWARE_VERSION}",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "iox://fake",
            },
            labels={"cisco.vk/driver": "FAKE", "cisco.vk/model": MODEL},
            annotations={"cisco.vk/serial-number": serial, "cisco.vk/software-version": SOFTWARE_VERSION},
        )

    # ---- pod lifecycle -----------------------------------------------------------------------
    async def create_pod(self, pod: Pod) -> None:
        await self._gate(lifecycle=True)
        meta = pod.get("metadata") or {}
        key = pod_key(str(meta.get("namespace", "default")), str(meta.get("name", "")))
        if not meta.get("name"):
            raise InvalidInput("metadata.name: required")
        existing = self._pods.get(key)
        if existing is not None and existing.uid == str(meta.get("uid", "")):
            log.info("pod already on the device, adopted", extra={"pod": key})
            self._push(existing)
            return
        now = self._clock()
        apps = new_apps(pod, now)  # validates before anything changes
        others = [r for k, r in self._pods.items() if k != key]
        if len(others) >= self.spec.max_pods:
            raise DeviceRejected(f"FAKE device {self.spec.address} already runs {len(others)} pods "
                                 f"(maxPods {self.spec.max_pods})", device_message="app limit reached")
        ip = self._pool.allocate(r.pod_ip for r in others if r.pod_ip)
        if ip is None:
            raise DeviceRejected(f"no free address left in {self._pool.network} on FAKE device "
                                 f"{self.spec.address}", device_message="address pool exhausted")
        if existing is not None:
            log.info("replacing apps of an older pod with the same name",
                     extra={"pod": key, "old_uid": existing.uid})
            self._pushed.pop(key, None)
        qos = (pod.get("status") or {}).get("qosClass")
        rec = PodRecord(pod=stored_pod(pod), created_at=now, apps=apps, pod_ip=ip,
                        qos_class=str(qos) if qos else None)
        self._pods[key] = rec
        self._persist()
        log.info("pod installing", extra={"pod": key, "apps": ",".join(a.app_id for a in apps)})
        self._push(rec)

    def _record_of(self, pod: Pod) -> PodRecord:
        """The device's record of ``pod``; NotFound when absent or holding another pod of that name."""
        meta = pod.get("metadata") or {}
        rec = self._record(str(meta.get("namespace", "default")), str(meta.get("name", "")))
        uid = str(meta.get("uid", ""))
        if uid and rec.uid and uid != rec.uid:
            raise NotFound(f"pod {rec.key} with uid {uid} is not on the device (it holds uid {rec.uid})")
        return rec

    async def update_pod(self, pod: Pod) -> None:
        await self._gate(lifecycle=True)
        rec = self._record_of(pod)
        now = self._clock()
        for c in (pod.get("spec") or {}).get("containers") or []:
            app = rec.app(str(c.get("name", "")))
            if app is not None and c.get("image") and c["image"] != app.image:
                log.info("container image changed, reinstalling",
                         extra={"pod": rec.key, "container": app.name, "image": c["image"]})
                app.replace_image(str(c["image"]), now)
        rec.pod = stored_pod(pod)
        self._persist()
        self._pushed.pop(rec.key, None)  # metadata may have changed even when the status did not
        self._push(rec)

    async def delete_pod(self, pod: Pod) -> None:
        await self._gate(lifecycle=True)
        rec = self._record_of(pod)
        now = self._clock()
        for app in rec.apps:
            app.stop(now, "deleted by cisco-vk")
        final = self._pod(rec)
        del self._pods[rec.key]
        self._persist()
        log.info("pod deleted", extra={"pod": rec.key})
        self._pushed.pop(rec.key, None)
        self._wake()
        if self._callback is not None:
            try:
                self._callback(final)
            except Exception:
                log.exception("pod status callback failed", extra={"pod": rec.key})

    async def get_pod(self, namespace: str, name: str) -> Pod:
        await self._gate()
        return self._pod(self._record(namespace, name))

    async def get_pod_status(self, namespace: str, name: str) -> PodStatus:
        await self._gate()
        return self._status(self._record(namespace, name))

    async def list_pods(self) -> list[Pod]:
        await self._gate()
        return [self._pod(rec) for rec in self._pods.values()]

    def notify_pods(self, callback: PodCallback) -> None:
        self._callback = callback

    @property
    def supports_notify(self) -> bool:
        return True

    # ---- logs, exec, attach, stats -----------------------------------------------------------
    def _run_for_logs(self, rec: PodRecord, app: App, previous: bool) -> Run:
        if previous:
            if app.previous_run is None:
                raise InvalidInput(
                    f'previous terminated container "{app.name}" in pod "{rec.name}" not found')
            return app.previous_run
        if app.current_run is None:
            reason = "InstallFailed" if app.state == AppState.ERROR else "ContainerCreating"
            raise InvalidInput(f'container "{app.name}" in pod "{rec.name}" is waiting to start: {reason}')
        return app.current_run

    async def container_logs(
        self, namespace: str, pod: str, container: str, opts: LogOptions
    ) -> AsyncIterator[bytes]:
        await self._gate()
        rec, app = self._app(namespace, pod, container)
        run = self._run_for_logs(rec, app, opts.previous)
        now = self._clock()
        runlog = RunLog(app, run, self.timings.log_interval, now)
        start = 0
        since: float | None = None
        if opts.since_time is not None:
            since = opts.since_time.timestamp()
        elif opts.since_seconds is not None:
            since = now - opts.since_seconds
        if since is not None:
            start = runlog.first_at_or_after(since)
        if opts.tail_lines is not None:
            start = max(start, len(runlog) - opts.tail_lines)
        budget = opts.limit_bytes
        follow = opts.follow and not opts.previous
        async for data in self._stream(rec.key, app, run, runlog, start, follow, opts.timestamps):
            if budget is not None:
                if len(data) >= budget:
                    yield data[:budget]
                    return
                budget -= len(data)
            yield data

    async def _stream(self, key: str, app: App, run: Run, runlog: RunLog, start: int, follow: bool,
                      timestamps: bool) -> AsyncIterator[bytes]:
        """Lines ``start..`` of ``runlog``; with ``follow``, keep going until the run ends or the
        pod is deleted (like ``kubectl logs -f``)."""
        index = start
        while True:
            chunk = b"".join(render(line, timestamps) for line in runlog.lines(index))
            index = len(runlog)
            if chunk:
                yield chunk
            if not follow or run.finished_at is not None:
                return
            waiter = self._changed
            next_line = run.started_at + (runlog.beats + 1) * self.timings.log_interval
            timeout = max(next_line - self._clock(), 0.0) + 0.01
            await wait_event(waiter, timeout)
            self._refresh_faults()
            if self._faults.unreachable:
                raise DeviceUnreachable(f"FAKE device {self.spec.address} became unreachable")
            self.advance()
            rec = self._pods.get(key)
            current = rec.app(app.name) if rec is not None else None
            if current is None or current.app_id != app.app_id:
                return  # the pod was deleted or replaced; its final lines were already written
            same = next((r for r in current.runs if r.started_at == run.started_at), None)
            if same is None:
                return
            app, run = current, same
            runlog = RunLog(app, run, self.timings.log_interval, self._clock())

    def _exit_code(self, key: str, app: App, run: Run) -> int:
        """Exit code of ``run`` as the device knows it now (0 when it did not end)."""
        rec = self._pods.get(key)
        current = rec.app(app.name) if rec is not None else None
        if current is not None and current.app_id == app.app_id:
            run = next((r for r in current.runs if r.started_at == run.started_at), run)
        return run.exit_code if run.exit_code is not None else 0

    def _running(self, namespace: str, pod: str, container: str) -> tuple[PodRecord, App]:
        rec, app = self._app(namespace, pod, container)
        if app.state != AppState.RUNNING:
            raise InvalidInput(f'container "{container}" in pod "{namespace}/{pod}" is not running '
                               f"(IOx app {app.app_id} is {app.state})")
        return rec, app

    def _container(self, rec: PodRecord, app: App) -> Container:
        hostname = str(rec.pod.get("spec", {}).get("hostname") or rec.name)
        return Container(hostname=hostname, env=app.env, pod_ip=rec.pod_ip, command=app.command)

    async def run_in_container(
        self, namespace: str, pod: str, container: str, cmd: list[str], io: AttachIO
    ) -> int:
        await self._gate()
        rec, app = self._running(namespace, pod, container)
        log.debug("exec", extra={"pod": rec.key, "container": container, "argv0": cmd[0] if cmd else ""})
        return await run_command(self._container(rec, app), cmd, io)

    async def attach_to_container(self, namespace: str, pod: str, container: str, io: AttachIO) -> int:
        """The container's console: its new log lines on stdout, and what is typed echoed back
        (the fake process reads its stdin like ``cat``). Ends when stdin closes (0) or the
        container exits (its exit code)."""
        await self._gate()
        rec, app = self._running(namespace, pod, container)
        run = app.current_run
        assert run is not None
        runlog = RunLog(app, run, self.timings.log_interval, self._clock())

        async def output() -> int:
            async for data in self._stream(rec.key, app, run, runlog, len(runlog), True, False):
                if io.stdout is not None:
                    await io.stdout(data.replace(b"\n", b"\r\n") if io.tty else data)
            return self._exit_code(rec.key, app, run)

        async def echo() -> int:
            assert io.stdin is not None
            async for chunk in io.stdin:
                if io.stdout is not None:
                    await io.stdout(chunk)
            return 0

        tasks = [asyncio.create_task(output())]
        if io.stdin is not None:
            tasks.append(asyncio.create_task(echo()))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def port_forward(self, namespace: str, pod: str, port: int, reader: Any, writer: Any) -> None:
        """A declared container port of a running container answers (see ``ports``)."""
        await self._gate()
        rec = self._record(namespace, pod)
        ports = declared_ports(rec.pod.get("spec") or {})
        if port not in ports:
            declared = ", ".join(str(p) for p in sorted(ports)) or "none"
            raise InvalidInput(f"connection refused: pod {namespace}/{pod} does not listen on port {port} "
                               f"(declared container ports: {declared})")
        app = rec.app(ports[port])
        if app is None or app.state != AppState.RUNNING:
            raise InvalidInput(f"connection refused: container {ports[port]!r} of pod {namespace}/{pod} "
                               "is not running")
        await serve_port(reader, writer, f"FAKE app {app.app_id}: pod {namespace}/{pod}, container "
                                         f"{app.name}, port {port}")

    async def stats(self) -> NodeStats:
        await self._gate()
        now = self._clock()
        pods = []
        total_cpu = SYSTEM_CPU_NANO_CORES
        total_mem = SYSTEM_MEMORY_BYTES
        boot = float(self._device.get("bootTime", now))
        total_cpu_s = int(SYSTEM_CPU_NANO_CORES * max(now - boot, 0.0))
        for rec in self._pods.values():
            containers = [s for a in rec.apps if (s := container_stats(a, now)) is not None]
            if not containers:
                continue
            for c in containers:
                total_cpu += c.cpu_usage_nano_cores
                total_cpu_s += c.cpu_usage_core_nano_seconds
                total_mem += c.memory_working_set_bytes
            pods.append(PodStats(namespace=rec.namespace, name=rec.name, uid=rec.uid,
                                 start_time=to_datetime(rec.created_at), containers=containers))
        try:
            capacity = int(parse_quantity(self.config.memory))
        except ValueError:
            capacity = total_mem
        return NodeStats(start_time=to_datetime(boot), cpu_usage_nano_cores=total_cpu,
                         cpu_usage_core_nano_seconds=total_cpu_s, memory_working_set_bytes=total_mem,
                         memory_available_bytes=max(capacity - total_mem, 0), pods=pods)


def _ip_or_none(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def state_file_of(spec: DeviceSpec) -> str:
    """Where the FAKE device of ``spec`` keeps its state."""
    return (spec.fake.state_file if spec.fake and spec.fake.state_file else None) or default_state_file(
        spec.address)

