"""The node Lease ``kube-node-lease/N`` (vk-library.md 1.3, behaviours 3, 4, 5 and 13).

- holder = node name, duration ``lease_duration_seconds`` (40 s), ``renewTime`` = now on every
  write, one ownerReference to the Node (so deleting the Node garbage-collects its Lease);
- a renewal first tries an optimistic PUT built from the lease we wrote last (no GET); a conflict
  GETs the lease and tries again, at most ``MAX_UPDATE_RETRIES`` PUTs per renewal; a missing lease
  is created (a create counts as a renewal);
- errors are logged and retried at the next renewal; the first ``ensure`` is retried with a
  100 ms doubling backoff capped at 7 s (without upstream's "sleeps twice the delay" quirk).

Renewals are gated by the ping controller's *health* (see ``cvk.node.ping``): a device outage does
not stop them, an unexpected driver failure does.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
MAX_UPDATE_RETRIES = 5
ENSURE_BASE_DELAY = 0.1
ENSURE_MAX_DELAY = 7.0


def micro_time(when: datetime | None = None) -> str:
    """A Kubernetes MicroTime (RFC 3339 with microseconds, UTC)."""
    when = when or datetime.now(UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_lease(node_name: str, node_uid: str | None, duration: int) -> dict[str, Any]:
    lease: dict[str, Any] = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": node_name, "namespace": LEASE_NAMESPACE},
        "spec": {"holderIdentity": node_name, "leaseDurationSeconds": duration, "renewTime": micro_time()},
    }
    if node_uid:
        lease["metadata"]["ownerReferences"] = [owner_reference(node_name, node_uid)]
    return lease


def owner_reference(node_name: str, node_uid: str) -> dict[str, str]:
    return {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}


def renewed(lease: dict[str, Any], node_name: str, node_uid: str | None, duration: int) -> dict[str, Any]:
    """A copy of ``lease`` with holder, duration, renewTime and the owner reference to the Node."""
    out = copy.deepcopy(lease)
    meta = out.setdefault("metadata", {})
    spec = out.setdefault("spec", {})
    spec["holderIdentity"] = node_name
    spec["leaseDurationSeconds"] = duration
    spec["renewTime"] = micro_time()
    if node_uid:
        refs = [r for r in meta.get("ownerReferences") or [] if r.get("kind") != "Node"]
        # Missing, or naming an older Node of the same name (deleted and created again).
        meta["ownerReferences"] = [owner_reference(node_name, node_uid), *refs]
    return out


class LeaseController:
    """Renews the node Lease every ``renew_seconds`` while ``may_renew()`` is true."""

    def __init__(
        self,
        client: KubeClient,
        node_name: str,
        *,
        node_uid: Callable[[], str | None],
        duration_seconds: int = 40,
        renew_seconds: float = 10.0,
        may_renew: Callable[[], bool] = lambda: True,
    ) -> None:
        if duration_seconds <= 0:
            raise ValueError("lease duration must be > 0")
        if not 0 < renew_seconds < duration_seconds:
            raise ValueError("lease renew interval must be > 0 and shorter than the lease duration")
        self._client = client
        self._node = node_name
        self._node_uid = node_uid
        self._duration = duration_seconds
        self._renew = renew_seconds
        self._may_renew = may_renew
        self._path = paths.leases(LEASE_NAMESPACE, node_name)
        self._cached: dict[str, Any] | None = None
        self.renewals = 0

    @property
    def lease(self) -> dict[str, Any] | None:
        return self._cached

    async def _ensure(self) -> tuple[dict[str, Any], bool]:
        """(lease, created): GET it, or create it when missing."""
        try:
            return await self._client.get(self._path), False
        except NotFoundError:
            pass
        body = new_lease(self._node, self._node_uid(), self._duration)
        try:
            return await self._client.create(paths.leases(LEASE_NAMESPACE), body), True
        except AlreadyExistsError:
            return await self._client.get(self._path), False

    async def _ensure_with_backoff(self) -> tuple[dict[str, Any], bool]:
        delay = ENSURE_BASE_DELAY
        while True:
            try:
                return await self._ensure()
            except ApiError as err:
                log.warning(
                    "lease ensure failed", extra={"node": self._node, "error": str(err), "retry_in": round(delay, 3)}
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, ENSURE_MAX_DELAY)

    async def renew_once(self) -> bool:
        """One renewal; True when the lease was written."""
        if not self._may_renew():
            log.warning("ping result is not clean, not updating lease", extra={"node": self._node})
            return False
        first = 1
        if self._cached is not None:
            first = 2  # the optimistic PUT is the first of the MAX_UPDATE_RETRIES attempts
            try:
                body = renewed(self._cached, self._node, self._node_uid(), self._duration)
                self._cached = await self._client.replace(self._path, body)
                self.renewals += 1
                return True
            except (ConflictError, NotFoundError):
                self._cached = None
        lease, created = await self._ensure_with_backoff()
        if created:
            self._cached = lease
            self.renewals += 1
            log.info("lease created", extra={"node": self._node})
            return True
        for attempt in range(first, MAX_UPDATE_RETRIES + 1):
            try:
                body = renewed(lease, self._node, self._node_uid(), self._duration)
                self._cached = await self._client.replace(self._path, body)
                self.renewals += 1
                return True
            except ConflictError:
                log.info("lease conflict", extra={"node": self._node, "attempt": attempt})
                lease, created = await self._ensure_with_backoff()
                if created:
                    self._cached = lease
                    self.renewals += 1
                    return True
            except NotFoundError:
                lease, created = await self._ensure_with_backoff()
                if created:
                    self._cached = lease
                    self.renewals += 1
                    return True
        log.error("lease update failed", extra={"node": self._node, "attempts": MAX_UPDATE_RETRIES})
        return False

    async def run(self) -> None:
        while True:
            try:
                await self.renew_once()
            except ApiError as err:
                log.warning("lease renewal failed", extra={"node": self._node, "error": str(err)})
            except Exception:  # a bug must not stop the heartbeat for good
                log.exception("lease renewal failed unexpectedly", extra={"node": self._node})
            await asyncio.sleep(self._renew)
