"""Built-in controllers: ReplicaSet, Deployment (Recreate and a simple RollingUpdate), garbage
collection of ownerReferences (background, foreground, orphan) and namespace deletion."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .objects import now
from .storage import FINALIZER_FOREGROUND, FINALIZER_ORPHAN
from .store import Event

if TYPE_CHECKING:
    from .server import KubeAPIServer

log = logging.getLogger(__name__)

Obj = dict[str, Any]
POD_KEY = "/pods"
RS_KEY = "apps/replicasets"
DEPLOY_KEY = "apps/deployments"
NS_KEY = "/namespaces"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    n = int(digest[:16], 16)
    out = ""
    for _ in range(10):
        n, r = divmod(n, len(alphabet))
        out += alphabet[r]
    return out


def _controller_uid(obj: Obj) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def _owner_ref(owner: Obj, api_version: str, kind: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _resolves(ref: Obj, dep_rt: Any, dep: Obj, by_uid: dict[str, tuple[Any, Obj]]) -> bool:
    """Whether an ownerReference names an existing owner, as the real garbage collector decides: the owner
    is looked up by apiVersion group, kind and name (in the dependent's namespace) and its uid compared."""
    hit = by_uid.get(str(ref.get("uid")))
    if hit is None:
        return False
    owner_rt, owner = hit
    if owner_rt.kind != ref.get("kind") or owner["metadata"].get("name") != ref.get("name"):
        return False
    if str(ref.get("apiVersion") or "").rpartition("/")[0] != owner_rt.group:
        return False
    if owner_rt.namespaced and dep_rt.namespaced:
        return bool(owner["metadata"].get("namespace") == dep["metadata"].get("namespace"))
    # A cluster-scoped dependent of a namespaced owner is unresolvable: the real collector reports it
    # (OwnerRefInvalidNamespace) and leaves the dependent alone.
    return True


def _pod_ready(pod: Obj) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


def _active(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


class Controllers:
    def __init__(self, server: KubeAPIServer) -> None:
        self.server = server
        self.backend = server.backend
        self.store = server.store
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # What the pending reconcile must look at (set from store events).
        self._need_workloads = False
        self._need_gc = False
        self._need_namespaces = False
        self.store.add_listener(self._on_event)

    def _on_event(self, ev: Event) -> None:
        md = ev.obj.get("metadata") or {}
        old_md = (ev.old or {}).get("metadata") or {}
        if ev.key in (DEPLOY_KEY, RS_KEY) or (
            ev.key == POD_KEY and (md.get("ownerReferences") or old_md.get("ownerReferences"))
        ):
            self._need_workloads = True
        if (
            ev.type == "DELETED"
            or md.get("deletionTimestamp")
            or md.get("ownerReferences")
            or old_md.get("ownerReferences")
        ):
            self._need_gc = True
        if ev.key == NS_KEY or ev.type == "DELETED" or md.get("deletionTimestamp"):
            self._need_namespaces = True
        if self._need_workloads or self._need_gc or self._need_namespaces:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0.02)
            try:
                self.reconcile()
            except Exception:
                log.exception("controller reconcile failed")

    def reconcile(self) -> None:
        """One pass of every controller that has something to look at."""
        ns, gc, workloads = self._need_namespaces, self._need_gc, self._need_workloads
        self._need_namespaces = self._need_gc = self._need_workloads = False
        if ns:
            self.namespaces()
        if gc:
            self.garbage_collect()
        if workloads:
            self.deployments()
            self.replicasets()

    # --- helpers ------------------------------------------------------------------------------

    def _rt(self, group: str, plural: str) -> Any:
        return self.backend.rt(group, "v1", plural)

    def _update(self, group: str, plural: str, obj: Obj, subresource: str | None = None) -> Obj | None:
        md = obj["metadata"]
        try:
            return self.backend.update(
                self._rt(group, plural), md.get("namespace", ""), md["name"], obj, subresource=subresource
            ).obj
        except ApiError as exc:
            log.debug("controller update failed kind=%s name=%s error=%s", plural, md["name"], exc.message)
            return None

    def _delete(self, group: str, plural: str, obj: Obj, propagation: str | None = None) -> None:
        md = obj["metadata"]
        try:
            self.backend.delete(
                self._rt(group, plural),
                md.get("namespace", ""),
                md["name"],
                propagation=propagation,
                preconditions={"uid": md["uid"]},
            )
        except ApiError as exc:
            log.debug("controller delete failed kind=%s name=%s error=%s", plural, md["name"], exc.message)

    # --- namespaces ---------------------------------------------------------------------------

    def namespaces(self) -> None:
        for ns in self.store.list(NS_KEY):
            if not ns["metadata"].get("deletionTimestamp"):
                continue
            name = ns["metadata"]["name"]
            remaining = 0
            for rt in self.server.registry.all():
                if not rt.namespaced or not rt.stored:
                    continue
                # Each storage key once (several versions share one).
                if rt.version != self._preferred_version(rt):
                    continue
                for obj in self.store.list(rt.key, name):
                    remaining += 1
                    if not obj["metadata"].get("deletionTimestamp"):
                        with contextlib.suppress(ApiError):
                            self.backend.delete(rt, name, obj["metadata"]["name"])
            if remaining == 0 or not any(self.store.list(k, name) for k in self._namespaced_keys()):
                self.backend.finalize_namespace(name)

    def _preferred_version(self, rt: Any) -> str:
        versions = [r.version for r in self.server.registry.all() if r.group == rt.group and r.plural == rt.plural]
        return sorted(versions)[0]

    def _namespaced_keys(self) -> set[str]:
        return {rt.key for rt in self.server.registry.all() if rt.namespaced and rt.stored}

    # --- garbage collector --------------------------------------------------------------------

    def garbage_collect(self) -> None:
        by_uid: dict[str, tuple[Any, Obj]] = {}
        rts = {}
        for rt in self.server.registry.all():
            if rt.stored and rt.key not in rts:
                rts[rt.key] = rt
        for rt in rts.values():
            for obj in self.store.list(rt.key):
                by_uid[obj["metadata"]["uid"]] = (rt, obj)
        dependents: dict[str, list[tuple[Any, Obj]]] = {}
        for rt, obj in by_uid.values():
            refs = obj["metadata"].get("ownerReferences") or []
            if not refs:
                continue
            alive = [r for r in refs if _resolves(r, rt, obj, by_uid)]
            for ref in alive:
                dependents.setdefault(str(ref.get("uid")), []).append((rt, obj))
            if not alive:
                if not obj["metadata"].get("deletionTimestamp"):
                    self._delete(rt.group, rt.plural, obj)
            elif len(alive) != len(refs):
                new = copy.deepcopy(obj)
                new["metadata"]["ownerReferences"] = alive
                self._update(rt.group, rt.plural, new)
        for uid, (rt, owner) in by_uid.items():
            md = owner["metadata"]
            finalizers = md.get("finalizers") or []
            if not md.get("deletionTimestamp"):
                continue
            deps = dependents.get(uid, [])
            if FINALIZER_ORPHAN in finalizers:
                for drt, dep in deps:
                    new = copy.deepcopy(dep)
                    new["metadata"]["ownerReferences"] = [
                        r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid
                    ]
                    self._update(drt.group, drt.plural, new)
                self._drop_finalizer(rt, owner, FINALIZER_ORPHAN)
            elif FINALIZER_FOREGROUND in finalizers:
                blocking = [
                    d
                    for d in deps
                    if self.store.get(d[0].key, d[1]["metadata"].get("namespace", ""), d[1]["metadata"]["name"])
                ]
                for drt, dep in blocking:
                    if not dep["metadata"].get("deletionTimestamp"):
                        self._delete(drt.group, drt.plural, dep, propagation="Foreground")
                if not blocking:
                    self._drop_finalizer(rt, owner, FINALIZER_FOREGROUND)

    def _drop_finalizer(self, rt: Any, obj: Obj, finalizer: str) -> None:
        current = self.store.get(rt.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if current is None:
            return
        new = copy.deepcopy(current)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        self._update(rt.group, rt.plural, new)

    # --- replicasets --------------------------------------------------------------------------

    def _owned_pods(self, owner: Obj) -> list[Obj]:
        ns = owner["metadata"]["namespace"]
        uid = owner["metadata"]["uid"]
        return [p for p in self.store.list(POD_KEY, ns) if _controller_uid(p) == uid]

    def replicasets(self) -> None:
        for rs in self.store.list(RS_KEY):
            if rs["metadata"].get("deletionTimestamp"):
                continue
            spec = rs.get("spec") or {}
            want = int(spec.get("replicas", 1))
            pods = self._owned_pods(rs)
            active = [p for p in pods if _active(p)]
            if len(active) < want:
                for _ in range(want - len(active)):
                    self._create_pod(rs)
            elif len(active) > want:
                # Unbound first, then not ready, then newest.
                ranked = sorted(
                    active,
                    key=lambda p: (
                        bool((p.get("spec") or {}).get("nodeName")),
                        _pod_ready(p),
                        p["metadata"]["creationTimestamp"],
                    ),
                )
                for p in ranked[: len(active) - want]:
                    self._delete("", "pods", p)
            active = [p for p in self._owned_pods(rs) if _active(p)]
            ready = sum(1 for p in active if _pod_ready(p))
            labels = (spec.get("template") or {}).get("metadata", {}).get("labels") or {}
            status = {
                "replicas": len(active),
                "fullyLabeledReplicas": sum(
                    1 for p in active if all(p["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())
                ),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": rs["metadata"].get("generation", 1),
            }
            status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
            if rs.get("status") != status:
                new = copy.deepcopy(rs)
                new["status"] = status
                self._update("apps", "replicasets", new, subresource="status")

    def _create_pod(self, rs: Obj) -> None:
        template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
        md = template.get("metadata") or {}
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": rs["metadata"]["name"] + "-",
                "namespace": rs["metadata"]["namespace"],
                "labels": md.get("labels") or {},
                "ownerReferences": [_owner_ref(rs, "apps/v1", "ReplicaSet")],
            },
            "spec": template.get("spec") or {},
        }
        if md.get("annotations"):
            pod["metadata"]["annotations"] = md["annotations"]
        try:
            self.backend.create(self._rt("", "pods"), rs["metadata"]["namespace"], pod)
        except ApiError as exc:
            log.warning("replicaset could not create pod rs=%s error=%s", rs["metadata"]["name"], exc.message)

    # --- deployments --------------------------------------------------------------------------

    def deployments(self) -> None:
        for d in self.store.list(DEPLOY_KEY):
            if d["metadata"].get("deletionTimestamp"):
                continue
            self._sync_deployment(d)

    def _sync_deployment(self, d: Obj) -> None:
        ns = d["metadata"]["namespace"]
        uid = d["metadata"]["uid"]
        spec = d.get("spec") or {}
        want = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        h = template_hash(template)
        owned = [rs for rs in self.store.list(RS_KEY, ns) if _controller_uid(rs) == uid]
        new_rs = next((rs for rs in owned if rs["metadata"].get("labels", {}).get(HASH_LABEL) == h), None)
        old = [rs for rs in owned if rs is not new_rs]
        revisions = [int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) for rs in owned]
        strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
        if new_rs is None:
            revision = max(revisions, default=0) + 1
            new_rs = self._create_rs(
                d, template, h, revision, 0 if (strategy == "Recreate" and self._old_pods(old)) else want
            )
            if new_rs is None:
                return
        elif new_rs["metadata"].get("annotations", {}).get(REVISION) != str(max(revisions, default=1)) and old:
            pass
        if strategy == "Recreate":
            for rs in old:
                self._scale(rs, 0)
            self._scale(new_rs, want if not self._old_pods(old) else 0)
        else:
            self._scale(new_rs, want)
            new_ready = int((new_rs.get("status") or {}).get("readyReplicas", 0))
            budget = max(0, want - new_ready)
            for rs in sorted(old, key=lambda r: r["metadata"]["creationTimestamp"], reverse=True):
                cur = int((rs.get("spec") or {}).get("replicas", 0))
                keep = min(cur, budget)
                budget -= keep
                self._scale(rs, keep)
        self._cleanup_history(d, old)
        self._deployment_status(d, new_rs, old)

    def _old_pods(self, old: list[Obj]) -> bool:
        return any(self._owned_pods(rs) for rs in old)

    def _create_rs(self, d: Obj, template: Obj, h: str, revision: int, replicas: int) -> Obj | None:
        spec = d.get("spec") or {}
        tmpl = copy.deepcopy(template)
        tmpl.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = h
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{d['metadata']['name']}-{h}",
                "namespace": d["metadata"]["namespace"],
                "labels": dict(tmpl["metadata"]["labels"]),
                "annotations": {
                    REVISION: str(revision),
                    "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                },
                "ownerReferences": [_owner_ref(d, "apps/v1", "Deployment")],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": tmpl},
        }
        try:
            return self.backend.create(self._rt("apps", "replicasets"), d["metadata"]["namespace"], rs).obj
        except ApiError as exc:
            log.warning(
                "deployment could not create replicaset deployment=%s error=%s", d["metadata"]["name"], exc.message
            )
            return None

    def _scale(self, rs: Obj, replicas: int) -> None:
        current = self.store.get(RS_KEY, rs["metadata"]["namespace"], rs["metadata"]["name"])
        if current is None or int((current.get("spec") or {}).get("replicas", 0)) == replicas:
            return
        new = copy.deepcopy(current)
        new["spec"]["replicas"] = replicas
        self._update("apps", "replicasets", new)

    def _cleanup_history(self, d: Obj, old: list[Obj]) -> None:
        limit = int((d.get("spec") or {}).get("revisionHistoryLimit", 10))
        idle = [rs for rs in old if int((rs.get("spec") or {}).get("replicas", 0)) == 0 and not self._owned_pods(rs)]
        idle.sort(key=lambda r: int(r["metadata"].get("annotations", {}).get(REVISION, "0")))
        for rs in idle[: max(0, len(idle) - limit)]:
            self._delete("apps", "replicasets", rs)

    def _deployment_status(self, d: Obj, new_rs: Obj, old: list[Obj]) -> None:
        ns = d["metadata"]["namespace"]
        found = [self.store.get(RS_KEY, ns, rs["metadata"]["name"]) for rs in [new_rs, *old]]
        all_rs = [rs for rs in found if rs is not None]
        cur_new = all_rs[0] if all_rs and all_rs[0]["metadata"]["name"] == new_rs["metadata"]["name"] else new_rs

        def st(rs: Obj, k: str) -> int:
            return int((rs.get("status") or {}).get(k, 0))

        replicas = sum(st(rs, "replicas") for rs in all_rs)
        ready = sum(st(rs, "readyReplicas") for rs in all_rs)
        available = sum(st(rs, "availableReplicas") for rs in all_rs)
        updated = st(cur_new, "replicas")
        want = int((d.get("spec") or {}).get("replicas", 1))
        old_status = d.get("status") or {}
        old_conds = {c["type"]: c for c in old_status.get("conditions") or []}

        def cond(ctype: str, ok: bool, reason: str, message: str) -> Obj:
            prev = old_conds.get(ctype)
            status = "True" if ok else "False"
            if prev and prev.get("status") == status and prev.get("reason") == reason:
                return dict(prev)
            ts = now()
            return {
                "type": ctype,
                "status": status,
                "lastUpdateTime": ts,
                "lastTransitionTime": ts,
                "reason": reason,
                "message": message,
            }

        name = d["metadata"]["name"]
        rs_name = cur_new["metadata"]["name"]
        complete = updated == want and replicas == want and available >= want
        status: Obj = {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(0, want - available),
            "conditions": [
                cond(
                    "Available",
                    available >= want,
                    "MinimumReplicasAvailable" if available >= want else "MinimumReplicasUnavailable",
                    "Deployment has minimum availability."
                    if available >= want
                    else "Deployment does not have minimum availability.",
                ),
                cond(
                    "Progressing",
                    True,
                    "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                    f'ReplicaSet "{rs_name}" has successfully progressed.'
                    if complete
                    else f'ReplicaSet "{rs_name}" is progressing.',
                ),
            ],
        }
        status = {k: v for k, v in status.items() if v or k in ("observedGeneration", "conditions")}
        changed = old_status != status
        revision = cur_new["metadata"].get("annotations", {}).get(REVISION)
        annotations = d["metadata"].get("annotations") or {}
        if revision and annotations.get(REVISION) != revision:
            new = copy.deepcopy(d)
            new["metadata"].setdefault("annotations", {})[REVISION] = revision
            # Through the status subresource, as the real controller's UpdateStatus: no generation bump.
            updated_obj = self._update("apps", "deployments", new, subresource="status")
            if updated_obj is not None:
                d = updated_obj
                changed = True
        if changed:
            new = copy.deepcopy(d)
            new["status"] = status
            self._update("apps", "deployments", new, subresource="status")
        del name
