"""PodController: the pods bound to this node, driven onto the device (vk-library.md 2.2).

Start sequence:

1. informer on pods with ``fieldSelector=spec.nodeName=N`` (pods of other nodes never reach the
   driver); handlers enqueue keys on the pod queue;
2. wait for the informer's first list;
3. status path: the driver's notifier when it has one (primary), polling otherwise;
4. the dangling-pod cleanup (``cvk.pod.reconcile``), once, before any worker runs;
5. three work queues with ``pod_sync_workers`` workers each: pod sync, force delete, status.

The node controller's ping listener calls ``on_device_change``: when the device is lost every
non-terminal pod gets ``DeviceReachable=False`` and keeps its status; when it answers again every
pod's status is read afresh (the condition goes away) and every pod is synced again (re-adoption:
no create for pods the driver still runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import threading
from collections.abc import Callable
from typing import Any

from cvk.driver.base import Driver
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.events import EventRecorder
from cvk.kube.informer import Informer
from cvk.kube.workqueue import WorkQueue
from cvk.node.ping import PingResult
from cvk.options import RunOptions
from cvk.pod.compare import pod_should_enqueue
from cvk.pod.env import resolve_pod_env
from cvk.pod.keys import Pod, delete_key, is_terminal, pod_key, uid_of
from cvk.pod.poll import StatusPoller
from cvk.pod.reconcile import cleanup_dangling
from cvk.pod.resources import ApiResourceReader
from cvk.pod.status import PodStatusManager
from cvk.pod.sync import PodSyncer

log = logging.getLogger(__name__)

STOP_DRAIN_SECONDS = 5.0


class PodController:
    def __init__(
        self,
        client: KubeClient,
        driver: Driver,
        opts: RunOptions,
        *,
        node_ip: str = "",
        allocatable: Callable[[], dict[str, str]] = dict,
        skip_env_resolution: bool = False,
        recorder: EventRecorder | None = None,
    ) -> None:
        self._client = client
        self._driver = driver
        self._opts = opts
        self.node_name = opts.node_name
        self._node_ip = node_ip
        self._allocatable = allocatable
        self._recorder = recorder or EventRecorder(client, f"{opts.node_name}/pod-controller", opts.node_name)
        self.informer = Informer(client, paths.pods(), field_selector=f"spec.nodeName={opts.node_name}")
        self.sync_queue = WorkQueue("pod-sync", self._sync)
        self.delete_queue = WorkQueue("pod-delete", self._force_delete)
        self.status_queue = WorkQueue("pod-status", self._status_sync)
        self.status = PodStatusManager(
            client,
            driver,
            get_pod=self.informer.get,
            enqueue=self.status_queue.enqueue,
            enqueue_after=self.status_queue.enqueue_after,
        )
        self._reader = ApiResourceReader(client)
        self.syncer = PodSyncer(
            client,
            driver,
            get_pod=self.informer.get,
            status=self.status,
            record=self._record,
            resolve=None if skip_env_resolution else self._resolve,
            enqueue_delete=self.delete_queue.enqueue,
        )
        self.poller: StatusPoller | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._device: PingResult | None = None
        self.dangling_deleted: list[str] = []
        self._cleanup_pending = False
        self._down_before_ready = False  # an outage seen while starting (its recovery may be missed)
        self.ready = asyncio.Event()

    # ---- public ------------------------------------------------------------------------------
    def pods(self) -> list[Pod]:
        """The API pods bound to this node (for the kubelet API's /pods)."""
        return [copy.deepcopy(p) for p in self.informer.list()]

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.informer.add_handler(self._on_add, self._on_update, self._on_delete)
        await self.informer.start()
        while True:
            try:
                async with asyncio.timeout(self._opts.startup_timeout_seconds):
                    await self.informer.wait_synced()
                break
            except TimeoutError:
                log.error(
                    "pods bound to this node could not be listed yet; check the API server and RBAC (list/watch pods)",
                    extra={"node": self.node_name, "waited_s": self._opts.startup_timeout_seconds},
                )
        if self._driver.supports_notify:
            self._driver.notify_pods(self._on_driver_pod)
        else:
            self.poller = StatusPoller(
                self._driver, self.status, list_pods=self.informer.list, interval=self._opts.status_poll_seconds
            )
            self._tasks.append(asyncio.create_task(self.poller.run(), name="cvk-pod-status-poll"))
        api_pods = {pod_key(p): p for p in self.informer.list()}
        deleted = await cleanup_dangling(self._driver, api_pods, workers=self._opts.pod_sync_workers)
        self._cleanup_pending = deleted is None
        self.dangling_deleted = deleted or []
        workers = max(1, self._opts.pod_sync_workers)
        for q in (self.sync_queue, self.delete_queue, self.status_queue):
            self._tasks.append(asyncio.create_task(q.run(workers), name=f"cvk-queue-{q.name}"))
        self.ready.set()
        if self._device is not None and not self._device.device_ok:
            self.on_device_change(self._device)
        elif self._device is not None and self._down_before_ready:
            # The device went away and came back while we were starting: recover as on any return.
            self._readopt([p for p in self.informer.list() if not is_terminal(p)])
        log.info("pod controller started", extra={"node": self.node_name, "pods": len(api_pods)})

    async def stop(self, drain_seconds: float = STOP_DRAIN_SECONDS) -> None:
        """Stop: workers finish the item in hand (up to ``drain_seconds``), nothing new starts."""
        for q in (self.sync_queue, self.delete_queue, self.status_queue):
            q.shutdown()
        workers = [t for t in self._tasks if t.get_name().startswith("cvk-queue-")]
        if workers:
            await asyncio.wait(workers, timeout=drain_seconds)
        with contextlib.suppress(Exception):
            await self.informer.stop()
        with contextlib.suppress(Exception):
            await self._recorder.close()
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def on_device_change(self, result: PingResult) -> None:
        """Ping listener: mark every pod on outage, re-adopt every pod on recovery."""
        was_down = self._device is not None and not self._device.device_ok
        self._device = result
        if not self.ready.is_set():
            self._down_before_ready = self._down_before_ready or not result.device_ok
            return
        pods = [p for p in self.informer.list() if not is_terminal(p)]
        if not result.device_ok:
            for p in pods:
                self.status.mark_outage(pod_key(p), result.reason, result.message)
            log.warning("device lost: pods keep their status", extra={"pods": len(pods), "reason": result.reason})
        elif was_down:
            self._readopt(pods)

    def _readopt(self, pods: list[Pod]) -> None:
        """The device answers again: fresh status, a sync that asks the driver, the deferred passes."""
        for p in pods:
            key = pod_key(p)
            self.status.recover(key)
            self.syncer.forget(key)  # ask the driver again: the device may have lost the app
            self.sync_queue.forget(key)
            self.sync_queue.enqueue(key)
        for key in self.syncer.missing_pending:  # removed from the API during the outage
            self.sync_queue.forget(key)
            self.sync_queue.enqueue(key)
        if self._cleanup_pending:
            self._tasks.append(asyncio.create_task(self._late_cleanup(), name="cvk-pod-dangling"))
        log.info("device back: re-adopting", extra={"pods": len(pods)})

    async def _late_cleanup(self) -> None:
        """The start-up dangling-pod pass, when the device could not be listed at start."""
        if not self._cleanup_pending:
            return
        deleted = await cleanup_dangling(self._driver, self._api_pods, workers=self._opts.pod_sync_workers)
        if deleted is not None:
            self._cleanup_pending = False
            self.dangling_deleted = deleted

    def _api_pods(self) -> dict[str, Pod]:
        return {pod_key(p): p for p in self.informer.list()}

    # ---- informer handlers -------------------------------------------------------------------
    def _on_add(self, pod: Pod) -> None:
        self.sync_queue.enqueue(pod_key(pod))
        if self._device is not None and not self._device.device_ok and not is_terminal(pod):
            self.status.mark_outage(pod_key(pod), self._device.reason, self._device.message)

    def _on_update(self, old: Pod, new: Pod) -> None:
        if uid_of(old) != uid_of(new):  # deleted and created again while the watch was down (relist)
            self._on_delete(old)
            self._on_add(new)
            return
        self.status.on_api_update(old, new)
        if pod_should_enqueue(old, new):
            self.sync_queue.enqueue(pod_key(new))

    def _on_delete(self, pod: Pod) -> None:
        key = pod_key(pod)
        self.syncer.forget(key)
        self.sync_queue.enqueue(key)
        self.delete_queue.forget(delete_key(pod))

    # ---- driver notifier ---------------------------------------------------------------------
    def _on_driver_pod(self, pod: Pod) -> None:
        pod = copy.deepcopy(pod)
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.status.notify, pod)
        else:
            self.status.notify(pod)

    # ---- queue handlers ----------------------------------------------------------------------
    async def _sync(self, key: str) -> None:
        await self.syncer.sync(key)

    async def _force_delete(self, key: str) -> None:
        await self.syncer.force_delete(key)

    async def _status_sync(self, key: str) -> None:
        await self.status.sync(key)

    async def _resolve(self, pod: Pod) -> Pod:
        def record(type_: str, reason: str, message: str) -> None:
            self._record(pod, type_, reason, message)

        return await resolve_pod_env(pod, self._reader, record, host_ip=self._node_ip, allocatable=self._allocatable())

    def _record(self, pod: Pod, type_: str, reason: str, message: str) -> None:
        try:
            self._recorder.event(pod, "Warning" if type_ == "Warning" else "Normal", reason, message)
        except Exception:
            log.exception("recording event failed", extra={"reason": reason})

    def stats(self) -> dict[str, Any]:
        return {
            "creates": self.syncer.calls["create"],
            "updates": self.syncer.calls["update"],
            "deletes": self.syncer.calls["delete"],
            "status_writes": self.status.writes,
            "status_skipped": self.status.skipped,
        }
