"""The resource types the emulator serves: built-in ones and those created from CRDs."""

from __future__ import annotations

import dataclasses
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")

# Field selectors the real server supports per resource (besides metadata.name/namespace).
POD_FIELDS = frozenset(
    {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
    }
)
EVENT_FIELDS = frozenset(
    {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    }
)
EVENTS_V1_FIELDS = frozenset(
    {
        "regarding.kind",
        "regarding.namespace",
        "regarding.name",
        "regarding.uid",
        "regarding.apiVersion",
        "regarding.resourceVersion",
        "regarding.fieldPath",
        "reason",
        "reportingController",
        "deprecatedSource",
        "type",
    }
)


@dataclasses.dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    fields: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()
    # Stored objects (False: virtual, computed on each request, e.g. reviews and metrics).
    stored: bool = True
    # A custom resource served from a CRD.
    custom: bool = False
    # CRD version schema (openAPIV3Schema), printer columns and status subresource presence.
    schema: dict[str, Any] | None = None
    printer_columns: tuple[dict[str, Any], ...] = ()
    # Whether the kind has metadata.generation, bumped by a "spec" change (custom: every non-metadata
    # change). Nodes, namespaces and services have a spec but no generation on a real server.
    tracks_generation: bool = False
    # The strategy's AllowCreateOnUpdate(): a PUT to a missing object creates it (201).
    create_on_update: bool = False

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """Storage key: objects are shared by every version of a group/resource."""
        return f"{self.group}/{self.plural}"

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def allowed_fields(self) -> frozenset[str]:
        base = {"metadata.name"}
        if self.namespaced:
            base.add("metadata.namespace")
        return frozenset(base) | self.fields


def _core(plural: str, kind: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType("", "v1", plural, kind, namespaced, **kw)


BUILTIN: tuple[ResourceType, ...] = (
    _core(
        "namespaces",
        "Namespace",
        False,
        short_names=("ns",),
        subresources=("status", "finalize"),
        fields=frozenset({"status.phase"}),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    _core(
        "nodes",
        "Node",
        False,
        short_names=("no",),
        subresources=("status", "proxy"),
        fields=frozenset({"spec.unschedulable"}),
        tracks_generation=False,
    ),
    _core(
        "pods",
        "Pod",
        short_names=("po",),
        subresources=("status", "log", "exec", "attach", "portforward", "binding", "eviction"),
        fields=POD_FIELDS,
        categories=("all",),
        tracks_generation=True,  # pods carry a generation since Kubernetes 1.33
    ),
    _core("configmaps", "ConfigMap", short_names=("cm",)),
    _core("secrets", "Secret", fields=frozenset({"type"})),
    _core(
        "services", "Service", short_names=("svc",), subresources=("status",), categories=("all",),
        create_on_update=True,
    ),
    _core("serviceaccounts", "ServiceAccount", short_names=("sa",), subresources=("token",)),
    _core("endpoints", "Endpoints", short_names=("ep",), create_on_update=True),
    _core("events", "Event", short_names=("ev",), fields=EVENT_FIELDS, create_on_update=True),
    _core("resourcequotas", "ResourceQuota", short_names=("quota",), subresources=("status",)),
    _core("limitranges", "LimitRange", short_names=("limits",), create_on_update=True),
    ResourceType(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        True,
        short_names=("deploy",),
        subresources=("status", "scale"),
        categories=("all",),
        tracks_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        True,
        short_names=("rs",),
        subresources=("status", "scale"),
        categories=("all",),
        fields=frozenset({"status.replicas"}),
        tracks_generation=True,
    ),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True, create_on_update=True),
    # RBAC objects: enforced with --rbac (hack/kubeapi/rbac.py), otherwise only stored.
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, create_on_update=True),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, create_on_update=True
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True, create_on_update=True),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, create_on_update=True),
    ResourceType(
        "events.k8s.io", "v1", "events", "Event", True, short_names=("ev",), fields=EVENTS_V1_FIELDS,
        create_on_update=True,
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        subresources=("status",),
        categories=("api-extensions",),
        tracks_generation=True,
    ),
    ResourceType("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=("create",), stored=False),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "subjectaccessreviews",
        "SubjectAccessReview",
        False,
        verbs=("create",),
        stored=False,
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        verbs=("create",),
        stored=False,
    ),
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=("get", "list"), stored=False),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=("get", "list"), stored=False),
)

# Group preference order in /apis (the real server lists core-adjacent groups first).
GROUP_ORDER = (
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "coordination.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "metrics.k8s.io",
)


class Registry:
    """Lookup of served resource types by group/version/plural, kind and short name."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for rt in BUILTIN:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        self._types[(rt.group, rt.version, rt.plural)] = rt

    def remove_group_resource(self, group: str, plural: str) -> None:
        for k in [k for k in self._types if k[0] == group and k[2] == plural]:
            del self._types[k]

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def by_kind(self, group: str, kind: str) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.group == group and rt.kind == kind]

    def group_versions(self) -> dict[str, list[str]]:
        """Group -> versions (custom groups sorted by version priority later)."""
        out: dict[str, list[str]] = {}
        for rt in self._types.values():
            if rt.group:
                versions = out.setdefault(rt.group, [])
                if rt.version not in versions:
                    versions.append(rt.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.group == group and rt.version == version]
