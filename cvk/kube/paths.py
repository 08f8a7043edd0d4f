"""URL paths of the Kubernetes API objects cisco-vk reads and writes.

Each helper returns the collection path when ``name`` is None and the object path otherwise;
``sub`` appends a subresource (``status``, ``log``, ``eviction``...). Names are URL-quoted, so a
name can never escape its path segment. ``ns=None`` on namespaced resources means "all namespaces"
(valid for list and watch only).
"""

from __future__ import annotations

from urllib.parse import quote

CORE = "/api/v1"


def _seg(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"{what} must not be empty")
    return quote(value, safe="")


def _build(prefix: str, plural: str, ns: str | None, name: str | None, sub: str | None) -> str:
    path = prefix
    if ns is not None:
        path += f"/namespaces/{_seg(ns, 'namespace')}"
    path += f"/{plural}"
    if name is not None:
        path += f"/{_seg(name, 'name')}"
    if sub is not None:
        if name is None:
            raise ValueError(f"subresource {sub!r} needs an object name")
        path += "/" + "/".join(_seg(part, "subresource") for part in sub.split("/"))
    return path


def core(plural: str, ns: str | None = None, name: str | None = None, sub: str | None = None) -> str:
    """Any core/v1 resource: ``core("pods", "default", "web", "status")``."""
    return _build(CORE, plural, ns, name, sub)


def api_group(
    group: str,
    version: str,
    plural: str,
    ns: str | None = None,
    name: str | None = None,
    sub: str | None = None,
) -> str:
    """Any resource of a named API group: ``api_group("apps", "v1", "deployments", "ns")``."""
    return _build(f"/apis/{_seg(group, 'group')}/{_seg(version, 'version')}", plural, ns, name, sub)


def pods(ns: str | None = None, name: str | None = None, sub: str | None = None) -> str:
    return core("pods", ns, name, sub)


def nodes(name: str | None = None, sub: str | None = None) -> str:
    return core("nodes", None, name, sub)


def namespaces(name: str | None = None) -> str:
    return core("namespaces", None, name)


def leases(ns: str, name: str | None = None) -> str:
    return api_group("coordination.k8s.io", "v1", "leases", ns, name)


def events(ns: str, name: str | None = None) -> str:
    return core("events", ns, name)


def configmaps(ns: str, name: str | None = None) -> str:
    return core("configmaps", ns, name)


def secrets(ns: str, name: str | None = None) -> str:
    return core("secrets", ns, name)


def services(ns: str | None = None, name: str | None = None) -> str:
    return core("services", ns, name)


def serviceaccounts(ns: str, name: str | None = None) -> str:
    return core("serviceaccounts", ns, name)


def deployments(ns: str, name: str | None = None, sub: str | None = None) -> str:
    return api_group("apps", "v1", "deployments", ns, name, sub)


def custom(
    group: str,
    version: str,
    plural: str,
    ns: str | None = None,
    name: str | None = None,
    sub: str | None = None,
) -> str:
    """A custom resource, e.g. ``custom("cisco.com", "v1alpha1", "ciscodevices", "ns", "sw1")``."""
    return api_group(group, version, plural, ns, name, sub)


def token_reviews() -> str:
    return "/apis/authentication.k8s.io/v1/tokenreviews"


def subject_access_reviews() -> str:
    return "/apis/authorization.k8s.io/v1/subjectaccessreviews"
