"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does.

A candidate takes the Lease when it is absent or expired (renewTime + leaseDurationSeconds in the
past), renews it every ``renew_seconds`` while leading, and gives up leadership (``lost`` is set)
when it cannot renew within the renew deadline (two thirds of the lease duration, as client-go's
10 s of 15 s): a leader steps down before any other candidate may consider the Lease expired.
Writes use the Lease's resourceVersion, so two candidates never both believe they lead.
``stop()`` releases a held Lease (client-go's ReleaseOnCancel): the holder is cleared, so another
candidate takes over at its next try instead of waiting for the lease to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from cvk.kube import paths
from cvk.kube.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError

log = logging.getLogger("cvk.controller.leader")

Obj = dict[str, Any]


class LeadershipLost(RuntimeError):
    """The Lease could not be renewed in time: another replica may lead now, so this one stops."""


class Client(Protocol):
    async def get(self, path: str, params: dict[str, str] | None = None) -> Obj: ...
    async def create(self, path: str, body: Obj) -> Obj: ...
    async def replace(self, path: str, body: Obj) -> Obj: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _micro(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


class LeaderElector:
    def __init__(self, client: Client, namespace: str, name: str, identity: str, *,
                 lease_seconds: int = 15, renew_seconds: float = 5.0, retry_seconds: float = 2.0) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.retry_seconds = retry_seconds
        self.renew_deadline = lease_seconds * 2 / 3
        self.leading = asyncio.Event()
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _try_acquire_or_renew(self) -> bool:
        path = paths.leases(self.namespace, self.name)
        now = _now()
        try:
            lease = await self.client.get(path)
        except NotFoundError:
            body = {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": self.lease_seconds,
                         "acquireTime": _micro(now), "renewTime": _micro(now), "leaseTransitions": 0},
            }
            try:
                await self.client.create(paths.leases(self.namespace), body)
                return True
            except AlreadyExistsError:
                return False
        spec = lease.setdefault("spec", {})
        holder = spec.get("holderIdentity")
        renew = spec.get("renewTime")
        duration = int(spec.get("leaseDurationSeconds") or self.lease_seconds)
        expired = not renew or (now - _parse(renew)).total_seconds() > duration
        if holder and holder != self.identity and not expired:
            return False
        if holder != self.identity:
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
            spec["acquireTime"] = _micro(now)
        spec["holderIdentity"] = self.identity
        spec["leaseDurationSeconds"] = self.lease_seconds
        spec["renewTime"] = _micro(now)
        try:
            await self.client.replace(path, lease)
        except ConflictError:
            return False
        return True

    async def _loop(self) -> None:
        last_ok = asyncio.get_running_loop().time()
        while True:
            try:
                async with asyncio.timeout(self.renew_deadline):
                    ok = await self._try_acquire_or_renew()
            except (ApiError, OSError, TimeoutError) as err:
                log.warning("leader election request failed lease=%s/%s error=%s",
                            self.namespace, self.name, err)
                ok = False
            loop_now = asyncio.get_running_loop().time()
            if ok:
                last_ok = loop_now
                if not self.leading.is_set():
                    log.info("became leader lease=%s/%s identity=%s",
                             self.namespace, self.name, self.identity)
                    self.leading.set()
                await asyncio.sleep(self.renew_seconds)
                continue
            if self.leading.is_set() and loop_now - last_ok > self.renew_deadline:
                log.error("lost leadership lease=%s/%s identity=%s", self.namespace, self.name, self.identity)
                self.lost.set()
                return
            await asyncio.sleep(self.retry_seconds)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="leader-election")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.leading.is_set() and not self.lost.is_set():
            await self._release()
        self.leading.clear()

    async def _release(self) -> None:
        path = paths.leases(self.namespace, self.name)
        try:
            lease = await self.client.get(path)
            spec = lease.setdefault("spec", {})
            if spec.get("holderIdentity") != self.identity:
                return
            now = _micro(_now())
            spec.update(holderIdentity="", leaseDurationSeconds=1, renewTime=now, acquireTime=now)
            await self.client.replace(path, lease)
            log.info("released leadership lease=%s/%s identity=%s", self.namespace, self.name, self.identity)
        except (ApiError, OSError) as err:
            log.warning("could not release the leader lease lease=%s/%s error=%s", self.namespace, self.name, err)
