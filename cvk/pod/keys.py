"""Pod keys ("namespace/name") and small read-only accessors of pod JSON."""

from __future__ import annotations

from typing import Any

Pod = dict[str, Any]

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


def pod_key(pod: Pod) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"


def split_key(key: str) -> tuple[str, str]:
    ns, _, name = key.partition("/")
    return ns, name


def delete_key(pod: Pod) -> str:
    """The force-delete queue key "ns/name/uid" (split at the last "/")."""
    return f"{pod_key(pod)}/{uid_of(pod)}"


def split_delete_key(key: str) -> tuple[str, str]:
    """("ns/name", uid) from a force-delete key."""
    head, _, uid = key.rpartition("/")
    return head, uid


def uid_of(pod: Pod) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def phase_of(pod: Pod) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminal(pod: Pod) -> bool:
    return phase_of(pod) in TERMINAL_PHASES


def is_deleting(pod: Pod) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def has_running_containers(pod: Pod) -> bool:
    """True when a container status is neither terminated nor waiting (vk-library 2.4)."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        state = cs.get("state") or {}
        if not state.get("terminated") and not state.get("waiting"):
            return True
    return False
