"""API discovery documents: /version, /api, /api/v1, /apis, /apis/GROUP[/VERSION]."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .resources import GROUP_ORDER, Registry, ResourceType

Obj = dict[str, Any]

SUBRESOURCES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # name -> (group, version, kind, verbs); group/version "" = same as parent.
    "status": ("", "", "", ("get", "patch", "update")),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "log": ("", "", "Pod", ("get",)),
    "exec": ("", "", "PodExecOptions", ("create", "get")),
    "attach": ("", "", "PodAttachOptions", ("create", "get")),
    "portforward": ("", "", "PodPortForwardOptions", ("create", "get")),
    "binding": ("", "", "Binding", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "finalize": ("", "", "Namespace", ("update",)),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
}
_PROXY_KINDS = {"pods": "PodProxyOptions", "nodes": "NodeProxyOptions", "services": "ServiceProxyOptions"}


def version_info(git_version: str) -> Obj:
    m = re.match(r"v(\d+)\.(\d+)", git_version)
    major, minor = (m.group(1), m.group(2)) if m else ("1", "31")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def _version_priority(v: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {"beta": 1, "alpha": 2}.get(m.group(2) or "", 0)
    return (stage, -major, -int(m.group(3) or 0))


def sorted_versions(versions: list[str]) -> list[str]:
    return sorted(versions, key=_version_priority)


def groups(registry: Registry) -> list[tuple[str, list[str]]]:
    gv = registry.group_versions()
    order = [g for g in GROUP_ORDER if g in gv] + sorted(g for g in gv if g not in GROUP_ORDER)
    return [(g, sorted_versions(gv[g])) for g in order]


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_obj(name: str, versions: list[str]) -> Obj:
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def api_group_list(registry: Registry) -> Obj:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_obj(g, vs) for g, vs in groups(registry)]}


def api_group(registry: Registry, group: str) -> Obj | None:
    for g, vs in groups(registry):
        if g == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_obj(g, vs)}
    return None


def _storage_hash(rt: ResourceType) -> str:
    return hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).hexdigest()[:11]


def resource_entries(rt: ResourceType) -> list[Obj]:
    main: Obj = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    if rt.stored:
        main["storageVersionHash"] = _storage_hash(rt)
    out = [main]
    for sub in rt.subresources:
        if sub == "proxy":
            entry: Obj = {
                "name": f"{rt.plural}/proxy",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": _PROXY_KINDS.get(rt.plural, "ProxyOptions"),
                "verbs": ["create", "delete", "get", "patch", "update"],
            }
        else:
            group, version, kind, verbs = SUBRESOURCES[sub]
            entry = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind or rt.kind,
                "verbs": list(verbs),
            }
            if group:
                entry["group"] = group
                entry["version"] = version
        out.append(entry)
    return out


def api_resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    rts = registry.in_group_version(group, version)
    if not rts:
        return None
    resources: list[Obj] = []
    for rt in sorted(rts, key=lambda r: r.plural):
        resources.extend(resource_entries(rt))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


# --- aggregated discovery (apidiscovery.k8s.io v2 and v2beta1) ---------------------------------

AGGREGATED_VERSIONS = ("v2", "v2beta1")


def aggregated_version(accept: str) -> str | None:
    """The apidiscovery version the client asks for first in Accept, if any."""
    for part in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
        if params.get("g") == "apidiscovery.k8s.io" and params.get("as") == "APIGroupDiscoveryList":
            if params.get("v") in AGGREGATED_VERSIONS:
                return params["v"]
        elif part.split(";")[0].strip() in ("application/json", "*/*"):
            return None
    return None


def _aggregated_resource(rt: ResourceType) -> Obj:
    out: Obj = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    subs = []
    for entry in resource_entries(rt)[1:]:
        sub = entry["name"].split("/", 1)[1]
        subs.append(
            {
                "subresource": sub,
                "responseKind": {
                    "group": entry.get("group", rt.group),
                    "version": entry.get("version", rt.version),
                    "kind": entry["kind"],
                },
                "verbs": entry["verbs"],
            }
        )
    if subs:
        out["subresources"] = subs
    return out


def aggregated(registry: Registry, legacy: bool, version: str) -> Obj:
    """/api (legacy=True, the core group) or /apis as an APIGroupDiscoveryList."""
    group_list = [("", ["v1"])] if legacy else groups(registry)
    items = []
    for group, versions in group_list:
        vs = []
        for v in versions:
            rts = sorted(registry.in_group_version(group, v), key=lambda r: r.plural)
            vs.append({"version": v, "resources": [_aggregated_resource(rt) for rt in rts], "freshness": "Current"})
        items.append({"metadata": {"name": group} if group else {}, "versions": vs})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": items,
    }


def aggregated_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"
