"""Startup reconciliation of the driver's pods against the API (vk-library.md 2.2 step 4, 2.11).

Runs once, after the pod informer has synced and before any worker starts:

- a driver pod whose namespace/name the API does not know is deleted from the device, exactly once
  (errors are logged, never retried);
- a driver pod whose name the API knows but under another UID is a leftover of an earlier pod of
  that name: deleted as well (upstream compares names only);
- every other driver pod is left alone: the pod sync adopts it without a create.

A failing ``list_pods`` skips the pass (nothing is deleted on a failed answer) and the pod
controller runs it once the device answers again; an empty list deletes nothing by construction.
API pods the driver does not report are never touched here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cvk.driver.base import Driver
from cvk.errors import DeviceError, NotFound
from cvk.pod.keys import Pod, pod_key, uid_of

log = logging.getLogger(__name__)


def dangling(driver_pods: list[Pod], api_pods: dict[str, Pod]) -> list[Pod]:
    """The driver pods to delete: unknown to the API, or known under another UID."""
    out = []
    for p in driver_pods:
        api = api_pods.get(pod_key(p))
        if api is None or (uid_of(p) and uid_of(api) and uid_of(p) != uid_of(api)):
            out.append(p)
    return out


async def cleanup_dangling(
    driver: Driver, api_pods: dict[str, Pod] | Callable[[], dict[str, Pod]], *, workers: int = 4
) -> list[str] | None:
    """Delete dangling driver pods; returns the keys deleted (or attempted), None when the driver
    could not list its pods (nothing was deleted; the caller runs the pass once the device answers).

    ``api_pods`` may be a callable: it is read *after* the driver's list, so a pod that the API and
    the workers created while the device was being listed is not taken for a dangling one."""
    try:
        driver_pods = await driver.list_pods()
    except (DeviceError, NotImplementedError) as err:
        log.warning("cannot list the device's pods, skipping the dangling-pod cleanup", extra={"error": str(err)})
        return None
    victims = dangling(driver_pods, api_pods() if callable(api_pods) else api_pods)
    sem = asyncio.Semaphore(max(1, workers))

    async def one(p: Pod) -> str:
        async with sem:
            key = pod_key(p)
            try:
                await driver.delete_pod(p)
                log.info("dangling pod deleted from the device", extra={"pod": key, "uid": uid_of(p)})
            except NotFound:
                pass
            except Exception as err:
                log.warning("deleting dangling pod failed", extra={"pod": key, "error": str(err)})
            return key

    return list(await asyncio.gather(*(one(p) for p in victims)))
