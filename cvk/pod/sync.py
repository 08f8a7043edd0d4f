"""Pod sync decisions: create, update, delete in the driver; force delete from the API.

The pod queue handler (vk-library.md 2.4, behaviours 14-19, 27-33), key "ns/name":

- the pod is gone from the API: if the driver still has it, delete it there (NotFound = done);
- the pod has a ``deletionTimestamp``: ``driver.delete_pod`` (NotFound = already deleted), event
  ``ProviderDeleteSuccess``, then the force delete (grace 0, UID precondition) right away. Unlike
  upstream we always ask the driver, even when the API shows no running container: an app deployed
  before its first status write would otherwise be orphaned on the device. And, like the kubelet, we
  do not wait out the grace period after the driver has stopped the apps. For a driver without a
  notifier the pod is reported Succeeded/Terminated first (behaviour 43: seen while a finalizer holds it);
- unchanged since the last successful sync (ignoring resourceVersion and status): nothing;
- terminal (Succeeded/Failed): never created;
- otherwise resolve the environment, ask the driver for its copy, and create (driver does not have
  it), update (it differs in containers, tolerations, deadline, labels or annotations; env order is
  ignored) or adopt (identical: no call, so a restart never re-creates running pods). A driver pod
  with the same name but another UID is a leftover of an earlier pod: deleted, then created anew.

Driver failures: a device outage (unreachable, auth) marks the pod's ``DeviceReachable`` condition
and retries; a busy device is retried; neither ever fails the pod (upstream sets Failed for
restartPolicy Never on any error). Other failures
follow upstream's handleProviderError (reason ProviderFailed, Failed/Pending); invalid input is not
retried.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from cvk.driver.base import Driver
from cvk.errors import DeviceAuthError, DeviceBusy, DeviceError, DeviceUnreachable, InvalidInput, NotFound
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import ApiError, ConflictError, NotFoundError
from cvk.kube.workqueue import PermanentError
from cvk.node.ping import device_reason
from cvk.pod.compare import effectively_equal, provider_differs
from cvk.pod.keys import (
    Pod,
    delete_key,
    is_deleting,
    is_terminal,
    split_delete_key,
    split_key,
    uid_of,
)
from cvk.pod.status import PodStatusManager, provider_failed_status, terminated_status

log = logging.getLogger(__name__)

Record = Callable[[Pod, str, str, str], None]
"""``record(pod, event_type, reason, message)``."""

MSG_CREATE_OK = "Create pod in provider successfully"
MSG_UPDATE_OK = "Update pod in provider successfully"
MSG_DELETE_OK = "Delete pod in provider successfully"


def is_outage(err: BaseException) -> bool:
    return isinstance(err, DeviceUnreachable | DeviceAuthError)


class PodSyncer:
    def __init__(
        self,
        client: KubeClient,
        driver: Driver,
        *,
        get_pod: Callable[[str], Pod | None],
        status: PodStatusManager,
        record: Record,
        resolve: Callable[[Pod], Awaitable[Pod]] | None,
        enqueue_delete: Callable[[str], None],
    ) -> None:
        self._client = client
        self._driver = driver
        self._get_pod = get_pod
        self._status = status
        self._record = record
        self._resolve = resolve
        self._enqueue_delete = enqueue_delete
        self.last_used: dict[str, Pod] = {}
        self.missing_pending: set[str] = set()  # gone from the API, device delete not done yet
        self.calls: dict[str, int] = {"create": 0, "update": 0, "delete": 0}

    # ---- pod queue -----------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        pod = self._get_pod(key)
        if pod is None:
            await self._delete_missing(key)
            return
        if is_deleting(pod):
            await self._delete(key, pod)
            return
        last = self.last_used.get(key)
        if last is not None and effectively_equal(last, pod):
            return
        if is_terminal(pod):
            log.info(
                "pod is terminal, not creating it in the driver", extra={"pod": key, "phase": pod["status"]["phase"]}
            )
            return
        await self._create_or_update(key, pod)

    async def _delete_missing(self, key: str) -> None:
        """The pod left the API (force delete by a user): remove it from the device (behaviour 31)."""
        self.last_used.pop(key, None)
        self._status.forget(key)
        ns, name = split_key(key)
        self.missing_pending.add(key)
        try:
            existing = await self._driver.get_pod(ns, name)
        except NotFound:
            self.missing_pending.discard(key)
            return
        try:
            self.calls["delete"] += 1
            await self._driver.delete_pod(existing)
            log.info("pod removed from the API, deleted from the device", extra={"pod": key})
        except NotFound:
            pass
        self.missing_pending.discard(key)

    async def _delete(self, key: str, pod: Pod) -> None:
        last = self.last_used.get(key)
        if last is not None and effectively_equal(last, pod):
            return
        try:
            self.calls["delete"] += 1
            await self._driver.delete_pod(copy.deepcopy(pod))
            self._record(pod, "Normal", "ProviderDeleteSuccess", MSG_DELETE_OK)
            if not self._driver.supports_notify and not is_terminal(pod):
                # No notifier reports the end (behaviour 43): a pod kept by a finalizer would show Running.
                self._status.set_provider_status(key, terminated_status(pod))
        except NotFound:
            log.info("pod already absent from the device", extra={"pod": key})
        except DeviceError as err:
            self._record(pod, "Warning", "ProviderDeleteFailed", str(err))
            if is_outage(err):
                self._status.mark_outage(key, device_reason(err), f"{type(err).__name__}: {err}")
            raise
        self.last_used[key] = pod
        self._enqueue_delete(delete_key(pod))

    async def _create_or_update(self, key: str, pod: Pod) -> None:
        ns, name = split_key(key)
        resolved = await self._resolve(pod) if self._resolve is not None else copy.deepcopy(pod)
        try:
            try:
                existing: Pod | None = await self._driver.get_pod(ns, name)
            except NotFound:
                existing = None
            if existing is not None and uid_of(existing) and uid_of(pod) and uid_of(existing) != uid_of(pod):
                log.info("driver holds an older pod of the same name, replacing it", extra={"pod": key})
                with contextlib.suppress(NotFound):
                    await self._driver.delete_pod(existing)
                existing = None
        except DeviceError as err:
            if is_outage(err):
                self._status.mark_outage(key, device_reason(err), f"{type(err).__name__}: {err}")
            raise
        if existing is None:
            try:
                self.calls["create"] += 1
                await self._driver.create_pod(resolved)
            except Exception as err:
                await self._provider_error(key, pod, err, "ProviderCreateFailed")
            self._record(pod, "Normal", "ProviderCreateSuccess", MSG_CREATE_OK)
            log.info("pod created in the driver", extra={"pod": key})
        elif provider_differs(existing, resolved, sort_env=self._resolve is not None):
            try:
                adopted = await self._driver.adopt_pod(resolved)
                if not adopted:
                    self.calls["update"] += 1
                    await self._driver.update_pod(resolved)
            except Exception as err:
                await self._provider_error(key, pod, err, "ProviderUpdateFailed")
            if adopted:
                log.info("pod adopted: the device already runs it", extra={"pod": key})
            else:
                self._record(pod, "Normal", "ProviderUpdateSuccess", MSG_UPDATE_OK)
                log.info("pod updated in the driver", extra={"pod": key})
        else:
            log.info("pod adopted: the driver already runs it", extra={"pod": key})
        self.last_used[key] = pod
        self._status.ensure_known(key)

    async def _provider_error(self, key: str, pod: Pod, err: Exception, reason: str) -> NoReturn:
        """Record the failure, report it on the pod, and re-raise for the queue (or drop it)."""
        self._record(pod, "Warning", reason, str(err))
        if is_outage(err):
            self._status.mark_outage(key, device_reason(err), f"{type(err).__name__}: {err}")
            raise err
        if isinstance(err, DeviceBusy):
            raise err  # transient (lock-denied, install in progress): retried, the pod is not failed
        await self._write_failed(key, pod, str(err))
        if isinstance(err, InvalidInput):
            raise PermanentError(f"{reason}: {err}") from err
        raise err

    async def _write_failed(self, key: str, pod: Pod, message: str) -> None:
        ns, name = split_key(key)
        body = copy.deepcopy(pod)
        body["status"] = provider_failed_status(pod, message)
        body.setdefault("metadata", {}).pop("resourceVersion", None)  # unconditional, as upstream
        try:
            await self._client.replace(paths.pods(ns, name, "status"), body)
        except NotFoundError:
            pass
        except ApiError as err:
            log.warning("writing the ProviderFailed status failed", extra={"pod": key, "error": str(err)})

    # ---- force-delete queue ------------------------------------------------------------------
    async def force_delete(self, dkey: str) -> None:
        """DELETE with gracePeriodSeconds=0 and a UID precondition (behaviours 27 and 32)."""
        key, uid = split_delete_key(dkey)
        pod = self._get_pod(key)
        if pod is None:
            return
        if uid_of(pod) != uid:
            log.info("pod was re-created, not force-deleting the new one", extra={"pod": key})
            return
        ns, name = split_key(key)
        try:
            await self._client.delete(paths.pods(ns, name), grace_period_seconds=0, preconditions_uid=uid or None)
            log.info("pod force-deleted from the API", extra={"pod": key, "uid": uid})
        except (NotFoundError, ConflictError):
            pass

    def forget(self, key: str) -> None:
        self.last_used.pop(key, None)
