"""Pod status from the driver to the API (vk-library.md 2.6 and 2.7, behaviours 34-43).

The status queue is level-triggered: ``sync(key)`` computes the status the API pod *should* have
(the driver's last report, plus the device-outage condition when the device is down) and writes it
with ``PUT pods/NAME/status`` only when the API pod differs. That gives:

- duplicate suppression (two identical notifications write once, behaviour 35), and a rewrite when
  someone else changed the API status afterwards (behaviour 36, via ``on_api_update``);
- the informer's ``resourceVersion`` on every write (never "0"/empty); a 409 re-reads the pod and
  tries once more, then the queue retries;
- the API pod's own metadata: unlike upstream we do not write the driver's labels and annotations
  back (upstream's PUT of the provider pod clobbers user edits, vk-library 2.6 step 5);
- terminal API pods (Succeeded/Failed) are never overwritten (behaviour 37);
- a notification for a pod the informer has not seen yet is retried for 3.02 s, then dropped
  (behaviours 38/39);
- UIDs are checked (upstream keys by name only): a driver report about an earlier pod of the same
  name is never written onto the new one, the 409 re-read does not write onto a re-created pod, and
  the provider-initiated delete (behaviour 40) carries the informer's UID as a precondition;
- a provider-initiated delete whose final status differs from the API's writes that status and
  deletes in the same pass (upstream writes it and waits for another report that may never come),
  and never happens while the pod is marked with a device outage.

Device outage (beyond upstream): when the device cannot be read, each pod keeps its last observed
status and gets a pod condition ``DeviceReachable=False`` (reason ``DeviceUnreachable`` /
``DeviceAuthFailed``, message naming the failure). Nothing is failed or deleted. When the device
answers again the driver's status is read afresh and written without the condition (re-adoption).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cvk.driver.base import Driver
from cvk.errors import DeviceAuthError, DeviceError, DeviceUnreachable, NotFound
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import ConflictError, NotFoundError
from cvk.node.ping import device_reason
from cvk.pod.keys import Pod, is_deleting, is_terminal, pod_key, split_key, uid_of

log = logging.getLogger(__name__)

COND_DEVICE = "DeviceReachable"
NOTIFY_RETRY_PERIOD = 0.151
NOTIFY_RETRY_WINDOW = 0.151 * 20


def rfc3339(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts if ts is not None else time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise(value: Any) -> Any:
    """Drop None values and empty collections recursively, so equal statuses compare equal."""
    if isinstance(value, dict):
        out = {k: normalise(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def same_status(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    return json.dumps(normalise(a or {}), sort_keys=True) == json.dumps(normalise(b or {}), sort_keys=True)


@dataclasses.dataclass(frozen=True)
class Outage:
    reason: str
    message: str
    since: float


def outage_condition(outage: Outage) -> dict[str, Any]:
    return {
        "type": COND_DEVICE,
        "status": "False",
        "reason": outage.reason,
        "message": outage.message,
        "lastTransitionTime": rfc3339(outage.since),
    }


def without_device_condition(status: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(status)
    conds = [c for c in out.get("conditions") or [] if c.get("type") != COND_DEVICE]
    if conds:
        out["conditions"] = conds
    else:
        out.pop("conditions", None)
    return out


def desired_status(
    api_status: dict[str, Any] | None, provider_status: dict[str, Any] | None, outage: Outage | None
) -> dict[str, Any] | None:
    """What the API pod's status should be; None when we have nothing to say."""
    if outage is None:
        if provider_status is not None:
            return without_device_condition(provider_status)
        if api_status and any(c.get("type") == COND_DEVICE for c in api_status.get("conditions") or []):
            return without_device_condition(api_status)  # a stale outage marker
        return None
    base = without_device_condition(provider_status if provider_status is not None else api_status or {})
    base.setdefault("phase", (api_status or {}).get("phase") or "Pending")
    base["conditions"] = [*(base.get("conditions") or []), outage_condition(outage)]
    return base


def provider_failed_status(pod: Pod, message: str) -> dict[str, Any]:
    """upstream handleProviderError: Failed for restartPolicy Never, else Pending; reason ProviderFailed."""
    status = copy.deepcopy(pod.get("status") or {})
    never = (pod.get("spec") or {}).get("restartPolicy") == "Never"
    status["phase"] = "Failed" if never else "Pending"
    status["reason"] = "ProviderFailed"
    status["message"] = message
    return status


def _ended(pod: Pod, phase: str, reason: str, message: str, *, exit_code: int, container_message: str,
           running_only: bool) -> dict[str, Any]:
    """The pod's status with ``phase``/``reason`` and its containers terminated with ``exit_code``
    (only the running ones, or every one not terminated yet)."""
    now = rfc3339()
    status = copy.deepcopy(pod.get("status") or {})
    status.update(phase=phase, reason=reason, message=message)
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("terminated") or (running_only and state.get("running") is None):
            continue
        cs["state"] = {
            "terminated": {
                "exitCode": exit_code,
                "reason": reason,
                "message": container_message,
                "startedAt": (state.get("running") or {}).get("startedAt"),
                "finishedAt": now,
                "containerID": cs.get("containerID"),
            }
        }
        cs["ready"] = False
        cs["started"] = False
    return status


def not_found_status(pod: Pod) -> dict[str, Any]:
    """The polling wrapper's status for a pod the device no longer has (behaviour 42): Failed /
    NotFound, running containers terminated with exit code -137."""
    return _ended(pod, "Failed", "NotFound", "The pod status was not found and may have been deleted from the provider",
                  exit_code=-137, container_message="Container was not found and was likely deleted",
                  running_only=True)


def terminated_status(pod: Pod) -> dict[str, Any]:
    """The polling wrapper's status after the driver deleted the pod (behaviour 43): Succeeded /
    Terminated, each container terminated (upstream leaves ``running`` set as well; we clear it)."""
    return _ended(pod, "Succeeded", "Terminated", "The pod was deleted from the device", exit_code=0,
                  container_message="Container was terminated. The exit code may not reflect the real exit code",
                  running_only=False)


@dataclasses.dataclass
class _State:
    provider_status: dict[str, Any] | None = None
    provider_deletion: tuple[str, int | None] | None = None  # (deletionTimestamp, grace seconds)
    outage: Outage | None = None
    written_desired: dict[str, Any] | None = None
    written_server: dict[str, Any] | None = None
    notified_at: float = 0.0
    provider_uid: str = ""  # the UID of the pod the driver's last notification was about
    refresh: bool = False  # read the status from the driver before the next write


class PodStatusManager:
    """Owns the status queue's handler and the per-pod status state."""

    def __init__(
        self,
        client: KubeClient,
        driver: Driver,
        *,
        get_pod: Callable[[str], Pod | None],
        enqueue: Callable[[str], None],
        enqueue_after: Callable[[str, float], None],
    ) -> None:
        self._client = client
        self._driver = driver
        self._get_pod = get_pod
        self._enqueue = enqueue
        self._enqueue_after = enqueue_after
        self._state: dict[str, _State] = {}
        self.writes = 0
        self.skipped = 0

    # ---- inputs ------------------------------------------------------------------------------
    def notify(self, pod: Pod) -> None:
        """The driver's PodNotifier callback: never blocks."""
        key = pod_key(pod)
        uid = uid_of(pod)
        api_pod = self._get_pod(key)
        if uid and api_pod is not None and uid_of(api_pod) and uid_of(api_pod) != uid:
            # The final status of an earlier pod of the same name (the driver removed its leftover
            # app): writing it would make the new pod terminal for good.
            log.debug("status of an earlier pod of the same name dropped", extra={"pod": key, "uid": uid})
            return
        st = self._state.setdefault(key, _State())
        status = copy.deepcopy(pod.get("status") or {})
        meta = pod.get("metadata") or {}
        deletion = (
            (str(meta["deletionTimestamp"]), meta.get("deletionGracePeriodSeconds"))
            if meta.get("deletionTimestamp")
            else None
        )
        same = st.provider_status is not None and same_status(st.provider_status, status)
        if same and deletion == st.provider_deletion:
            self.skipped += 1
            return
        st.provider_deletion = deletion
        st.provider_status = status
        st.provider_uid = uid
        st.notified_at = time.monotonic()
        self._enqueue(key)

    def set_provider_status(self, key: str, status: dict[str, Any]) -> None:
        st = self._state.setdefault(key, _State())
        changed = st.outage is not None or not same_status(st.provider_status, status)
        st.provider_status = copy.deepcopy(status)
        st.provider_uid = ""
        st.outage = None
        st.refresh = False
        st.notified_at = time.monotonic()
        if changed:
            self._enqueue(key)

    def provider_status(self, key: str) -> dict[str, Any] | None:
        st = self._state.get(key)
        return None if st is None else st.provider_status

    def mark_outage(self, key: str, reason: str, message: str) -> None:
        st = self._state.setdefault(key, _State())
        if st.outage is not None and st.outage.reason == reason and st.outage.message == message:
            return
        since = st.outage.since if st.outage is not None else time.time()
        st.outage = Outage(reason, message, since)
        self._enqueue(key)

    def in_outage(self, key: str) -> bool:
        st = self._state.get(key)
        return st is not None and st.outage is not None

    def recover(self, key: str) -> None:
        """The device answers again: read this pod's status afresh and drop the outage marker."""
        st = self._state.setdefault(key, _State())
        st.refresh = True
        self._enqueue(key)

    def ensure_known(self, key: str) -> None:
        """After create/update/adopt: read the pod's status once if the driver has not reported it yet
        or it is marked with an outage (a failed driver call can mark it without the ping noticing)."""
        st = self._state.setdefault(key, _State())
        if st.provider_status is None or st.outage is not None:
            st.refresh = True  # the driver just answered: a fresh read also ends an outage marker
        self._enqueue(key)

    def forget(self, key: str) -> None:
        self._state.pop(key, None)

    def on_api_update(self, old: Pod, new: Pod) -> None:
        """Informer update: rewrite when someone else changed a status we had written (behaviour 36)."""
        key = pod_key(new)
        st = self._state.get(key)
        if st is None or st.written_desired is None or is_terminal(new):
            return
        current = new.get("status")
        if same_status(current, st.written_server) or same_status(current, st.written_desired):
            return
        self._enqueue(key)

    # ---- the status queue handler --------------------------------------------------------------
    async def sync(self, key: str) -> None:
        st = self._state.get(key)
        if st is None:
            return
        api_pod = self._get_pod(key)
        if api_pod is None:
            if st.provider_status is not None and time.monotonic() - st.notified_at < NOTIFY_RETRY_WINDOW:
                self._enqueue_after(key, NOTIFY_RETRY_PERIOD)  # the informer may not have it yet
            else:
                self._state.pop(key, None)
                log.debug("status for a pod the API does not know dropped", extra={"pod": key})
            return
        if is_terminal(api_pod):
            return
        retry: Exception | None = None
        if st.refresh:
            retry = await self._refresh(key, st)
        try:
            await self._sync_known(key, api_pod, st)
        finally:
            if retry is not None:
                raise retry  # the queue reads the device again with backoff

    async def _sync_known(self, key: str, api_pod: Pod, st: _State) -> None:
        if st.provider_uid and uid_of(api_pod) and st.provider_uid != uid_of(api_pod):
            return  # a report about an earlier pod of this name (sent before the informer saw the new one)
        current = api_pod.get("status")
        desired = desired_status(current, st.provider_status, st.outage)
        shows_desired = False  # the API pod now holds the status we want it to have
        if desired is not None:
            if same_status(current, desired) or (
                st.written_server is not None
                and same_status(desired, st.written_desired)
                and same_status(current, st.written_server)
            ):
                self.skipped += 1
                shows_desired = True
            else:
                shows_desired = await self._write(key, api_pod, desired, st)
        if st.provider_deletion and not is_deleting(api_pod) and st.outage is None and shows_desired:
            # Upstream deletes only while the API status equals the provider's and otherwise writes
            # the status and waits for a next report, which an evicting driver may never send. We
            # write the provider's final status first (above) and delete in the same pass; the UID
            # precondition (not the status comparison) keeps a re-created pod safe. Never while the
            # pod is marked with a device outage: its status is then not the driver's.
            await self._provider_deletion(key, api_pod, st)

    async def _refresh(self, key: str, st: _State) -> Exception | None:
        """Read the pod's status from the driver; returns the error to retry with, if any."""
        ns, name = split_key(key)
        try:
            status = await self._driver.get_pod_status(ns, name)
        except NotFound:
            st.refresh = False
            st.outage = None
            return None
        except (DeviceUnreachable, DeviceAuthError) as err:
            # Unavailable (again, or the driver has not caught up yet): report it now, read again later.
            log.info("status refresh failed: device unavailable", extra={"pod": key, "error": str(err)})
            since = st.outage.since if st.outage is not None else time.time()
            st.outage = Outage(device_reason(err), f"{type(err).__name__}: {err}", since)
            return err
        except DeviceError as err:
            log.info("status refresh failed", extra={"pod": key, "error": str(err)})
            raise
        st.provider_status = copy.deepcopy(status)
        st.provider_uid = ""
        st.outage = None
        st.refresh = False
        return None

    async def _provider_deletion(self, key: str, api_pod: Pod, st: _State) -> None:
        """Behaviour 40: the driver deleted the pod (eviction); delete the API pod as well."""
        assert st.provider_deletion is not None
        stamp, grace = st.provider_deletion
        try:
            parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            when = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
        except ValueError:
            when = 0.0
        seconds = 0 if when <= time.time() else int(grace or 0)
        ns, name = split_key(key)
        try:
            await self._client.delete(
                paths.pods(ns, name), grace_period_seconds=seconds, preconditions_uid=uid_of(api_pod) or None
            )
            log.info("pod deleted by the driver, deleting it from the API", extra={"pod": key, "grace": seconds})
        except (NotFoundError, ConflictError):  # gone, or another pod of that name by now
            pass

    async def _write(self, key: str, api_pod: Pod, desired: dict[str, Any], st: _State) -> bool:
        """PUT the status; False when the pod is gone, terminal or another pod of that name by now."""
        ns, name = split_key(key)
        path = paths.pods(ns, name, "status")
        body = copy.deepcopy(api_pod)
        body["status"] = desired
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if not rv or rv == "0":
            raise RuntimeError(f"pod {key} has no usable resourceVersion in the informer")
        try:
            result = await self._client.replace(path, body)
        except NotFoundError:
            return False
        except ConflictError:
            try:
                fresh = await self._client.get(paths.pods(ns, name))
            except NotFoundError:
                return False
            if is_terminal(fresh) or uid_of(fresh) != uid_of(api_pod):
                return False  # terminal, or another pod of the same name: the informer brings it
            body = copy.deepcopy(fresh)
            body["status"] = desired
            try:
                result = await self._client.replace(path, body)
            except NotFoundError:
                return False
        st.written_desired = copy.deepcopy(desired)
        st.written_server = copy.deepcopy(result.get("status") or {})
        self.writes += 1
        log.debug("pod status written", extra={"pod": key, "phase": desired.get("phase")})
        return True
