"""The IOS-XE driver: pods as App-Hosting (IOx) apps over RESTCONF.

One background loop per device:

1. take one device-wide snapshot (``snapshot.py``);
2. for every container not already busy with a step, ``reconciler.decide`` one action from what the
   snapshot shows, and start it as a task (installs serialised per device);
3. compute every pod's status from the same snapshot and push it through the ``notify_pods``
   callback when it changed;
4. sleep ``poll_interval`` (``active_interval`` while anything is in progress), or less when kicked.

Observation (``get_pod_status``, ``get_pod``, ``list_pods``, ``ping``, ``node_resources``) only reads.
Device errors surface as DeviceError subclasses and never as NotFound.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import ipaddress
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvk.config.spec import DeviceSpec
from cvk.driver.base import (
    AttachIO,
    Driver,
    LogOptions,
    NodeResources,
    NodeStats,
    Pod,
    PodCallback,
    PodStatus,
)
from cvk.driver.xe import naming, network, paths
from cvk.driver.xe.ipam import StaticAllocator
from cvk.driver.xe.node import UsageMeter, node_resources_from
from cvk.driver.xe.oper import (
    ERROR,
    EXITED,
    RUNNING,
    exit_code_in,
    interface_address,
    ip_for_macs,
    parse_arp,
    parse_hardware,
)
from cvk.driver.xe.reconciler import Action, Context, Desired, Observation, decide
from cvk.driver.xe.records import ContainerRecord, PodRecord, build_pod_record, skeleton_record
from cvk.driver.xe.snapshot import Snapshot, SnapshotSource
from cvk.driver.xe.status import ContainerView, pod_status
from cvk.errors import (
    ConfigError,
    DeviceAuthError,
    DeviceBusy,
    DeviceError,
    DeviceRejected,
    DeviceUnreachable,
    InvalidInput,
    NotFound,
    NotSupported,
)
from cvk.transport.restconf import RestconfClient
from cvk.waiting import wait_event

if TYPE_CHECKING:
    from cvk.driver.xe.logs import DeviceFiles
    from cvk.transport.ssh import SshCli

log = logging.getLogger(__name__)


@dataclasses.dataclass
class XESettings:
    """Timings of the driver; ``from_env`` reads ``CVK_XE_<NAME>`` overrides (seconds)."""

    poll_interval: float = 5.0
    active_interval: float = 1.0
    install_settle_timeout: float = 120.0
    restart_backoff_base: float = 10.0
    restart_backoff_max: float = 300.0
    restart_backoff_reset: float = 600.0  # an app that ran this long starts its back-off afresh
    arp_retry_interval: float = 30.0  # how often to look again in ARP for an app without address
    step_backoff_max: float = 30.0
    delete_timeout: float = 120.0
    request_timeout: float = 30.0
    connect_timeout: float = 10.0  # a blackholed device fails each attempt after this, not request_timeout
    retries: int = 3
    config_refresh_every: int = 12

    @classmethod
    def from_env(cls) -> XESettings:
        s = cls()
        for f in dataclasses.fields(cls):
            name = f"CVK_XE_{f.name.upper()}"
            raw = os.environ.get(name)
            if not raw:
                continue
            try:
                value: float = int(raw) if f.type in (int, "int") else float(raw)
            except ValueError:
                raise ConfigError(name, f"{raw!r} is not a number") from None
            if value < 0:
                raise ConfigError(name, f"{raw!r} must not be negative")
            if value == 0 and f.name in _POSITIVE:
                raise ConfigError(name, f"{raw!r} must be above 0 (0 would mean a busy loop or no timeout)")
            setattr(s, f.name, value)
        return s


# Settings where 0 would mean a busy loop (intervals) or no timeout at all (aiohttp treats 0 as none).
_POSITIVE = frozenset(
    {"poll_interval", "active_interval", "request_timeout", "connect_timeout", "delete_timeout",
     "install_settle_timeout"}
)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class XEDriver(Driver):
    def __init__(
        self,
        spec: DeviceSpec,
        *,
        settings: XESettings | None = None,
        client: RestconfClient | None = None,
        ca_pem: bytes | None = None,
    ) -> None:
        self.spec = spec
        self.settings = settings or XESettings.from_env()
        self._client = client
        self._ca_pem = ca_pem
        self._source: SnapshotSource | None = None
        self._pods: dict[str, PodRecord] = {}  # by uid
        self._callback: PodCallback | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._host_ip: str | None = spec.address if _is_ip(spec.address) else None
        iface = spec.xe.networking.interface if spec.xe else None
        self._allocator: StaticAllocator | None = None
        self._gateway_checked = False
        self._gateway_lock = asyncio.Lock()
        try:
            network.validate_interface(iface)
            self._iface = network.effective_interface(iface)
            self._dhcp = network.uses_dhcp(iface)
            if not self._dhcp and spec.pod_cidr:
                self._allocator = StaticAllocator(spec.pod_cidr)
        except InvalidInput as e:
            # Device configuration, not pod input: cisco-vk run stops with the field named.
            field, _, message = str(e).partition(": ")
            raise ConfigError(f"device.{field}", message) from e
        self._closed = False
        self._meter = UsageMeter()
        self._verification_disabled = False
        self._pass_lock = asyncio.Lock()
        self._files: DeviceFiles | None = None
        self._gnoi_pool: Any = None
        self._ssh: SshCli | None = None

    # ---- plumbing ----------------------------------------------------------------------------
    @property
    def client(self) -> RestconfClient:
        if self._client is None:
            self._client = RestconfClient(
                self.spec.address,
                self.spec.effective_port,
                self.spec.username,
                self.spec.password or "",
                tls=self.spec.tls,
                ca_pem=self._ca_pem,
                timeout=self.settings.request_timeout,
                connect_timeout=self.settings.connect_timeout,
                retries=self.settings.retries,
            )
        return self._client

    @property
    def source(self) -> SnapshotSource:
        if self._source is None:
            self._source = SnapshotSource(self.client, config_refresh_every=self.settings.config_refresh_every)
        return self._source

    async def connect(self) -> None:
        _ = self.source
        self._ssh_cli()  # reads spec.ssh's known_hosts file: a wrong path stops cisco-vk run at start
        if self._host_ip is None:
            # hostIP only: a resolver that does not answer must not hold up the start.
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(self.settings.request_timeout):
                    infos = await asyncio.get_running_loop().getaddrinfo(self.spec.address, None)
                if infos:
                    self._host_ip = str(infos[0][4][0])
        if self._loop_task is None:
            self._closed = False
            self._loop_task = asyncio.create_task(self._run(), name=f"xe-driver-{self.spec.address}")

    async def close(self) -> None:
        self._closed = True
        tasks = [c.task for r in self._pods.values() for c in r.containers if c.busy]
        if self._loop_task is not None:
            tasks.append(self._loop_task)
        for t in tasks:
            if t is not None:
                t.cancel()
        for t in tasks:
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        self._loop_task = None
        if self._client is not None:
            await self._client.close()
        if self._gnoi_pool is not None:
            with contextlib.suppress(Exception):
                await self._gnoi_pool.close()
            self._gnoi_pool = None
        self._files = None
        ssh, self._ssh = self._ssh, None
        if ssh is not None:
            with contextlib.suppress(Exception):
                await ssh.close()

    def notify_pods(self, callback: PodCallback) -> None:
        self._callback = callback

    @property
    def supports_notify(self) -> bool:
        return True

    def kick(self) -> None:
        self._kick.set()

    # ---- node --------------------------------------------------------------------------------
    async def ping(self) -> None:
        try:
            doc = await self.client.get(paths.OPER_GLOBALS)
        except NotFound:
            return  # the device answered; it just has no globals to show
        globals_ = paths.member(doc, "app-globals") or {}
        if str(paths.member(globals_, "iox-enabled")).lower() == "false":
            raise DeviceRejected(
                f"device {self.spec.address}: IOx is disabled; enable it with 'iox' in the device config"
            )

    async def node_resources(self) -> NodeResources:
        snap = await self.source.take(max_age=self.settings.poll_interval)
        ours = {c.app_id for r in self._pods.values() for c in r.containers}
        ours |= {ident.app_id for ident in self._identities(snap)}
        try:
            hw = parse_hardware(await self.client.get(paths.HARDWARE))
        except NotFound:
            hw = None
        return node_resources_from(snap, hw, max_pods=self.spec.max_pods, ours=ours)

    async def stats(self) -> NodeStats:
        """CPU and memory of every running app, from the shared snapshot (see node.UsageMeter)."""
        snap = await self.source.take(max_age=self.settings.poll_interval)
        return self._meter.stats(snap, list(self._pods.values()))

    async def container_logs(
        self, namespace: str, pod: str, container: str, opts: LogOptions
    ) -> AsyncIterator[bytes]:
        """The app's IOx console log: ``app-hosting move`` of the log, read with gNOI File or SSH (logs.py)."""
        from cvk.driver.xe.logs import read_app_logs

        app_id = await self._app_of(namespace, pod, container)
        async for chunk in read_app_logs(self.client, self._device_files(), app_id, opts):
            yield chunk

    async def run_in_container(
        self, namespace: str, pod: str, container: str, cmd: list[str], io: AttachIO
    ) -> int:
        """``kubectl exec``: ``app-hosting connect appid ID session`` over SSH (exec.py)."""
        from cvk.driver.xe.exec import exec_in_app

        ssh = self._require_ssh("exec")
        app_id = await self._app_of(namespace, pod, container)
        return await exec_in_app(ssh, app_id, cmd, io)

    async def attach_to_container(self, namespace: str, pod: str, container: str, io: AttachIO) -> int:
        """``kubectl attach``: the app's console (``app-hosting connect appid ID console``) over SSH."""
        from cvk.driver.xe.exec import attach_app

        ssh = self._require_ssh("attach")
        app_id = await self._app_of(namespace, pod, container)
        return await attach_app(ssh, app_id, io)

    async def _app_of(self, namespace: str, pod: str, container: str) -> str:
        rec = self._find(namespace, pod)
        if rec is None:
            snap = await self.source.take(need_config=True, max_age=self.settings.poll_interval)
            rec = self._orphan_record(snap, namespace, pod)
        for c in rec.containers:
            if c.name == container:
                return c.app_id
        raise NotFound(f"pod {namespace}/{pod} has no container {container!r}")

    def _require_ssh(self, what: str) -> SshCli:
        cli = self._ssh_cli()
        if cli is None:
            raise NotSupported(
                f"{what} into IOS-XE apps runs over the device's SSH CLI, and this CiscoDevice has no spec.ssh; "
                "add spec.ssh with knownHostsSecretRef (or knownHostsFile)"
            )
        return cli

    def _ssh_cli(self) -> SshCli | None:
        """The device's one SSH CLI client (created on first use), or None without ``spec.ssh``."""
        if self._ssh is not None:
            return self._ssh
        ssh = self.spec.ssh
        if ssh is None:
            return None
        from cvk.config.loader import read_known_hosts
        from cvk.transport.ssh import SshCli, SshConfig

        known_hosts = read_known_hosts(self.spec)
        if ssh.insecure_skip_host_key_check:
            log.warning("ssh host key check disabled by spec.ssh.insecureSkipHostKeyCheck (lab use only) "
                        "device=%s", self.spec.address)
        self._ssh = SshCli(
            SshConfig(
                host=self.spec.address,
                port=ssh.port,
                username=self.spec.username,
                password=self.spec.password or "",
                known_hosts=known_hosts,
                insecure_skip_host_key_check=ssh.insecure_skip_host_key_check,
            )
        )
        return self._ssh

    def _device_files(self) -> DeviceFiles:
        """Device file access for logs: gNOI File with the SSH CLI as fallback.

        Without a ``spec.gnoi`` block but with ``spec.ssh``, files go over SSH only: many IOS-XE 17.x
        devices run no gNXI server, and a read should not wait for a gRPC connection that never comes.
        """
        if self._files is not None:
            return self._files
        from cvk.driver.xe.logs import DeviceFiles
        from cvk.transport.grpc import ChannelPool, GnoiClient, grpc_config

        ssh = self._ssh_cli()
        cfg = None
        if ssh is None or self.spec.gnoi is not None:
            ca_pem = self._ca_pem
            if ca_pem is None and self.spec.tls.ca_file:
                ca_pem = Path(self.spec.tls.ca_file).read_bytes()
            cfg = grpc_config(
                self.spec.address,
                self.spec.username,
                self.spec.password or "",
                spec=self.spec.gnoi,
                env=os.environ,
                ca_pem=ca_pem,
            )
        if cfg is None and ssh is None:
            raise NotSupported(
                "container logs of IOS-XE apps are read over gNOI File, which CISCO_VK_GNOI_DISABLED turns off; "
                "add spec.ssh to read them over the SSH CLI instead"
            )
        gnoi = None
        if cfg is not None:
            self._gnoi_pool = ChannelPool(cfg)
            gnoi = GnoiClient(self._gnoi_pool)
        self._files = DeviceFiles(gnoi, ssh)
        return self._files

    # ---- pod lifecycle -----------------------------------------------------------------------
    async def create_pod(self, pod: Pod) -> None:
        rec = build_pod_record(self.spec, pod, static_ready=self._allocator is not None)
        existing = self._pods.get(rec.uid)
        if existing is not None and not existing.deleting:
            await self.update_pod(pod)
            return
        if existing is not None:
            raise DeviceBusy(f"pod {rec.key} (uid {rec.uid}) is being deleted; create it again afterwards")
        self._pods[rec.uid] = rec
        log.info("pod created pod=%s uid=%s apps=%s", rec.key, rec.uid, ",".join(c.app_id for c in rec.containers))
        self.kick()

    async def adopt_pod(self, pod: Pod) -> bool:
        """After a restart: the device has apps labelled with this pod's UID and we hold no record.
        Registering the pod is all a create or update would do; the reconciler then converges from
        what the device shows (an image changed meanwhile is reinstalled as on any update)."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        if not uid or uid in self._pods:
            return False
        snap = await self.source.take(need_config=True, max_age=self.settings.poll_interval)
        if not any(i.uid == uid for i in self._identities(snap)):
            return False
        await self.create_pod(pod)
        return True

    async def update_pod(self, pod: Pod) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        rec = self._pods.get(uid)
        if rec is None:
            await self.create_pod(pod)
            return
        new = build_pod_record(self.spec, pod, static_ready=self._allocator is not None)
        rec.pod = copy.deepcopy(pod)
        old = {c.name: c for c in rec.containers}
        for c in new.containers:
            cur = old.get(c.name)
            if cur is not None and cur.image != c.image and not rec.deleting:
                log.info("container image changed pod=%s container=%s image=%s", rec.key, c.name, c.image)
                cur.image = c.image
                cur.desired = Desired.UNINSTALLED
                cur.error_reason = cur.error_message = ""
        self.kick()

    async def delete_pod(self, pod: Pod) -> None:
        meta = pod.get("metadata") or {}
        uid = meta.get("uid") or ""
        rec = self._pods.get(uid) if uid else None
        if rec is None:
            rec = self._find(meta.get("namespace", ""), meta.get("name", ""))
            if rec is not None and uid and rec.uid != uid:
                rec = None
        if rec is None:
            snap = await self.source.take(need_config=True)
            idents = [
                i
                for i in self._identities(snap)
                if (i.uid == uid if uid else (i.namespace, i.name) == (meta.get("namespace"), meta.get("name")))
            ]
            if not idents:
                raise NotFound(f"pod {meta.get('namespace')}/{meta.get('name')} has no app on the device")
            images = {a.name: a.package_path for a in snap.oper.apps.values()}
            rec = skeleton_record(idents, images)
            self._pods[rec.uid] = rec
        if not rec.deleting:
            log.info("pod deleting pod=%s uid=%s", rec.key, rec.uid)
            rec.deleting = True
            rec.final_phase = (rec.last_status or {}).get("phase")
            for c in rec.containers:
                c.desired = Desired.DELETED
                c.not_before = 0.0
        self.kick()
        if not await wait_event(rec.gone, self.settings.delete_timeout):
            left = ", ".join(f"{c.app_id}={c.observed_state or 'configured'}" for c in rec.containers if not c.done)
            err = self.source.last_error
            if isinstance(err, DeviceUnreachable):
                raise DeviceUnreachable(f"pod {rec.key}: deletion waits for the device: {err}") from err
            raise DeviceBusy(f"pod {rec.key}: deletion still in progress ({left})") from None

    async def get_pod(self, namespace: str, name: str) -> Pod:
        rec = self._find(namespace, name)
        snap = await self.source.take(need_config=rec is None, max_age=self.settings.poll_interval)
        if rec is None:
            rec = self._orphan_record(snap, namespace, name)
        out = copy.deepcopy(rec.pod)
        out["status"] = self._status_of(rec, snap)
        return out

    async def get_pod_status(self, namespace: str, name: str) -> PodStatus:
        rec = self._find(namespace, name)
        snap = await self.source.take(need_config=rec is None, max_age=self.settings.poll_interval)
        if rec is None:
            rec = self._orphan_record(snap, namespace, name)
        return self._status_of(rec, snap)

    async def list_pods(self) -> list[Pod]:
        snap = await self.source.take(need_config=True, max_age=self.settings.poll_interval)
        out: list[Pod] = []
        seen: set[str] = set()
        for rec in self._pods.values():
            if rec.uid in seen:
                continue
            seen.add(rec.uid)
            pod = copy.deepcopy(rec.pod)
            pod["status"] = self._status_of(rec, snap)
            out.append(pod)
        by_uid: dict[str, list[naming.AppIdentity]] = {}
        for ident in self._identities(snap):
            if ident.uid not in seen:
                by_uid.setdefault(ident.uid, []).append(ident)
        images = {a.name: a.package_path for a in snap.oper.apps.values()}
        for idents in by_uid.values():
            rec = skeleton_record(idents, images)
            pod = copy.deepcopy(rec.pod)
            pod["status"] = self._status_of(rec, snap)
            out.append(pod)
        return out

    # ---- lookups -----------------------------------------------------------------------------
    def _find(self, namespace: str, name: str) -> PodRecord | None:
        found = [r for r in self._pods.values() if r.namespace == namespace and r.name == name]
        found.reverse()  # the newest first
        found.sort(key=lambda r: r.deleting)  # and a live one before one being deleted (stable sort)
        return found[0] if found else None

    @staticmethod
    def _identities(snap: Snapshot) -> list[naming.AppIdentity]:
        out = []
        for entry in snap.configs.values():
            ident = naming.identity_of(entry)
            if ident is not None:
                out.append(ident)
        return out

    def _orphan_record(self, snap: Snapshot, namespace: str, name: str) -> PodRecord:
        idents = [i for i in self._identities(snap) if i.namespace == namespace and i.name == name]
        if not idents:
            raise NotFound(f"pod {namespace}/{name} is not known and has no app on the device")
        uid = idents[0].uid
        images = {a.name: a.package_path for a in snap.oper.apps.values()}
        return skeleton_record([i for i in idents if i.uid == uid], images)

    # ---- the loop ----------------------------------------------------------------------------
    def _pending(self) -> bool:
        now = time.monotonic()
        latest = self._source.latest if self._source is not None else None
        for rec in self._pods.values():
            for c in rec.containers:
                if c.done:
                    continue
                if c.error_reason and not c.busy and now < c.not_before:
                    continue  # the device refused the last step: its retry needs no fast polling
                app = latest.oper.apps.get(c.app_id) if latest is not None else None
                if (
                    app is not None
                    and app.pkg_policy == "iox-pkg-policy-invalid"
                    and c.observed_state == "INSTALLING"
                    and not c.busy
                ):
                    continue  # the device holds an unsigned package until someone acts: no fast polling
                if c.busy or c.desired is not Desired.RUNNING:
                    return True
                steady_stop = c.observed_state in EXITED and c.next_restart_at is None
                if c.observed_state != RUNNING and not steady_stop:
                    return True
        return False

    def _needs_config(self) -> bool:
        """Whether this pass must re-read app configs (our own writes are tracked locally)."""
        for rec in self._pods.values():
            if rec.deleting:
                return True
            if any(c.observed_state is None and not c.done for c in rec.containers):
                return True
        return False

    async def _run(self) -> None:
        while not self._closed:
            self._kick.clear()
            try:
                await self.pass_once()
            except asyncio.CancelledError:
                raise
            except DeviceError as e:
                log.info("device read failed device=%s error=%s", self.spec.address, e)
                for rec in self._pods.values():
                    for c in rec.containers:
                        # An outage may be a reload that lost the install: do not hold the install
                        # slot through it, and decide afresh from what the device shows afterwards.
                        c.install_issued_at = None
                        if c.install_settled is not None:
                            c.install_settled.set()
            except Exception:
                log.exception("xe driver pass failed device=%s", self.spec.address)
            interval = self.settings.active_interval if self._pending() else self.settings.poll_interval
            await wait_event(self._kick, interval)

    async def pass_once(self) -> Snapshot:
        """One observe-then-act pass over every container; returns the snapshot it used."""
        async with self._pass_lock:
            return await self._pass()

    async def _pass(self) -> Snapshot:
        snap = await self.source.take(need_config=self._needs_config())
        await self._fill_arp(snap)
        if self._allocator is not None:
            self._allocator.observe(
                {app: ip for app, entry in snap.configs.items() if (ip := network.static_ip_of(entry))}
            )
        now = time.monotonic()
        for rec in list(self._pods.values()):
            for c in rec.containers:
                self._observe_container(rec, c, snap, now)
                if c.busy or c.done or now < c.not_before or c.step_finished_at > snap.started:
                    continue  # busy, finished, backing off, or the read predates our last step
                action = decide(c.desired, self._observation(c, snap), self._context(rec, c, now))
                if action is Action.DONE:
                    if c.desired is Desired.UNINSTALLED:
                        c.desired = Desired.RUNNING  # replaced: install the new image next pass
                        self.kick()
                    else:
                        c.done = True
                        c.finished_at = c.finished_at or _now_str()  # one time for every later status
                        if self._allocator is not None:
                            self._allocator.release(c.app_id)
                    continue
                if action in (Action.NONE, Action.WAIT):
                    continue
                c.task = asyncio.create_task(self._execute(rec, c, action))
            if rec.deleting and all(c.done for c in rec.containers):
                self._finish_delete(rec, snap)
        self._publish(snap)
        return snap

    def _observation(self, c: ContainerRecord, snap: Snapshot) -> Observation:
        entry = snap.configs.get(c.app_id)
        # A config entry without our labels (partial or not ours) is rewritten; ours is trusted as is,
        # since everything in it derives from the immutable pod spec.
        current = entry is None or naming.identity_of(entry) is not None
        return Observation(
            readable=True, configured=entry is not None, config_current=current, state=snap.state_of(c.app_id)
        )

    def _context(self, rec: PodRecord, c: ContainerRecord, now: float) -> Context:
        should = rec.restart_policy == "Always" or (
            # The exit code the status shows: STOPPED without one is 0 (ERROR got 1 when observed).
            rec.restart_policy == "OnFailure" and (c.exit_code or 0) != 0
        )
        in_flight = c.install_issued_at is not None and now - c.install_issued_at < self.settings.install_settle_timeout
        return Context(
            install_in_flight=in_flight,
            should_restart=should and not rec.deleting,
            restart_due=c.next_restart_at is not None and now >= c.next_restart_at,
        )

    def _observe_container(self, rec: PodRecord, c: ContainerRecord, snap: Snapshot, now: float) -> None:
        state = snap.state_of(c.app_id)
        if c.install_settled is not None and state not in (None, "INSTALLING"):
            c.install_settled.set()
        if state is not None and c.install_issued_at is not None and state != "INSTALLING":
            c.install_issued_at = None
        if state != c.observed_state:
            log.info("app state pod=%s app=%s from=%s to=%s", rec.key, c.app_id, c.observed_state, state)
            if c.observed_state is not None or state is not None:
                c.error_reason = c.error_message = ""
                c.failures = 0
                c.not_before = 0.0
            if state == RUNNING:
                c.running_since = now
                if c.started_at is None or c.observed_state in EXITED or c.finished_at is not None:
                    c.started_at = _now_str()
                c.finished_at = None
                c.exit_code = None
                c.next_restart_at = None
            elif state in EXITED:
                c.finished_at = c.finished_at or _now_str()
                c.exit_code = self._exit_code(c.app_id, snap)
                if c.exit_code is None and state == ERROR:
                    c.exit_code = 1
                policy_restarts = rec.restart_policy == "Always" or (
                    rec.restart_policy == "OnFailure" and (c.exit_code or 0) != 0
                )
                if c.running_since is not None and now - c.running_since >= self.settings.restart_backoff_reset:
                    c.crash_streak = 0
                c.running_since = None
                if policy_restarts and not rec.deleting:
                    base = self.settings.restart_backoff_base
                    c.backoff = min(self.settings.restart_backoff_max, base * (2 ** min(c.crash_streak, 16)))
                    c.next_restart_at = now + c.backoff
            if state != RUNNING:
                c.arp_ip = None
                c.arp_checked_at = None
            c.observed_state = state

    @staticmethod
    def _exit_code(app_id: str, snap: Snapshot) -> int | None:
        """The exit code the device reports for an exited app (process status, then notifications)."""
        app = snap.oper.apps.get(app_id)
        if app is not None and app.exit_code is not None:
            return app.exit_code
        for n in reversed(snap.oper.notifications):
            if n.app_id == app_id:
                code = exit_code_in(n.message)
                if code is not None:
                    return code
        return None

    async def _fill_arp(self, snap: Snapshot) -> None:
        """Look up in ARP the running apps whose oper data shows no address (at most one read)."""
        now = time.monotonic()
        missing = []
        for rec in self._pods.values():
            for c in rec.containers:
                app = snap.oper.apps.get(c.app_id)
                if app is None or app.state != RUNNING or app.ips or c.arp_ip is not None or not app.macs:
                    continue
                if c.arp_checked_at is not None and now - c.arp_checked_at < self.settings.arp_retry_interval:
                    continue
                missing.append((c, app.macs))
        if not missing:
            return
        arp = await self.source.arp()
        for c, macs in missing:
            c.arp_ip = ip_for_macs(arp, macs)
            c.arp_checked_at = None if c.arp_ip else now

    # ---- steps -------------------------------------------------------------------------------
    async def _execute(self, rec: PodRecord, c: ContainerRecord, action: Action) -> None:
        client = self.client
        log.info("step pod=%s app=%s action=%s", rec.key, c.app_id, action.value)
        try:
            if action is Action.CONFIGURE:
                entry = await self._entry_for(c)
                await client.put(paths.cfg_app(c.app_id), paths.app_body(entry))
                self.source.note_configured(c.app_id, entry)
            elif action is Action.INSTALL:
                await self._install(c)
            elif action is Action.UNCONFIGURE:
                with contextlib.suppress(NotFound):
                    await client.delete(paths.cfg_app(c.app_id))
                self.source.note_unconfigured(c.app_id)
            else:
                op = action.value
                if action is Action.RESTART:
                    op = "deactivate" if c.observed_state == ERROR else "start"
                await self._rpc(op, c.app_id)
                if action is Action.RESTART:
                    c.last_terminated = {
                        "exitCode": c.exit_code if c.exit_code is not None else 0,
                        "reason": "Completed" if not c.exit_code else "Error",
                        "finishedAt": c.finished_at or _now_str(),
                        **({"startedAt": c.started_at} if c.started_at else {}),
                    }
                    c.restart_count += 1
                    c.crash_streak += 1
                    c.next_restart_at = None
            c.failures = 0
        except asyncio.CancelledError:
            raise
        except InvalidInput as e:
            self._step_failed(c, action, "InvalidConfiguration", str(e))
        except DeviceBusy as e:
            log.info("device busy pod=%s app=%s action=%s error=%s", rec.key, c.app_id, action.value, e)
            self._backoff(c)
        except DeviceRejected as e:
            self._step_failed(c, action, f"{action.value.capitalize()}Failed", e.device_message or str(e))
        except NotFound as e:
            self._step_failed(c, action, f"{action.value.capitalize()}Failed", str(e))
        except DeviceError as e:
            log.info("step failed pod=%s app=%s action=%s error=%s", rec.key, c.app_id, action.value, e)
            self._backoff(c)
        except Exception as e:
            log.exception("step crashed pod=%s app=%s action=%s", rec.key, c.app_id, action.value)
            self._step_failed(c, action, f"{action.value.capitalize()}Failed", str(e))
        finally:
            c.step_finished_at = time.monotonic()
            self.kick()

    def _backoff(self, c: ContainerRecord) -> None:
        c.failures += 1
        delay = min(self.settings.step_backoff_max, self.settings.active_interval * (2 ** min(c.failures - 1, 10)))
        c.not_before = time.monotonic() + delay

    def _step_failed(self, c: ContainerRecord, action: Action, reason: str, message: str) -> None:
        log.warning("step refused app=%s action=%s reason=%s message=%s", c.app_id, action.value, reason, message)
        c.error_reason = reason
        c.error_message = message
        self._backoff(c)

    async def _rpc(self, op: str, app_id: str, package: str | None = None) -> str:
        """One app-hosting RPC. IOS-XE reports refusals as ``% Error`` text in the output ``result``."""
        out = await self.client.rpc(paths.RPC_APP_HOSTING, paths.rpc_body(op, app_id, package))
        result = str(paths.member(paths.member(out, "output"), "result") or "")
        if result.lstrip().startswith("%") and "error" in result.lower():
            message = result.lstrip().lstrip("%").strip()
            if message.lower().startswith("error:"):
                message = message[len("error:") :].strip()
            raise DeviceRejected(f"{op} of app {app_id} refused: {message}", status=200, device_message=message)
        return result

    async def _install(self, c: ContainerRecord) -> None:
        async with self.client.install_slot:
            if self.spec.allow_unsigned_apps and not self._verification_disabled:
                # allowUnsignedApps: the device must accept unsigned packages before the first install.
                out = await self.client.rpc(paths.RPC_APP_HOSTING, paths.verification_body(enable=False))
                result = str(paths.member(paths.member(out, "output"), "result") or "")
                if result.lstrip().startswith("%"):
                    raise DeviceRejected(
                        f"disabling app signature verification refused: {result}", status=200, device_message=result
                    )
                self._verification_disabled = True
                log.info("app signature verification disabled device=%s (allowUnsignedApps)", self.spec.address)
            c.install_settled = asyncio.Event()
            try:
                await self._rpc("install", c.app_id, c.image)
                c.install_issued_at = time.monotonic()
                self.kick()
                # Hold the device's install slot until the device shows the install finished.
                await wait_event(c.install_settled, self.settings.install_settle_timeout)
            finally:
                c.install_settled = None

    async def _entry_for(self, c: ContainerRecord) -> dict[str, Any]:
        addr = None
        if self._allocator is not None:
            if not self._gateway_checked:
                # Configure steps of several containers run at once: one looks, the others wait for it.
                async with self._gateway_lock:
                    if not self._gateway_checked:
                        await self._discover_gateway()
            addr = self._allocator.allocate(c.app_id)
        return {**c.base_entry, **network.network_config(self._iface, addr)}

    async def _discover_gateway(self) -> None:
        """Use the device's own address inside podCIDR (e.g. VirtualPortGroup0's) as the gateway.

        A read that fails for a passing reason (no answer, 5xx, busy) raises: the configure step backs
        off and asks again, since guessing then would configure the app with a wrong gateway for good.
        An empty or absent table is an answer; so is a refusal that will not change (the user may not
        read ARP): then the first host of podCIDR stays the gateway, with a warning.
        """
        assert self._allocator is not None
        try:
            arp = parse_arp(await self.client.get(paths.ARP))
        except NotFound:
            arp = []
        except DeviceBusy:
            raise
        except (DeviceAuthError, DeviceRejected) as refused:
            if isinstance(refused, DeviceRejected) and (refused.status or 0) >= 500:
                raise
            log.warning(
                "static gateway: ARP table not readable, using %s device=%s error=%s",
                self._allocator.gateway, self.spec.address, refused,
            )
            arp = []
        self._gateway_checked = True
        for e in arp:
            if e.mode.endswith("interface"):
                ip = interface_address(arp, e.interface)
                if ip and ipaddress.ip_address(ip) in self._allocator.network:
                    # In place: addresses handed out and not yet on the device stay handed out.
                    self._allocator.use_gateway(ip)
                    log.info("static gateway device=%s gateway=%s interface=%s", self.spec.address, ip, e.interface)
                    return

    # ---- status ------------------------------------------------------------------------------
    def _views(self, rec: PodRecord, snap: Snapshot) -> list[ContainerView]:
        fails = {n.app_id: n.message for n in snap.oper.notifications if n.app_id and "fail" in n.status.lower()}
        views = []
        for c in rec.containers:
            app = snap.oper.apps.get(c.app_id)
            state = snap.state_of(c.app_id)
            ip = (app.ips[0] if app is not None and app.ips else None) or (c.arp_ip if state == RUNNING else None)
            reason, message = c.error_reason, c.error_message
            if app is not None and app.pkg_policy == "iox-pkg-policy-invalid" and state != RUNNING and not reason:
                reason = "PackagePolicyInvalid"
                message = (
                    f"the device refuses the package signature of {c.image}; sign the package, or set "
                    "allowUnsignedApps: true on the CiscoDevice"
                )
            views.append(
                ContainerView(
                    name=c.name,
                    image=c.image,
                    app_id=c.app_id,
                    state=state,
                    restart_count=c.restart_count,
                    started_at=c.started_at,
                    finished_at=c.finished_at,
                    exit_code=c.exit_code if state in EXITED else None,
                    restarting=state in EXITED and c.next_restart_at is not None and not rec.deleting,
                    backoff_seconds=c.backoff,
                    last_terminated=c.last_terminated,
                    error_reason=reason,
                    error_message=message,
                    device_message=fails.get(c.app_id, ""),
                    ip=ip,
                    deleted=c.done,
                )
            )
        return views

    def _status_of(self, rec: PodRecord, snap: Snapshot) -> PodStatus:
        status = pod_status(
            self._views(rec, snap),
            restart_policy=rec.restart_policy,
            start_time=rec.start_time,
            host_ip=self._host_ip,
            clock=rec.clock,
            qos_class=(rec.pod.get("status") or {}).get("qosClass"),
        )
        if rec.deleting and all(c.done for c in rec.containers) and rec.final_phase == "Failed":
            status["phase"] = "Failed"
        return status

    def _publish(self, snap: Snapshot) -> None:
        for rec in list(self._pods.values()):
            status = self._status_of(rec, snap)
            if status == rec.last_status:
                continue
            rec.last_status = status
            if self._callback is not None:
                pod = copy.deepcopy(rec.pod)
                pod["status"] = copy.deepcopy(status)
                try:
                    self._callback(pod)
                except Exception:
                    log.exception("pod status callback failed pod=%s", rec.key)

    def _finish_delete(self, rec: PodRecord, snap: Snapshot) -> None:
        log.info("pod deleted pod=%s uid=%s", rec.key, rec.uid)
        status = self._status_of(rec, snap)
        if status != rec.last_status and self._callback is not None:
            pod = copy.deepcopy(rec.pod)
            pod["status"] = status
            try:
                self._callback(pod)
            except Exception:
                log.exception("pod status callback failed pod=%s", rec.key)
        self._pods.pop(rec.uid, None)
        rec.gone.set()


def _now_str() -> str:
    from cvk.driver.xe.status import now_rfc3339

    return now_rfc3339()
