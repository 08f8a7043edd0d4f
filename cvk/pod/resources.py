"""Reads the ConfigMaps, Secrets and Services env resolution needs, straight from the API.

Like the kubelet, cisco-vk only *gets* the ConfigMaps and Secrets its pods name (its RBAC has no
list or watch on them) and lists Services, instead of caching every object of the cluster as
upstream's informers do. The read happens on create/update only, never on status syncs.
"""

from __future__ import annotations

import builtins
from typing import Any

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import NotFoundError


class ApiResourceReader:
    """``cvk.pod.env.ResourceReader`` over the Kubernetes API."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client

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
        try:
            result = await self._client.list(paths.services(namespace))
        except NotFoundError:
            return []
        return list(result.get("items") or [])

    async def get_service(self, namespace: str, name: str) -> dict[str, Any] | None:
        # list with a field selector: cisco-vk may list services but not get them.
        try:
            result = await self._client.list(paths.services(namespace), field_selector=f"metadata.name={name}")
        except NotFoundError:
            return None
        items = list(result.get("items") or [])
        return items[0] if items else None
