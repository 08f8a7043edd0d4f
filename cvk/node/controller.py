"""NodeController: register the Node, keep its Lease and status fresh, report the device.

Run sequence (vk-library.md 1.2, with the device-outage semantics of ``cvk.node.ping``):

1. start the ping loop and wait for the first result. An unexpected (non-device) ping failure aborts
   registration with "node ping failed: ..."; a device failure does not: the node registers with
   ``DeviceReachable=False`` and recovers when the device answers (upstream-cvk gap 19: start
   degraded instead of crash-looping);
2. ensure the Node: a status patch when it exists, a create (labels, taints, status) when it does
   not;
3. start the Lease loop and the status loop. The status is patched every ``node_status_seconds``
   and at once when the device's reachability changes or the driver notifies new resources. A Node
   deleted while we run is created again (upstream needs an opt-in handler for that).

On stop nothing is deleted: the Node and the Lease stay (behaviour 12).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from cvk.config.spec import DeviceSpec
from cvk.driver.base import Driver, NodeResources
from cvk.errors import DeviceError
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError
from cvk.node import objects
from cvk.node.lease import LeaseController
from cvk.node.patch import status_patch
from cvk.node.ping import PingController, PingResult
from cvk.node.taint import set_outage_taint
from cvk.options import RunOptions

log = logging.getLogger(__name__)

STATUS_RETRIES = 5
RESOURCES_TIMEOUT = 10.0
REGISTER_BASE_DELAY = 0.5
REGISTER_MAX_DELAY = 10.0


class NodePingFailed(RuntimeError):
    """The ping result is not clean: node status and lease writes are withheld."""


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NodeController:
    def __init__(
        self,
        client: KubeClient,
        driver: Driver,
        spec: DeviceSpec,
        opts: RunOptions,
        *,
        node_ip: str,
        kubelet_port: int,
        ping: PingController | None = None,
    ) -> None:
        self._client = client
        self._driver = driver
        self._spec = spec
        self._opts = opts
        self.node_name = opts.node_name
        self._node_ip = node_ip
        self._kubelet_port = kubelet_port
        self.ping = ping or PingController(driver.ping, interval=opts.ping_seconds)
        self._resources: NodeResources | None = None
        self._server: dict[str, Any] | None = None
        self._trigger = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()
        self.lease = LeaseController(
            client,
            self.node_name,
            node_uid=self._node_uid,
            duration_seconds=opts.lease_duration_seconds,
            renew_seconds=opts.lease_renew_seconds,
            may_renew=self._healthy,
        )
        self.status_writes = 0
        self._taint_applied: bool | None = None  # None: not checked yet

    # ---- public ------------------------------------------------------------------------------
    @property
    def server_node(self) -> dict[str, Any] | None:
        """The Node as the API server last returned it."""
        return self._server

    @property
    def ready(self) -> asyncio.Event:
        return self._ready

    def allocatable(self) -> dict[str, str]:
        """The node's allocatable resources as last reported (default limits for resourceFieldRef)."""
        return objects.node_capacity(self._spec, self._resources)[1]

    def trigger_update(self) -> None:
        """Ask for a status patch as soon as possible."""
        self._trigger.set()

    async def start(self) -> None:
        """Register the node and start the background loops; returns when the node exists."""
        self.ping.add_listener(self._on_ping_change)
        with contextlib.suppress(Exception):
            self._driver.notify_node_status(self._on_node_resources)
        self._tasks.append(asyncio.create_task(self.ping.run(), name="cvk-node-ping"))
        first = await self.ping.wait_first()
        if not first.healthy:
            await self.stop()
            raise NodePingFailed(f"node ping failed: {first.message}")
        if first.device_ok:
            await self._refresh_resources()
        try:
            await self._ensure_node_with_retries()
        except BaseException:
            await self.stop()
            raise
        await self._reconcile_taint()
        self._tasks.append(asyncio.create_task(self.lease.run(), name="cvk-node-lease"))
        self._tasks.append(asyncio.create_task(self._status_loop(), name="cvk-node-status"))
        self._ready.set()
        log.info("node registered", extra={"node": self.node_name, "uid": self._node_uid()})

    async def stop(self) -> None:
        """Stop the loops. The Node and its Lease are left in place."""
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    # ---- desired state ---------------------------------------------------------------------
    def _node_uid(self) -> str | None:
        if self._server is None:
            return None
        uid = (self._server.get("metadata") or {}).get("uid")
        return str(uid) if uid else None

    def _healthy(self) -> bool:
        latest = self.ping.latest
        return latest is not None and latest.healthy

    def desired(self, server: dict[str, Any] | None) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
        """(labels, annotations, status) we want the Node to have now."""
        latest = self.ping.latest
        previous = ((server or {}).get("status") or {}).get("conditions") or []
        conditions = objects.node_conditions(
            device_ok=None if latest is None else latest.device_ok,
            device_reason=latest.reason if latest else "",
            device_message=latest.message if latest else "",
            now=now_rfc3339(),
            previous=previous,
        )
        status = objects.node_status(
            self._spec,
            node_name=self.node_name,
            resources=self._resources,
            node_ip=self._node_ip,
            kubelet_port=self._kubelet_port,
            conditions=conditions,
        )
        labels = objects.node_labels(self._spec, self.node_name, self._resources)
        annotations = objects.node_annotations(self._spec, self._resources)
        return labels, annotations, status

    # ---- writes ------------------------------------------------------------------------------
    async def update_status(self) -> dict[str, Any]:
        """GET the node and strategic-merge-patch its status. NotFoundError propagates."""
        latest = self.ping.latest
        if latest is None or not latest.healthy:
            msg = latest.message if latest else "no ping result yet"
            raise NodePingFailed(f"not updating node status because node ping failed: {msg}")
        last_err: ApiError | None = None
        for _ in range(STATUS_RETRIES):
            server = await self._client.get(paths.nodes(self.node_name))
            labels, annotations, status = self.desired(server)
            body = status_patch(server, labels=labels, annotations=annotations, status=status)
            try:
                self._server = await self._client.patch(
                    paths.nodes(self.node_name, "status"), body, patch_type="strategic"
                )
                self.status_writes += 1
                return self._server
            except ConflictError as err:
                last_err = err
        assert last_err is not None
        raise last_err

    async def _create(self) -> None:
        labels, annotations, status = self.desired(None)
        body = objects.new_node(
            self._spec, node_name=self.node_name, labels=labels, annotations=annotations, status=status
        )
        # Seed the last-applied annotations so the first patch knows what we own.
        patch = status_patch(body, labels=labels, annotations=annotations, status=status)
        body["metadata"]["annotations"].update(
            {
                k: v
                for k, v in patch["metadata"]["annotations"].items()
                if k in (objects.LAST_APPLIED_META, objects.LAST_APPLIED_STATUS)
            }
        )
        try:
            self._server = await self._client.create(paths.nodes(), body)
            log.info("node created", extra={"node": self.node_name})
        except AlreadyExistsError:
            await self.update_status()

    async def _ensure_node(self) -> None:
        try:
            await self.update_status()
            log.info("node exists, status patched", extra={"node": self.node_name})
        except NotFoundError:
            await self._create()

    async def _reconcile_taint(self) -> None:
        """The device-outage taint follows the device (see ``cvk.node.taint``)."""
        latest = self.ping.latest
        if latest is None or not latest.healthy:
            return
        want = not latest.device_ok
        if want == self._taint_applied:
            return
        try:
            await set_outage_taint(self._client, self.node_name, want)
            self._taint_applied = want
        except ApiError as err:
            log.warning("device outage taint not updated", extra={"node": self.node_name, "error": str(err)})

    async def _ensure_node_with_retries(self) -> None:
        """Register; API failures (unreachable, 5xx, RBAC) are retried with backoff, each logged."""
        delay = REGISTER_BASE_DELAY
        while True:
            try:
                await self._ensure_node()
                return
            except NodePingFailed:
                raise
            except ApiError as err:
                log.error(
                    "node registration failed",
                    extra={"node": self.node_name, "error": str(err), "retry_in": round(delay, 3)},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, REGISTER_MAX_DELAY)

    async def _refresh_resources(self) -> None:
        try:
            async with asyncio.timeout(RESOURCES_TIMEOUT):
                self._resources = await self._driver.node_resources()
        except (DeviceError, TimeoutError) as err:
            log.warning("cannot read node resources from the device", extra={"error": str(err)})

    def _on_ping_change(self, result: PingResult) -> None:
        self._trigger.set()

    def _on_node_resources(self, resources: NodeResources) -> None:
        self._resources = resources
        self._trigger.set()

    async def _status_loop(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 a cancel that lands as wait_for times out is
            # turned into TimeoutError, and suppressing that would make this loop unkillable.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._opts.node_status_seconds):
                    await self._trigger.wait()
            self._trigger.clear()
            latest = self.ping.latest
            if latest is not None and latest.device_ok:
                await self._refresh_resources()
            try:
                await self.update_status()
                await self._reconcile_taint()
            except NotFoundError:
                log.warning("node was deleted, creating it again", extra={"node": self.node_name})
                self._taint_applied = None
                try:
                    await self._create()
                except ApiError as err:
                    log.warning("node re-create failed", extra={"node": self.node_name, "error": str(err)})
            except (ApiError, NodePingFailed) as err:
                log.warning("node status update failed", extra={"node": self.node_name, "error": str(err)})
            except Exception:  # a bug must not stop the heartbeat for good
                log.exception("node status update failed unexpectedly", extra={"node": self.node_name})
