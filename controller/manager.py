"""``cisco-vk controller``: watches CiscoDevices and keeps one cisco-vk Deployment per device.

Wiring only: leader election (controller/leader.py), informers on CiscoDevices, the Deployments
and ConfigMaps the controller owns, Secrets and the virtual Nodes (whose caches also serve the
reconciler's reads), one work queue of device keys, the reconciler (controller/reconcile.py), and a
small health/metrics endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from controller import render
from controller.leader import LeaderElector, LeadershipLost
from controller.reconcile import RENDERED_HASH, ControllerOptions, DeviceReconciler, device_path
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.config import load_config
from cvk.kube.errors import ConflictError
from cvk.kube.events import EventRecorder
from cvk.kube.informer import Informer
from cvk.kube.workqueue import WorkQueue

log = logging.getLogger("cvk.controller")

Obj = dict[str, Any]

SECRETS_FIELD_SELECTOR = "type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token"
RECONCILES = Counter("cisco_vk_controller_reconciles_total", "CiscoDevice reconcile passes", ["result"])
RECONCILE_SECONDS = Histogram("cisco_vk_controller_reconcile_seconds", "Duration of one reconcile pass")


@dataclasses.dataclass
class ManagerOptions:
    kubeconfig: str | None = None
    namespace: str = "cisco-vk-system"  # where the leader-election Lease lives
    leader_elect: bool = True
    lease_name: str = "cisco-vk-controller"
    lease_seconds: int = 15  # a leader that cannot renew for this long is replaced
    renew_seconds: float = 5.0
    retry_seconds: float = 2.0  # how often a follower tries to take the Lease
    workers: int = 4
    health_address: str = "0.0.0.0"
    health_port: int = 8081  # 0: ephemeral; -1: no health endpoint
    resync_seconds: float = 300.0
    controller: ControllerOptions = dataclasses.field(default_factory=ControllerOptions)


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


class Manager:
    def __init__(self, opts: ManagerOptions) -> None:
        self.opts = opts
        self.client: KubeClient | None = None
        self.health_port: int | None = None
        self.ready = False
        self._device_node: dict[str, str] = {}  # device key -> node name
        self._node_devices: dict[str, set[str]] = {}  # node name -> device keys (one unless conflicting)
        self._device_secrets: dict[str, frozenset[str]] = {}  # device key -> "ns/name" of Secrets it uses
        self._secret_devices: dict[str, set[str]] = {}  # "ns/name" of a Secret -> device keys
        self.elector: LeaderElector | None = None
        self.reconciler: DeviceReconciler | None = None
        self._caches: dict[str, Informer] = {}

    # ---- event handlers: map every watched object to the device keys it concerns ---------------
    # Updates that cannot change what a pass would do or report are skipped: the controller's own
    # status writes, node heartbeats, Deployment bookkeeping. A resync catches anything missed.
    def _index_device(self, obj: Obj) -> None:
        key, node = _key(obj), render.node_name(obj)
        secrets = _secret_names(obj)
        if self._device_node.get(key) != node or self._device_secrets.get(key) != secrets:
            self._unindex_device(key)
            self._device_node[key] = node
            self._node_devices.setdefault(node, set()).add(key)
            self._device_secrets[key] = secrets
            for secret in secrets:
                self._secret_devices.setdefault(secret, set()).add(key)

    def _unindex_device(self, key: str) -> None:
        node = self._device_node.pop(key, None)
        if node is not None:
            _discard(self._node_devices, node, key)
        for secret in self._device_secrets.pop(key, frozenset()):
            _discard(self._secret_devices, secret, key)

    def _devices_on_node(self, node: str) -> list[Obj]:
        found = (self.devices.get(key) for key in self._node_devices.get(node, set()))
        return [d for d in found if d is not None]

    def _on_device_add(self, obj: Obj) -> None:
        self._index_device(obj)
        self.queue.enqueue(_key(obj))

    def _on_device_update(self, old: Obj, new: Obj) -> None:
        self._index_device(new)
        om, nm = old.get("metadata") or {}, new.get("metadata") or {}
        if (om.get("generation") != nm.get("generation") or om.get("uid") != nm.get("uid")
                or bool(om.get("deletionTimestamp")) != bool(nm.get("deletionTimestamp"))
                or (render.FINALIZER in (om.get("finalizers") or [])
                    and render.FINALIZER not in (nm.get("finalizers") or []))  # removed by someone: add again
                or (nm.get("deletionTimestamp") and om.get("finalizers") != nm.get("finalizers"))):
            self.queue.enqueue(_key(new))

    def _on_device_delete(self, obj: Obj) -> None:
        key, node = _key(obj), render.node_name(obj)
        self._unindex_device(key)
        self.queue.enqueue(key)
        # A device going away frees its node name for another device that waits for it.
        for other in self._node_devices.get(node, set()):
            self.queue.enqueue(other)

    def _on_owned(self, obj: Obj) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        name = labels.get(render.DEVICE_LABEL)
        if name:
            self.queue.enqueue(f"{obj['metadata']['namespace']}/{name}")

    def _on_owned_update(self, old: Obj, new: Obj) -> None:
        if _deployment_view(old) != _deployment_view(new):
            self._on_owned(new)

    def _on_configmap_update(self, old: Obj, new: Obj) -> None:
        if old.get("data") != new.get("data") or _deployment_view(old) != _deployment_view(new):
            self._on_owned(new)

    def _on_node(self, obj: Obj) -> None:
        for key in self._node_devices.get(str((obj.get("metadata") or {}).get("name")), set()):
            self.queue.enqueue(key)

    def _on_node_update(self, old: Obj, new: Obj) -> None:
        if _node_view(old) != _node_view(new):
            self._on_node(new)

    def _on_secret(self, obj: Obj) -> None:
        for key in self._secret_devices.get(_key(obj), set()):
            self.queue.enqueue(key)

    def _observer(self, plural: str) -> tuple[Callable[[Obj], None], Callable[[Obj, Obj], None],
                                              Callable[[Obj], None]]:
        """Informer handlers telling the reconciler what its cache now shows (see ``observed``)."""
        path_of = _WRITTEN_KINDS[plural]

        def on_add(obj: Obj) -> None:
            if self.reconciler is not None:
                self.reconciler.observed(path_of(obj), obj)

        def on_update(_old: Obj, new: Obj) -> None:
            on_add(new)

        def on_delete(obj: Obj) -> None:
            if self.reconciler is not None:
                self.reconciler.observed(path_of(obj), None)

        return on_add, on_update, on_delete

    def _cached(self, path: str) -> tuple[bool, Obj | None]:
        """Reads for the reconciler from the informer caches: (known, object). Owned Deployments and
        ConfigMaps are cached by label, so a miss means "not ours": the create that follows meets
        any foreign object of that name as AlreadyExists. A Secret miss goes to the API server."""
        parts = path.strip("/").split("/")
        if len(parts) >= 4 and parts[-4] == "namespaces":
            plural, key = parts[-2], f"{parts[-3]}/{parts[-1]}"
        else:
            plural, key = parts[-2], parts[-1]
        informer = self._caches.get(plural)
        if informer is None or not informer.has_synced:
            return False, None
        obj = informer.get(key)
        if obj is None and plural == "secrets":
            return False, None  # maybe of a type the cache leaves out
        return True, obj

    async def _handle(self, key: str) -> None:
        namespace, name = key.split("/", 1)
        assert self.reconciler is not None
        with RECONCILE_SECONDS.time():
            try:
                again = await self.reconciler.reconcile(namespace, name)
            except ConflictError:
                # Someone wrote in between: look again with fresh reads, with the queue's backoff.
                RECONCILES.labels("conflict").inc()
                log.debug("reconcile conflict, retrying device=%s", key)
                self.queue.enqueue_rate_limited(key)
                return
            except Exception:
                RECONCILES.labels("error").inc()
                raise
        RECONCILES.labels("ok").inc()
        if again is not None:
            self.queue.enqueue_after(key, again)

    # ---- health ------------------------------------------------------------------------------
    async def _start_health(self) -> web.AppRunner | None:
        if self.opts.health_port < 0:
            return None

        async def healthz(_: web.Request) -> web.Response:
            return web.Response(text="ok")

        async def readyz(_: web.Request) -> web.Response:
            return web.Response(text="ok" if self.ready else "not ready", status=200 if self.ready else 503)

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/readyz", readyz)
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.opts.health_address, self.opts.health_port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.health_port = int(sockets[0].getsockname()[1])
        return runner

    # ---- run ---------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        config = load_config(self.opts.kubeconfig)
        self.client = client = KubeClient(config)
        identity = f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"
        recorder = EventRecorder(client, component="cisco-vk-controller", host=identity)
        health = await self._start_health()
        elector = None
        try:
            if self.opts.leader_elect:
                elector = LeaderElector(client, self.opts.namespace, self.opts.lease_name, identity,
                                        lease_seconds=self.opts.lease_seconds,
                                        renew_seconds=self.opts.renew_seconds,
                                        retry_seconds=self.opts.retry_seconds)
                self.elector = elector
                elector.start()
                waiter = asyncio.ensure_future(elector.leading.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                if stop.is_set():
                    return
            await self._run_leading(client, recorder, stop, elector.lost if elector else None)
        finally:
            if elector:
                await elector.stop()
            await recorder.close()
            if health:
                await health.cleanup()
            await client.close()

    async def _run_leading(self, client: KubeClient, recorder: EventRecorder, stop: asyncio.Event,
                           lost: asyncio.Event | None) -> None:
        self.devices = Informer(client, device_path_all(), name="ciscodevices")
        owned_selector = f"app.kubernetes.io/managed-by={render.MANAGED_BY}"
        self.deployments = Informer(client, paths.api_group("apps", "v1", "deployments"),
                                    label_selector=owned_selector, name="deployments")
        self.configmaps = Informer(client, paths.core("configmaps"), label_selector=owned_selector,
                                   name="configmaps")
        # All Nodes, not only cisco-vk's: a device whose name a foreign Node holds must be refused.
        self.nodes = Informer(client, paths.nodes(), name="nodes")
        # Helm release and legacy token Secrets are large or many and never device credentials;
        # a Secret missing from this cache is asked of the API server (see _cached).
        self.secrets = Informer(client, paths.core("secrets"), field_selector=SECRETS_FIELD_SELECTOR,
                                name="secrets")
        self._caches = {"ciscodevices": self.devices, "deployments": self.deployments,
                        "configmaps": self.configmaps, "nodes": self.nodes, "secrets": self.secrets}
        self.reconciler = DeviceReconciler(client, recorder, self.opts.controller, self._devices_on_node,
                                           cache=self._cached)
        self.queue = WorkQueue("ciscodevices", self._handle)

        for plural, informer in self._caches.items():
            if plural in _WRITTEN_KINDS:
                informer.add_handler(*self._observer(plural))
        self.devices.add_handler(self._on_device_add, self._on_device_update, self._on_device_delete)
        self.deployments.add_handler(self._on_owned, self._on_owned_update, self._on_owned)
        self.configmaps.add_handler(self._on_owned, self._on_configmap_update, self._on_owned)
        self.nodes.add_handler(self._on_node, self._on_node_update, self._on_node)
        self.secrets.add_handler(self._on_secret, _on_update(self._on_secret), self._on_secret)

        informers = [self.devices, self.deployments, self.configmaps, self.nodes, self.secrets]
        tasks: list[asyncio.Future[Any]] = []
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
        if lost is not None:
            waits.append(asyncio.ensure_future(lost.wait()))
        try:
            for informer in informers:
                await informer.start()
            synced: asyncio.Future[Any] = asyncio.ensure_future(
                asyncio.gather(*(i.wait_synced(60) for i in informers)))
            await asyncio.wait([synced, *waits], return_when=asyncio.FIRST_COMPLETED)
            if not synced.done():  # stopped (or lost the lease) before the caches filled
                synced.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await synced
            else:
                synced.result()  # a TimeoutError ends the run (the process restarts)
                self.ready = True
                log.info("controller started devices=%d", len(self.devices.list()))
                tasks.append(asyncio.create_task(self.queue.run(self.opts.workers), name="controller-workers"))
                tasks.append(asyncio.create_task(self._resync(), name="controller-resync"))
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            self.ready = False
            self.queue.shutdown()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for informer in informers:
                await informer.stop()
        if lost is not None and lost.is_set():
            raise LeadershipLost("lost leadership; exiting so that a new leader takes over")

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.opts.resync_seconds)
            for device in self.devices.list():
                self.queue.enqueue(_key(device))


def _on_update(handler: Callable[[Obj], None]) -> Callable[[Obj, Obj], None]:
    def on_update(_old: Obj, new: Obj) -> None:
        handler(new)
    return on_update


def _ns_name(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace")), str(meta.get("name"))


# The kinds the reconciler writes and reads back from a cache, with the path it uses for each.
_WRITTEN_KINDS: dict[str, Callable[[Obj], str]] = {
    "ciscodevices": lambda o: device_path(*_ns_name(o)),
    "deployments": lambda o: paths.deployments(*_ns_name(o)),
    "configmaps": lambda o: paths.configmaps(*_ns_name(o)),
    "secrets": lambda o: paths.secrets(*_ns_name(o)),
}


def _secret_names(device: Obj) -> frozenset[str]:
    """The Secrets (as "namespace/name") a device's cisco-vk pod uses."""
    ns = (device.get("metadata") or {}).get("namespace")
    source = render.password_source(device)
    names = {*render.mounted_secret_names(device), *([source[0]] if source else [])}
    return frozenset(f"{ns}/{n}" for n in names)


def _discard(index: dict[str, set[str]], name: str, key: str) -> None:
    keys = index.get(name)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[name]


def _node_view(node: Obj) -> Obj:
    """What the controller reports from a Node: its conditions (heartbeat times aside) and facts."""
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    conditions = [(c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
                  for c in status.get("conditions") or []]
    return {"conditions": conditions, "labels": meta.get("labels"), "annotations": meta.get("annotations"),
            "nodeInfo": status.get("nodeInfo"), "deleting": bool(meta.get("deletionTimestamp"))}


def _deployment_view(deployment: Obj) -> Obj:
    """What the controller uses of a Deployment (or ConfigMap): readiness and whether it matches
    what the controller wrote."""
    meta = deployment.get("metadata") or {}
    status = deployment.get("status") or {}
    return {"generation": meta.get("generation"), "observed": status.get("observedGeneration"),
            "ready": status.get("readyReplicas"), "hash": (meta.get("annotations") or {}).get(RENDERED_HASH),
            "deleting": bool(meta.get("deletionTimestamp"))}


def device_path_all() -> str:
    """CiscoDevices in all namespaces."""
    return device_path(None)


async def run(opts: ManagerOptions, stop: asyncio.Event) -> None:
    await Manager(opts).run(stop)
