"""Status polling for drivers without a notifier (vk-library.md 2.7, behaviours 41-42).

Every ``interval`` seconds (from the end of the previous sweep) each non-terminal pod bound to the
node is asked for with ``get_pod_status``:

- a status: handed to the status manager (which writes only what changed);
- ``NotFound`` (the driver is sure the app is gone): ignored while the pod is being deleted, and for
  a pod that is not Running yet and less than a minute old (creation grace); otherwise the pod
  becomes ``Failed/NotFound`` with its running containers terminated (exit code -137);
- a device outage (unreachable, auth): the pod keeps its status and gets ``DeviceReachable=False``.
  Upstream-cvk turned every error into NotFound here and failed running pods (its gap 1).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from cvk.driver.base import Driver
from cvk.errors import DeviceError, NotFound
from cvk.node.ping import device_reason
from cvk.pod.keys import Pod, is_deleting, is_terminal, phase_of, pod_key, split_key
from cvk.pod.status import PodStatusManager, not_found_status
from cvk.pod.sync import is_outage

log = logging.getLogger(__name__)

CREATION_GRACE_SECONDS = 60.0


def age_seconds(pod: Pod, now: float | None = None) -> float:
    stamp = (pod.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return 0.0
    try:
        created = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
    return (now if now is not None else time.time()) - created


class StatusPoller:
    def __init__(
        self,
        driver: Driver,
        status: PodStatusManager,
        *,
        list_pods: Callable[[], list[Pod]],
        interval: float,
    ) -> None:
        self._driver = driver
        self._status = status
        self._list_pods = list_pods
        self._interval = interval
        self.sweeps = 0

    async def sweep(self) -> None:
        for pod in self._list_pods():
            if is_terminal(pod):
                continue
            key = pod_key(pod)
            ns, name = split_key(key)
            try:
                status = await self._driver.get_pod_status(ns, name)
            except NotFound:
                if is_deleting(pod):
                    continue
                if phase_of(pod) != "Running" and age_seconds(pod) <= CREATION_GRACE_SECONDS:
                    continue
                log.warning("the device no longer has the pod's apps", extra={"pod": key})
                self._status.set_provider_status(key, not_found_status(pod))
                continue
            except DeviceError as err:
                if is_outage(err):
                    self._status.mark_outage(key, device_reason(err), f"{type(err).__name__}: {err}")
                else:
                    log.warning("status read failed", extra={"pod": key, "error": str(err)})
                continue
            self._status.set_provider_status(key, status)
        self.sweeps += 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("status poll sweep failed")
