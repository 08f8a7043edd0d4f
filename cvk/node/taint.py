"""The device-outage taint: keep new pods away from a node whose device does not answer.

While the device is unreachable (or refuses our credentials) the Node carries
``cisco-vk.io/device-unreachable:NoSchedule``; it is removed when the device answers again. The
node stays Ready and nothing is evicted (``NoSchedule`` never affects running pods): pods already
on the device keep running there, but the scheduler places new ones on devices that can start them.
Pods bound with ``spec.nodeName`` bypass the scheduler and are unaffected.

This is the one change cisco-vk makes to the Node ``spec`` after creation (upstream never touches
the spec). Taints have no strategic merge key, so the list is read, changed and written back with a
merge patch carrying the read ``resourceVersion`` (a concurrent writer gives a conflict and we read
again); taints set by others are kept.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import ConflictError

log = logging.getLogger(__name__)

OUTAGE_TAINT_KEY = "cisco-vk.io/device-unreachable"
OUTAGE_TAINT_EFFECT = "NoSchedule"
MAX_ATTEMPTS = 5


def is_outage_taint(taint: dict[str, Any]) -> bool:
    return taint.get("key") == OUTAGE_TAINT_KEY and taint.get("effect") == OUTAGE_TAINT_EFFECT


def with_outage_taint(taints: list[dict[str, Any]], present: bool) -> list[dict[str, Any]] | None:
    """The new taint list, or None when it already says what we want."""
    has = any(is_outage_taint(t) for t in taints)
    if has == present:
        return None
    if present:
        added = {
            "key": OUTAGE_TAINT_KEY,
            "effect": OUTAGE_TAINT_EFFECT,
            "timeAdded": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return [*taints, added]
    return [t for t in taints if not is_outage_taint(t)]


async def set_outage_taint(client: KubeClient, node_name: str, present: bool) -> bool:
    """Add or remove the taint; True when the Node was changed. Raises the last conflict after
    ``MAX_ATTEMPTS`` and any other ApiError."""
    path = paths.nodes(node_name)
    last: ConflictError | None = None
    for _ in range(MAX_ATTEMPTS):
        node = await client.get(path)
        taints = list(((node.get("spec") or {}).get("taints")) or [])
        new = with_outage_taint(taints, present)
        if new is None:
            return False
        body = {
            "metadata": {"resourceVersion": (node.get("metadata") or {}).get("resourceVersion")},
            "spec": {"taints": new},
        }
        try:
            await client.patch(path, body, patch_type="merge")
        except ConflictError as err:
            last = err
            continue
        log.info("device outage taint " + ("added" if present else "removed"), extra={"node": node_name})
        return True
    assert last is not None
    raise last
