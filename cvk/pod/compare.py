"""When does a pod change need the driver? (vk-library.md 2.3 and 2.4, behaviours 16 and 17)."""

from __future__ import annotations

import copy
from typing import Any

from cvk.pod.keys import Pod

_SPEC_ENQUEUE = ("containers", "initContainers", "ephemeralContainers", "activeDeadlineSeconds", "tolerations")
_META_ENQUEUE = ("labels", "annotations", "deletionGracePeriodSeconds", "deletionTimestamp")
_SPEC_PROVIDER = ("containers", "initContainers", "ephemeralContainers", "activeDeadlineSeconds", "tolerations")
_META_PROVIDER = ("labels", "annotations")
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _spec(pod: Pod) -> dict[str, Any]:
    return pod.get("spec") or {}


def _meta(pod: Pod) -> dict[str, Any]:
    return pod.get("metadata") or {}


def _norm(value: Any) -> Any:
    """Treat missing, None and empty collections alike (the API server drops empty fields)."""
    if value in (None, [], {}):
        return None
    return value


def pod_should_enqueue(old: Pod, new: Pod) -> bool:
    """True when an informer update changes something the driver cares about."""
    for f in _SPEC_ENQUEUE:
        if _norm(_spec(old).get(f)) != _norm(_spec(new).get(f)):
            return True
    return any(_norm(_meta(old).get(f)) != _norm(_meta(new).get(f)) for f in _META_ENQUEUE)


def effectively_equal(a: Pod, b: Pod) -> bool:
    """Deep equality ignoring ``metadata.resourceVersion``, ``managedFields`` and the whole ``status``
    (every status write changes the first two)."""

    def strip(p: Pod) -> Pod:
        out = {k: v for k, v in p.items() if k != "status"}
        meta = dict(out.get("metadata") or {})
        meta.pop("resourceVersion", None)
        meta.pop("managedFields", None)
        out["metadata"] = meta
        return out

    return strip(a) == strip(b)


def _sorted_env(containers: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not containers:
        return None
    out = []
    for c in containers:
        c2 = copy.deepcopy(c)
        env = c2.get("env")
        if env:
            c2["env"] = sorted(env, key=lambda e: (str(e.get("name")), str(e.get("value"))))
        else:
            c2.pop("env", None)
        if not c2.get("envFrom"):
            c2.pop("envFrom", None)
        out.append(c2)
    return out


def provider_differs(provider_pod: Pod, resolved: Pod, *, sort_env: bool = True) -> bool:
    """True when the driver's pod must be updated to ``resolved`` (env order never matters)."""
    for f in _SPEC_PROVIDER:
        a, b = _spec(provider_pod).get(f), _spec(resolved).get(f)
        if sort_env and f in _CONTAINER_LISTS:
            a, b = _sorted_env(a), _sorted_env(b)
        if _norm(a) != _norm(b):
            return True
    return any(_norm(_meta(provider_pod).get(f)) != _norm(_meta(resolved).get(f)) for f in _META_PROVIDER)
