"""Object lifecycle on top of the store: create, update, delete with the real server's semantics
(metadata, resourceVersion conflicts, status subresource, graceful deletion, finalizers)."""

from __future__ import annotations

import copy
import datetime
import logging
import secrets
import string
import uuid
from typing import Any

from . import objects, typed
from .errors import STALE, ApiError, FieldProblem, already_exists, bad_request, conflict, forbidden, invalid, not_found
from .resources import Registry, ResourceType
from .store import Obj, Store

log = logging.getLogger(__name__)

# Kinds whose delete answers the deleted object instead of a Status (ReturnDeletedObject).
_RETURN_DELETED = frozenset({("", "pods"), ("", "nodes"), ("", "namespaces"), ("", "services")})

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# NamespaceLifecycle admission refuses to delete these.
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})

FINALIZER_ORPHAN = "orphan"
FINALIZER_FOREGROUND = "foregroundDeletion"


def _utcnow() -> datetime.datetime:
    """The clock graceful deletion deadlines are computed from (a seam for tests)."""
    return datetime.datetime.now(datetime.UTC)


def _gen_suffix() -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(secrets.choice(alphabet) for _ in range(5))


def _spec_view(rt: ResourceType, obj: Obj) -> Any:
    """The part of an object whose change bumps metadata.generation."""
    if rt.custom:
        skip = {"metadata", "status"} if rt.has_status else {"metadata"}
        return {k: v for k, v in obj.items() if k not in skip and k not in ("apiVersion", "kind")}
    return obj.get("spec")


def _tracks_generation(rt: ResourceType, obj: Obj) -> bool:
    return rt.custom or rt.tracks_generation


def _generation_changed(rt: ResourceType, obj: Obj, old: Obj, subresource: str | None) -> bool:
    if _spec_view(rt, obj) != _spec_view(rt, old):
        return True
    # deploymentStrategy.PrepareForUpdate: annotations are copied to the replica sets, so they bump it too.
    return (
        subresource is None
        and rt.kind == "Deployment"
        and rt.group == "apps"
        and obj["metadata"].get("annotations") != old["metadata"].get("annotations")
    )


def _bump_generation_for_deletion(md: Obj) -> None:
    """rest.BeforeDelete / markAsDeleting: first setting deletionTimestamp increments a set generation."""
    if not md.get("deletionTimestamp") and int(md.get("generation") or 0) > 0:
        md["generation"] = int(md["generation"]) + 1


class WriteResult:
    __slots__ = ("created", "obj", "warnings")

    def __init__(self, obj: Obj, warnings: list[str], created: bool = False) -> None:
        self.obj = obj
        self.warnings = warnings
        self.created = created


class Backend:
    """All object writes go through here (REST handlers and the built-in controllers)."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.crd_hooks: list[Any] = []

    # --- helpers ------------------------------------------------------------------------------

    def ensure_default_namespaces(self) -> None:
        ns_rt = self.rt("", "v1", "namespaces")
        for name in DEFAULT_NAMESPACES:
            if self.store.get(ns_rt.key, "", name) is None:
                self.create(ns_rt, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def rt(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.registry.get(group, version, plural)
        if rt is None:
            raise KeyError(f"{group}/{version}/{plural}")
        return rt

    def _check_namespace(self, rt: ResourceType, ns: str, creating: bool, name: str = "") -> None:
        if not rt.namespaced:
            return
        nsobj = self.store.get("/namespaces", "", ns)
        if nsobj is None:
            raise not_found("", "namespaces", ns)
        if creating and nsobj["metadata"].get("deletionTimestamp"):
            raise forbidden(
                f'{rt.plural} "{name}" is forbidden: unable to create new content in namespace {ns} because it is '
                "being terminated",
                rt.group,
                rt.plural,
                name,
            )

    def _check_type_meta(self, rt: ResourceType, obj: Obj) -> None:
        api_version = obj.get("apiVersion")
        if (
            api_version
            and api_version != rt.group_version
            and (rt.group == "" or api_version.split("/")[0] != rt.group)
        ):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.group_version})"
            )
        kind = obj.get("kind")
        if kind and kind != rt.kind:
            raise bad_request(
                f'{kind} in version "{rt.group_version}" cannot be handled as a {rt.kind}: '
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        if not isinstance(obj.get("metadata", {}), dict):
            raise bad_request(
                f'{rt.kind} in version "{rt.group_version}" cannot be handled as a {rt.kind}: '
                "json: cannot unmarshal into Go struct field .metadata of type v1.ObjectMeta"
            )

    def _decode(
        self, rt: ResourceType, obj: Obj, mode: str, old: Obj | None
    ) -> tuple[Obj, list[str], list[FieldProblem]]:
        """Type check / prune / default / schema-validate the body."""
        self._check_type_meta(rt, obj)
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = rt.group_version
        obj["kind"] = rt.kind
        obj.setdefault("metadata", {})
        if rt.custom:
            return self._decode_custom(rt, obj, old, mode)
        out, warnings = typed.decode(obj, rt.group, rt.version, rt.kind, mode)
        return out, warnings, []

    def _decode_custom(
        self, rt: ResourceType, obj: Obj, old: Obj | None, mode: str
    ) -> tuple[Obj, list[str], list[FieldProblem]]:
        if rt.schema is None:
            return obj, [], []
        from .schema import validate_and_default  # the schema engine (hack/kubeapi/schema.py)

        md = obj.get("metadata") or {}
        obj["metadata"] = {k: v for k, v in md.items() if v is not None and v != [] and v != {}}
        keep: dict[str, Any] = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
        body = {k: v for k, v in obj.items() if k not in keep}
        result, errors = validate_and_default(obj, rt.schema, old=old)
        result = {**result, **keep}
        warnings: list[str] = []
        unknown = [p for p in _pruned(body, {k: v for k, v in result.items() if k not in keep}, "")]
        if unknown and mode != "Ignore":
            msgs = [f'unknown field "{u}"' for u in unknown]
            if mode == "Strict":
                raise bad_request(
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: '
                    + ", ".join(msgs)
                )
            warnings = msgs
        problems = [FieldProblem(e.field, e.type, e.message) for e in errors]
        return result, warnings, problems

    def _raise_invalid(self, rt: ResourceType, name: str, problems: list[FieldProblem]) -> None:
        if problems:
            raise invalid(rt.kind, rt.group, name, problems)

    # --- create -------------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        ns: str,
        body: Obj,
        *,
        dry_run: bool = False,
        validation: str = "Warn",
        managed_fields: list[Any] | None = None,
        manager: str | None = None,
    ) -> WriteResult:
        if not isinstance(body, dict):
            raise bad_request("the body of the request is not a JSON object")
        md_in = body.get("metadata") or {}
        body_ns = md_in.get("namespace")
        if rt.namespaced and body_ns and body_ns != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        obj, warnings, problems = self._decode(rt, body, validation, None)
        md = obj["metadata"]
        name = md.get("name") or ""
        if not name and md.get("generateName"):
            name = md["generateName"] + _gen_suffix()
        if not name:
            raise invalid(
                rt.kind, rt.group, "", [objects.required("metadata.name", "name or generateName is required")]
            )
        md["name"] = name
        if rt.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        self._check_namespace(rt, ns, creating=True, name=name)
        if (rt.custom and rt.has_status) or (
            not rt.custom and rt.kind in ("Pod", "Deployment", "ReplicaSet", "Service", "CustomResourceDefinition")
        ):
            obj.pop("status", None)
        for k in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            md.pop(k, None)
        if md.get("generateName") is None:
            md.pop("generateName", None)
        objects.default_object(rt.kind, rt.group, obj)
        if rt.kind == "Secret" and rt.group == "":
            problems += objects.normalize_secret(obj)
        if rt.kind == "Service" and rt.group == "":
            self._allocate_cluster_ip(obj)
        problems = objects.validate_name(rt.kind, name) + problems + objects.validate_object(rt.kind, rt.group, obj)
        if rt.kind == "CustomResourceDefinition":
            problems += self._validate_crd(obj)
        self._raise_invalid(rt, name, problems)
        if self.store.get(rt.key, md.get("namespace", ""), name) is not None:
            raise already_exists(rt.group, rt.plural, name)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = objects.now()
        if _tracks_generation(rt, obj):
            md["generation"] = 1
        if managed_fields is not None:
            md["managedFields"] = managed_fields
        elif manager:
            _track(rt, None, obj, manager, None)
        if rt.kind == "CustomResourceDefinition":
            self._crd_status(obj)
        if dry_run:
            md["resourceVersion"] = str(self.store.rv)
            return WriteResult(obj, warnings, True)
        md["resourceVersion"] = str(self.store.next_rv())
        self.store.put(rt.key, obj)
        self._after_write(rt, obj, None)
        return WriteResult(obj, warnings, True)

    def _allocate_cluster_ip(self, svc: Obj) -> None:
        """Service IP allocation from 10.96.0.0/16, as the real server's allocator does."""
        spec = svc.setdefault("spec", {})
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            return
        if not spec.get("clusterIP"):
            used = {(s.get("spec") or {}).get("clusterIP") for s in self.store.list("/services")}
            for n in range(10, 65534):
                ip = f"10.96.{n // 256}.{n % 256}"
                if ip not in used:
                    spec["clusterIP"] = ip
                    break
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")

    # --- update -------------------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        body: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        validation: str = "Warn",
        allow_create: bool = False,
        manager: str | None = None,
        require_resource_version: bool = False,
    ) -> WriteResult:
        """require_resource_version: the kind refuses unconditional updates (a PUT of a custom resource or a
        CRD without metadata.resourceVersion is 422, as AllowUnconditionalUpdate() is false for them)."""
        if not isinstance(body, dict):
            raise bad_request("the body of the request is not a JSON object")
        key_ns = ns if rt.namespaced else ""
        old = self.store.get(rt.key, key_ns, name)
        md_in = body.get("metadata") or {}
        if md_in.get("name") and md_in["name"] != name:
            raise bad_request(f"the name of the object ({md_in['name']}) does not match the name on the URL ({name})")
        if rt.namespaced and md_in.get("namespace") and md_in["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if old is None:
            if (allow_create or rt.create_on_update) and subresource is None:
                body = copy.deepcopy(body)
                body.setdefault("metadata", {})["name"] = name
                body["metadata"].pop("resourceVersion", None)
                return self.create(rt, ns, body, dry_run=dry_run, validation=validation, manager=manager)
            raise not_found(rt.group, rt.plural, name)
        obj, warnings, problems = self._decode(rt, body, validation, old)
        md = obj["metadata"]
        old_md = old["metadata"]
        rv = md.get("resourceVersion")
        if require_resource_version and rv in (None, ""):
            raise invalid(
                rt.plural,
                rt.group,
                name,
                [
                    FieldProblem(
                        "metadata.resourceVersion",
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        if rv not in (None, "") and rv != old_md["resourceVersion"]:
            raise conflict(rt.group, rt.plural, name, STALE)
        if md.get("uid") not in (None, "") and md["uid"] != old_md["uid"]:
            raise conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {md['uid']}, UID in object meta: {old_md['uid']}",
            )
        # Fields the client cannot change.
        for k in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if k in old_md:
                md[k] = old_md[k]
            else:
                md.pop(k, None)
        md.pop("selfLink", None)
        if "managedFields" not in md and "managedFields" in old_md:
            md["managedFields"] = old_md["managedFields"]
        if subresource == "status":
            obj = self._status_write(rt, obj, old)
            md = obj["metadata"]
        elif rt.has_status:
            if "status" in old:
                obj["status"] = copy.deepcopy(old["status"])
            else:
                obj.pop("status", None)
        if old_md.get("deletionTimestamp"):
            new_f = [f for f in md.get("finalizers") or [] if f not in (old_md.get("finalizers") or [])]
            if new_f:
                problems.append(
                    objects.forbidden_field(
                        "metadata.finalizers",
                        "no new finalizers can be added if the object is being deleted, found new finalizers "
                        + objects.go_repr(new_f),
                    )
                )
        if rt.kind == "Secret" and rt.group == "":
            problems += objects.normalize_secret(obj)
        if rt.kind == "Service" and rt.group == "" and isinstance(obj.get("spec"), dict):
            # Allocated values carry over when an update leaves them unset.
            for k in ("clusterIP", "clusterIPs"):
                if not obj["spec"].get(k) and (old.get("spec") or {}).get(k):
                    obj["spec"][k] = copy.deepcopy(old["spec"][k])
        if subresource in (None, "finalize"):
            ns_finalizers: list[Any] | None = None
            if rt.kind == "Namespace" and rt.group == "":
                # namespaceStrategy keeps spec.finalizers on main writes; only /finalize sets them.
                source = obj if subresource == "finalize" else old
                ns_finalizers = copy.deepcopy((source.get("spec") or {}).get("finalizers") or [])
            if rt.kind == "Pod" and rt.group == "":
                objects.default_pod_spec(obj.get("spec") or {})
            else:
                objects.default_object(rt.kind, rt.group, obj)
            if ns_finalizers is not None:
                if ns_finalizers:
                    obj.setdefault("spec", {})["finalizers"] = ns_finalizers
                else:
                    obj.setdefault("spec", {}).pop("finalizers", None)
            if rt.kind == "Namespace":
                obj["status"] = copy.deepcopy(old.get("status", {}))
            problems += objects.validate_object(rt.kind, rt.group, obj)
            problems += objects.validate_update(rt.kind, rt.group, obj, old)
            if rt.kind == "CustomResourceDefinition":
                problems += self._validate_crd(obj)
                self._crd_status(obj, old)
        else:
            problems += objects.validate_labels(md.get("labels"), "metadata.labels")
            if rt.kind == "Pod" and rt.group == "":
                problems += objects.validate_pod_status_update(obj, old)
        self._raise_invalid(rt, name, problems)
        if _tracks_generation(rt, obj) and _generation_changed(rt, obj, old, subresource):
            md["generation"] = int(old_md.get("generation") or 1) + 1
        elif _tracks_generation(rt, obj) and "generation" not in md:
            md["generation"] = 1
        if self._same(obj, old):
            # A no-op write keeps the resourceVersion and sends no event, as the real server does.
            return WriteResult(old, warnings)
        if manager:
            _track(rt, old, obj, manager, subresource)
        if dry_run:
            return WriteResult(obj, warnings)
        md["resourceVersion"] = str(self.store.next_rv())
        if md.get("deletionTimestamp") and not md.get("finalizers") and self._deletion_complete(rt, obj):
            self._remove(rt, obj)
            return WriteResult(obj, warnings)
        self.store.put(rt.key, obj)
        self._after_write(rt, obj, old)
        return WriteResult(obj, warnings)

    @staticmethod
    def _same(new: Obj, old: Obj) -> bool:
        a = dict(new)
        a["metadata"] = {k: v for k, v in new["metadata"].items() if k != "resourceVersion"}
        b = dict(old)
        b["metadata"] = {k: v for k, v in old["metadata"].items() if k != "resourceVersion"}
        return a == b

    def _status_write(self, rt: ResourceType, obj: Obj, old: Obj) -> Obj:
        if rt.custom:
            out = copy.deepcopy(old)
            if "status" in obj:
                out["status"] = obj["status"]
            else:
                out.pop("status", None)
            out["metadata"]["resourceVersion"] = obj["metadata"].get(
                "resourceVersion", old["metadata"]["resourceVersion"]
            )
            if "managedFields" in obj["metadata"]:
                out["metadata"]["managedFields"] = obj["metadata"]["managedFields"]
            return out
        # Built-in kinds: spec is kept from the stored object, metadata changes are allowed.
        if "spec" in old:
            obj["spec"] = copy.deepcopy(old["spec"])
        else:
            obj.pop("spec", None)
        for k in ("data", "type") if rt.kind == "Secret" else ():
            obj[k] = old.get(k)
        # podStatusStrategy keeps ownerReferences (old kubelets corrupt them); deploymentStatusStrategy keeps labels.
        kept = {("", "Pod"): "ownerReferences", ("apps", "Deployment"): "labels"}.get((rt.group, rt.kind))
        if kept is not None:
            if kept in old["metadata"]:
                obj["metadata"][kept] = copy.deepcopy(old["metadata"][kept])
            else:
                obj["metadata"].pop(kept, None)
        return obj

    def _deletion_complete(self, rt: ResourceType, obj: Obj) -> bool:
        """A terminating object without finalizers is removed unless it waits for a graceful end."""
        grace = obj["metadata"].get("deletionGracePeriodSeconds")
        if rt.kind == "Namespace" and rt.group == "":
            return not (obj.get("spec") or {}).get("finalizers")
        return not (rt.kind == "Pod" and rt.group == "" and grace not in (None, 0))

    # --- delete -------------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        ns: str,
        name: str,
        *,
        grace: int | None = None,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Returns (object, removed). removed=False: the object is terminating (graceful/finalizers)."""
        key_ns = ns if rt.namespaced else ""
        old = self.store.get(rt.key, key_ns, name)
        if old is None:
            raise not_found(rt.group, rt.plural, name)
        if rt.kind == "Namespace" and rt.group == "" and name in IMMORTAL_NAMESPACES:
            raise forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted', "", "namespaces", name
            )
        old_md = old["metadata"]
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != old_md["uid"]:
            raise conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {old_md['uid']}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != old_md["resourceVersion"]:
            raise conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {old_md['resourceVersion']}",
            )
        if propagation not in (None, "Orphan", "Background", "Foreground"):
            raise invalid(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                [objects.unsupported("propagationPolicy", propagation, ["Foreground", "Background", "Orphan", "nil"])],
            )
        if grace is not None and grace < 0:
            grace = 1
        obj = copy.deepcopy(old)
        md = obj["metadata"]
        finalizers = list(md.get("finalizers") or [])
        if propagation is not None:
            # deletionFinalizersForGarbageCollection: the policy decides which of the two is present.
            finalizers = [f for f in finalizers if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND)]
            if propagation == "Orphan":
                finalizers.append(FINALIZER_ORPHAN)
            elif propagation == "Foreground":
                finalizers.append(FINALIZER_FOREGROUND)
        if finalizers:
            md["finalizers"] = finalizers
        else:
            md.pop("finalizers", None)
        is_pod = rt.kind == "Pod" and rt.group == ""
        if is_pod:
            spec, status = obj.get("spec") or {}, obj.get("status") or {}
            if grace is None:
                grace = int(spec.get("terminationGracePeriodSeconds", 30))
            if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
                grace = 0
            current = md.get("deletionGracePeriodSeconds")
            if current is not None and grace >= current and md.get("deletionTimestamp"):
                # A later delete may only shorten the grace period.
                return old, False
            if grace > 0:
                _bump_generation_for_deletion(md)
                deadline = _utcnow() + datetime.timedelta(seconds=grace)
                if current and md.get("deletionTimestamp"):
                    # Shortening: the old deadline moves back by the difference (rest.BeforeDelete).
                    deadline = objects.parse_time(md["deletionTimestamp"]) - datetime.timedelta(
                        seconds=int(current) - grace
                    )
                md["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
                md["deletionGracePeriodSeconds"] = grace
                return self._store_terminating(rt, obj, dry_run), False
            md["deletionGracePeriodSeconds"] = 0
        if rt.kind == "Namespace" and rt.group == "":
            # Namespaces always terminate through the namespace controller (spec.finalizers).
            if md.get("deletionTimestamp"):
                return old, False
            md["deletionTimestamp"] = objects.now()
            md["deletionGracePeriodSeconds"] = 0
            obj.setdefault("status", {})["phase"] = "Terminating"
            return self._store_terminating(rt, obj, dry_run), False
        if finalizers:
            if not old_md.get("deletionTimestamp"):
                _bump_generation_for_deletion(md)
                md["deletionTimestamp"] = objects.now()
                md["deletionGracePeriodSeconds"] = 0
            elif md.get("deletionGracePeriodSeconds") is None:
                md["deletionGracePeriodSeconds"] = 0
            if obj == old:
                return old, False
            return self._store_terminating(rt, obj, dry_run), False
        if dry_run:
            return obj, True
        md["resourceVersion"] = str(self.store.next_rv())
        self._remove(rt, obj)
        return obj, True

    def _store_terminating(self, rt: ResourceType, obj: Obj, dry_run: bool) -> Obj:
        if dry_run:
            return obj
        obj["metadata"]["resourceVersion"] = str(self.store.next_rv())
        self.store.put(rt.key, obj)
        self._after_write(rt, obj, None)
        return obj

    def _remove(self, rt: ResourceType, obj: Obj) -> None:
        self.store.remove(rt.key, obj)
        if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
            self._unregister_crd(obj)

    def returns_deleted_object(self, rt: ResourceType) -> bool:
        return (rt.group, rt.plural) in _RETURN_DELETED

    def finalize_namespace(self, name: str) -> None:
        """Namespace controller: the namespace is empty; drop the kubernetes finalizer and remove it."""
        ns_rt = self.rt("", "v1", "namespaces")
        obj = self.store.get(ns_rt.key, "", name)
        if obj is None:
            return
        obj = copy.deepcopy(obj)
        obj.setdefault("spec", {})["finalizers"] = []
        obj["metadata"]["resourceVersion"] = str(self.store.next_rv())
        if obj["metadata"].get("finalizers"):
            self.store.put(ns_rt.key, obj)
        else:
            self._remove(ns_rt, obj)

    # --- CRDs ---------------------------------------------------------------------------------

    def _validate_crd(self, obj: Obj) -> list[FieldProblem]:
        out: list[FieldProblem] = []
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        group = spec.get("group") or ""
        plural = names.get("plural") or ""
        if not group:
            out.append(objects.required("spec.group"))
        if not plural:
            out.append(objects.required("spec.names.plural"))
        if not names.get("kind"):
            out.append(objects.required("spec.names.kind"))
        if group and plural and obj["metadata"].get("name") != f"{plural}.{group}":
            out.append(
                objects.invalid_value(
                    "metadata.name", obj["metadata"].get("name"), 'must be spec.names.plural+"."+spec.group'
                )
            )
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            out.append(objects.unsupported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
        versions = spec.get("versions") or []
        if not versions:
            out.append(objects.required("spec.versions", "must have exactly one version marked as storage version"))
        storage = [v for v in versions if v.get("storage")]
        if versions and len(storage) != 1:
            out.append(
                objects.invalid_value(
                    "spec.versions",
                    versions and [v.get("name") for v in versions],
                    "must have exactly one version marked as storage version",
                )
            )
        from .schema import check_rules

        for i, v in enumerate(versions):
            schema = (v.get("schema") or {}).get("openAPIV3Schema")
            if not schema:
                out.append(objects.required(f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required"))
                continue
            for e in check_rules(schema, f"spec.versions[{i}].schema.openAPIV3Schema"):
                out.append(FieldProblem(e.field, e.type, e.message))
        # The group/plural must not collide with a built-in resource.
        if (
            group
            and plural
            and any(not rt.custom for rt in self.registry.all() if rt.group == group and rt.plural == plural)
        ):
            out.append(objects.invalid_value("spec.group", group, "cannot override a built-in resource"))
        return out

    @staticmethod
    def _crd_status(obj: Obj, old: Obj | None = None) -> None:
        spec = obj.get("spec") or {}
        now = objects.now()
        if old is not None:
            # Conditions keep their transition times across updates.
            previous = {
                c.get("type"): c.get("lastTransitionTime") for c in (old.get("status") or {}).get("conditions") or []
            }
            now = previous.get("Established") or now
        obj["status"] = {
            "acceptedNames": copy.deepcopy(spec.get("names") or {}),
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": now,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": now,
                },
            ],
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
        }
        if old is not None:
            # storedVersions only grows (objects may still be stored in an older version).
            stored = list((old.get("status") or {}).get("storedVersions") or [])
            for v in obj["status"]["storedVersions"]:
                if v not in stored:
                    stored.append(v)
            obj["status"]["storedVersions"] = stored
        names = obj["status"]["acceptedNames"]
        names.setdefault("singular", (names.get("kind") or "").lower())
        names.setdefault("listKind", (names.get("kind") or "") + "List")

    def _register_crd(self, crd: Obj) -> None:
        spec = crd["spec"]
        names = spec["names"]
        group, plural = spec["group"], names["plural"]
        self.registry.remove_group_resource(group, plural)
        for v in spec.get("versions") or []:
            if not v.get("served", True):
                continue
            sub = v.get("subresources") or {}
            subresources = tuple(s for s in ("status", "scale") if s in sub)
            self.registry.add(
                ResourceType(
                    group=group,
                    version=v["name"],
                    plural=plural,
                    kind=names["kind"],
                    namespaced=spec.get("scope") == "Namespaced",
                    short_names=tuple(names.get("shortNames") or ()),
                    subresources=subresources,
                    categories=tuple(names.get("categories") or ()),
                    custom=True,
                    schema=(v.get("schema") or {}).get("openAPIV3Schema"),
                    printer_columns=tuple(v.get("additionalPrinterColumns") or ()),
                )
            )
        for hook in self.crd_hooks:
            hook()

    def _unregister_crd(self, crd: Obj) -> None:
        spec = crd["spec"]
        group, plural = spec["group"], spec["names"]["plural"]
        key = f"{group}/{plural}"
        for obj in self.store.list(key):
            final = copy.deepcopy(obj)
            final["metadata"]["resourceVersion"] = str(self.store.next_rv())
            self.store.remove(key, final)
        self.registry.remove_group_resource(group, plural)
        for hook in self.crd_hooks:
            hook()

    def _after_write(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rt.kind == "CustomResourceDefinition" and rt.group == "apiextensions.k8s.io":
            self._register_crd(obj)


def _track(rt: ResourceType, old: Obj | None, new: Obj, manager: str, subresource: str | None) -> None:
    """Record the write in managedFields (operation Update) so server-side apply sees its owners."""
    from .patch import track_update

    try:
        new["metadata"]["managedFields"] = track_update(old, new, manager, rt.kind, subresource=subresource)
    except Exception:  # a bookkeeping failure must not fail the write itself
        log.exception("managedFields tracking failed kind=%s name=%s", rt.kind, new["metadata"].get("name"))


def _pruned(before: Any, after: Any, path: str) -> list[str]:
    """Paths present (non-null) in before and dropped from after: the fields a schema pruned."""
    out: list[str] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for k, v in before.items():
            sub = f"{path}.{k}" if path else k
            if k not in after:
                if v is not None:
                    out.append(sub)
            else:
                out.extend(_pruned(v, after[k], sub))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out.extend(_pruned(b, a, f"{path}[{i}]"))
    return out


def validate_resource_version_param(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, "BadRequest", f'invalid resource version "{value}"') from None


ALPHABET = string.ascii_lowercase
