"""The node status patch: a three-way strategic merge patch (vk-library.md 1.4, behaviours 8-9).

*original* is what we applied last time, read back from two annotations on the server node;
*modified* is the desired labels, annotations and status; *current* is the server node. The patch:

- sets every desired label/annotation/capacity key, and nulls the ones we applied earlier that are
  no longer desired; keys set by others (never in *original*) are left alone;
- merges ``conditions`` and ``addresses`` by ``type`` (their strategic merge key). Entries of other
  writers are repeated in the patch as the server has them, so the result is the same whether the
  server merges the list by key (strategic) or replaces it (a plain merge patch); entries we applied
  earlier and no longer want get a ``$patch: delete`` directive;
- records the new *modified* in the two last-applied annotations.

The node ``spec`` is never part of the patch.
"""

from __future__ import annotations

import json
from typing import Any

from cvk.node.objects import LAST_APPLIED_META, LAST_APPLIED_STATUS

_SPECIAL = (LAST_APPLIED_META, LAST_APPLIED_STATUS)


def _load(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def last_applied(server: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(object meta, node status) we applied last; both empty unless both annotations exist."""
    ann = (server.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED_META not in ann or LAST_APPLIED_STATUS not in ann:
        return {}, {}
    return _load(ann.get(LAST_APPLIED_META)), _load(ann.get(LAST_APPLIED_STATUS))


def _map_patch(desired: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: None for k in original if k not in desired}
    out.update(desired)
    return out


def _keyed_list_patch(
    desired: list[dict[str, Any]], original: list[dict[str, Any]], current: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    wanted = {str(e.get("type")) for e in desired}
    ours_before = {str(e.get("type")) for e in original}
    out = [dict(e) for e in desired]
    for e in current:
        t = str(e.get("type"))
        if t not in wanted and t not in ours_before:
            out.append(dict(e))  # another writer's entry: keep it as it is
    for t in sorted(ours_before - wanted):
        out.append({"type": t, "$patch": "delete"})
    return out


def status_patch(
    server: dict[str, Any],
    *,
    labels: dict[str, str],
    annotations: dict[str, str],
    status: dict[str, Any],
) -> dict[str, Any]:
    """The strategic merge patch body for ``PATCH nodes/N/status``."""
    meta = server.get("metadata") or {}
    orig_meta, orig_status = last_applied(server)
    desired_ann = {k: v for k, v in annotations.items() if k not in _SPECIAL}
    modified_meta = {
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "labels": dict(labels),
        "annotations": desired_ann,
    }
    ann_patch = _map_patch(desired_ann, {k: v for k, v in (orig_meta.get("annotations") or {}).items()})
    ann_patch[LAST_APPLIED_META] = json.dumps(modified_meta, sort_keys=True, separators=(",", ":"))
    ann_patch[LAST_APPLIED_STATUS] = json.dumps(status, sort_keys=True, separators=(",", ":"))
    current_status = server.get("status") or {}
    status_out: dict[str, Any] = {}
    for key, value in status.items():
        if key in ("conditions", "addresses"):
            status_out[key] = _keyed_list_patch(
                list(value), list(orig_status.get(key) or []), list(current_status.get(key) or [])
            )
        elif key in ("capacity", "allocatable"):
            status_out[key] = _map_patch(dict(value), dict(orig_status.get(key) or {}))
        else:
            status_out[key] = value
    return {
        "metadata": {
            "labels": _map_patch(dict(labels), dict(orig_meta.get("labels") or {})),
            "annotations": ann_patch,
        },
        "status": status_out,
    }
