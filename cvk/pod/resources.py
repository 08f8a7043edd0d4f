"""Reads the ConfigMaps, Secrets and Services env resolution needs, straight from the API.

Like the kubelet, cisco-vk only *gets* the ConfigMaps and Secrets its pods name (its RBAC has no
list or watch on them) and lists Services, instead of caching every object of the cluster as
upstream's informers do. The read happens on create/update only, never on status syncs. Service
lists are reused for ``SERVICE_TTL`` seconds, so a burst of pod creations in one namespace costs
one list, not one per pod.
"""

from __future__ import annotations

import builtins
import time
from typing import Any

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import NotFoundError

SERVICE_TTL = 2.0


class ApiResourceReader:
    """``cvk.pod.env.ResourceReader`` over the Kubernetes API."""

    def __init__(self, client: KubeClient, *, service_ttl: float = SERVICE_TTL) -> None:
        self._client = client
        self._ttl = service_ttl
        self._services: dict[tuple[str, str], tuple[float, builtins.list[dict[str, Any]]]] = {}

    async def _list(self, namespace: str, field_selector: str = "") -> builtins.list[dict[str, Any]]:
        key = (namespace, field_selector)
        cached = self._services.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            result = await self._client.list(paths.services(namespace), field_selector=field_selector or None)
        except NotFoundError:
            result = {}
        items = list(result.get("items") or [])
        self._services[key] = (now, items)
        if len(self._services) > 256:
            for k, (t, _) in list(self._services.items()):
                if now - t >= self._ttl:
                    del self._services[k]
        return items

    async def get_configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await self._client.get(paths.configmaps(namespace, name))
        except NotFoundError:
            return None

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await self._client.get(paths.secrets(namespace, name))
        except NotFoundError:
            return None

    async def list_services(self, namespace: str) -> builtins.list[dict[str, Any]]:
        return await self._list(namespace)

    async def get_service(self, namespace: str, name: str) -> dict[str, Any] | None:
        # list with a field selector: cisco-vk may list services but not get them.
        items = await self._list(namespace, f"metadata.name={name}")
        return items[0] if items else None
