"""Reconcile one CiscoDevice: validate, apply owned objects, report status, clean up on delete.

One pass reads what it needs, writes only what differs, and returns when to look again. Owned
objects carry a hash of their rendered form (``cisco.vk/rendered-hash``) so that fields the API
server defaults never cause update churn; edits by others to the fields the controller sets
(``kubectl scale``, a changed image) are undone even when they keep the hash.

Reads come from the manager's informer caches when it passes a ``cache`` lookup (else from the
API). A cache lags behind the controller's own writes, so the reconciler remembers what it wrote
and prefers that while the cache still shows an older resourceVersion (read-your-writes); a pass
therefore never undoes or repeats its own previous write. Writes always carry the resourceVersion
they were computed from, so a stale read can only cost a 409 and a retry, never a lost update.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from controller import render
from controller.crd import GROUP, PLURAL, RESERVED_DRIVERS, VERSION
from controller.status import RECONCILED, Condition, Observed, compute_status
from cvk.errors import ConfigError
from cvk.kube import paths
from cvk.kube.errors import AlreadyExistsError, InvalidError, NotFoundError

log = logging.getLogger("cvk.controller")

Obj = dict[str, Any]
RENDERED_HASH = "cisco.vk/rendered-hash"
SA_MISSING = "ServiceAccountMissing"
OBJECT_CONFLICT = "ObjectConflict"
MAX_DEVICE_NAME = 63  # label value limit (app.kubernetes.io/instance, cisco.vk/device)
# Problems that depend on objects the controller does not watch: looked at again periodically.
RECHECK_REASONS = frozenset({SA_MISSING, OBJECT_CONFLICT, "NodeNameConflict"})


class Client(Protocol):
    async def get(self, path: str, params: dict[str, str] | None = None) -> Obj: ...
    async def list(self, path: str, *, label_selector: str | None = None,
                   field_selector: str | None = None) -> Obj: ...
    async def create(self, path: str, body: Obj) -> Obj: ...
    async def replace(self, path: str, body: Obj) -> Obj: ...
    async def delete(self, path: str, *, grace_period_seconds: int | None = None,
                     preconditions_uid: str | None = None,
                     propagation_policy: str | None = None) -> Obj: ...


class Recorder(Protocol):
    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None: ...


@dataclasses.dataclass(frozen=True)
class ControllerOptions:
    render: render.RenderOptions = dataclasses.field(default_factory=render.RenderOptions)
    cleanup_timeout_seconds: float = 120.0
    # How soon to look again while a deletion waits for pods to go (pods are not watched). A live
    # device needs no polling: its Deployment, Node, Secrets and itself are watched.
    poll_seconds: float = 5.0
    # How soon to look again at a device blocked on an object the controller does not watch (the
    # ServiceAccount of its cisco-vk pod); Secrets, Nodes and CiscoDevices are watched.
    recheck_seconds: float = 30.0


def device_path(ns: str | None, name: str | None = None, sub: str | None = None) -> str:
    return paths.custom(GROUP, VERSION, PLURAL, ns, name, sub)


def rendered_hash(obj: Obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _drifted(desired: Obj, live: Obj) -> bool:
    """Whether someone changed what the controller set (``kubectl scale``, ``kubectl edit``) while
    keeping its hash annotation. Only the fields the controller sets count: the API server's
    defaults add fields, which is no drift. Secrets (``stringData`` becomes ``data``) and resource
    quantities (the server normalises them) are left to the hash."""
    if desired.get("kind") == "Deployment":
        return not _subset(desired.get("spec"), live.get("spec"), skip=frozenset({"resources"}))
    if desired.get("kind") == "ConfigMap":
        return desired.get("data") != live.get("data")
    return False


def _subset(want: Any, have: Any, skip: frozenset[str]) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            k in skip or (k in have and _subset(v, have[k], skip)) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(
            _subset(w, h, skip) for w, h in zip(want, have, strict=True))
    return bool(want == have)


def _file_secrets(spec: Obj) -> list[tuple[str, str, tuple[str, ...]]]:
    """(field, Secret name, keys) of the Secrets mounted as files into the cisco-vk pod."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    tls = spec.get("tls") or {}
    if (tls.get("caSecretRef") or {}).get("name"):
        out.append(("spec.tls.caSecretRef", str(tls["caSecretRef"]["name"]), ("ca.crt",)))
    if (tls.get("clientCertSecretRef") or {}).get("name"):
        out.append(("spec.tls.clientCertSecretRef", str(tls["clientCertSecretRef"]["name"]),
                    ("tls.crt", "tls.key")))
    known_hosts = (spec.get("ssh") or {}).get("knownHostsSecretRef") or {}
    if known_hosts.get("name"):
        out.append(("spec.ssh.knownHostsSecretRef", str(known_hosts["name"]),
                    (str(known_hosts.get("key") or "known_hosts"),)))
    return out


def _invalid_object(desired: Obj, err: InvalidError) -> Condition:
    causes = "; ".join(f"{c.get('field')}: {c.get('message')}" for c in err.causes if c.get("field")) or str(err)
    return Condition(RECONCILED, "False", "InvalidObject",
                     f"the API server rejected {desired['kind']} {desired['metadata']['name']} rendered from "
                     f"this CiscoDevice ({causes}); check the fields these come from")


def _parse_time(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


class Blocked(Exception):
    """The pass cannot go on for a reason the user must fix (reported as a condition)."""

    def __init__(self, condition: Condition) -> None:
        super().__init__(condition.message)
        self.condition = condition


# path -> (known, object): known=False sends the read to the API server.
CacheLookup = Callable[[str], tuple[bool, Obj | None]]
WRITTEN_TTL_SECONDS = 60.0  # forget an own write the cache has not shown by then
PRUNE_EVERY = 500  # writes between two prunings of the remembered writes
SA_CACHE_SECONDS = 60.0  # a ServiceAccount seen is not looked up again for this long


@dataclasses.dataclass
class _Written:
    stale: set[str | None]  # resourceVersions (None: absent) the cache may still show instead
    obj: Obj
    at: float


class DeviceReconciler:
    """Reconciles CiscoDevices. ``devices_on_node(name)`` returns every known CiscoDevice (in any
    namespace) whose node name is ``name``, for the node-name uniqueness check; ``cache`` serves
    reads (see the module doc)."""

    def __init__(self, client: Client, recorder: Recorder, opts: ControllerOptions,
                 devices_on_node: Callable[[str], list[Obj]], cache: CacheLookup | None = None) -> None:
        self.client = client
        self.recorder = recorder
        self.opts = opts
        self.devices_on_node = devices_on_node
        self.cache = cache
        self._written: dict[str, _Written] = {}
        self._writes = 0
        self._sa_seen: dict[str, float] = {}  # "namespace/name" -> monotonic time seen

    async def reconcile(self, namespace: str, name: str) -> float | None:
        """One pass. Returns seconds until the next look, or None when settled."""
        device = await self._get_or_none(device_path(namespace, name))
        if device is None:
            return None
        meta = device["metadata"]
        if meta.get("deletionTimestamp"):
            if render.FINALIZER in (meta.get("finalizers") or []):
                return await self._cleanup(device)
            return None
        if render.FINALIZER not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), render.FINALIZER]
            device = self._wrote(device_path(namespace, name), meta.get("resourceVersion"),
                                 await self.client.replace(device_path(namespace, name), device))

        node = await self._get_or_none(paths.nodes(render.node_name(device)))
        problem = await self._validate(device, node)
        if problem is None:
            try:
                credential_rv = await self._apply_credentials(device)
                mounted_rvs = await self._mounted_secret_versions(device)
                text = render.config_yaml(device)
                await self._apply(render.render_configmap(device, text),
                                  paths.configmaps(namespace, render.configmap_name(device)), device)
                deployment = await self._apply(
                    render.render_deployment(device, self.opts.render, credential_rv, text, mounted_rvs),
                    paths.deployments(namespace, render.deployment_name(device)), device)
            except Blocked as blocked:
                problem = blocked.condition
        if problem:
            self._event_once(device, "Warning", problem.reason, problem.message)
            await self._write_status(device, Observed(spec_error=problem))
            return self.opts.recheck_seconds if problem.reason in RECHECK_REASONS else None
        await self._write_status(device, Observed(deployment=deployment, node=node))
        return None

    # ---- validation ----------------------------------------------------------------------
    async def _validate(self, device: Obj, node: Obj | None) -> Condition | None:
        from cvk.config.loader import parse_device_spec  # the loader cisco-vk run uses

        spec = device.get("spec") or {}
        name = device["metadata"]["name"]
        if len(name) > MAX_DEVICE_NAME:
            return Condition(RECONCILED, "False", "InvalidName",
                             f"metadata.name: {name!r} is {len(name)} characters; a CiscoDevice name is a label "
                             f"value of its objects and may be at most {MAX_DEVICE_NAME}: use a shorter name "
                             f"(spec.nodeName can still set the node name)")
        driver = str(spec.get("driver") or "")
        if driver in RESERVED_DRIVERS:
            return Condition(RECONCILED, "False", "ReservedDriver",
                             f"spec.driver: driver {driver} is reserved and not implemented; use XE or FAKE")
        try:
            parse_device_spec(render.device_file(device)["device"], root="spec")
        except ConfigError as err:
            return Condition(RECONCILED, "False", "InvalidSpec", str(err))
        ref: Obj | None = spec.get("credentialSecretRef")
        if ref:
            key = ref.get("key") or "password"
            problem = await self._check_secret(device, "spec.credentialSecretRef", str(ref["name"]), (key,))
            if problem:
                return problem
        elif not spec.get("password") and driver == "XE":
            return Condition(RECONCILED, "False", "NoCredentials",
                             "spec.credentialSecretRef: driver XE needs the device password; set "
                             "credentialSecretRef (recommended) or password")
        for field, secret_name, keys in _file_secrets(spec):
            problem = await self._check_secret(device, field, secret_name, keys)
            if problem:
                return problem
        ns = device["metadata"]["namespace"]
        sa = self.opts.render.service_account
        if not await self._service_account_exists(ns, sa):
            return Condition(RECONCILED, "False", SA_MISSING,
                             f"ServiceAccount {sa} (controller flag --vk-service-account) does not exist in "
                             f"namespace {ns}; add {ns} to the Helm value deviceNamespaces (or create the "
                             f"ServiceAccount and bind it to the cisco-vk ClusterRole)")
        conflict = self._node_name_conflict(device)
        if conflict:
            return Condition(RECONCILED, "False", "NodeNameConflict", conflict)
        if node is not None and not render.is_cisco_vk_node(node):
            mine = render.node_name(device)
            return Condition(RECONCILED, "False", "NodeNameConflict",
                             f"spec.nodeName: Node {mine} already exists and is not run by cisco-vk; set a "
                             f"spec.nodeName no other Node uses")
        return None

    async def _check_secret(self, device: Obj, field: str, name: str, keys: tuple[str, ...]) -> Condition | None:
        """The Secret ``name`` the cisco-vk pod needs exists with ``keys`` (else the pod would hang
        in ContainerCreating or crash-loop)."""
        ns = device["metadata"]["namespace"]
        secret = await self._get_or_none(paths.secrets(ns, name))
        if secret is None:
            return Condition(RECONCILED, "False", "SecretNotFound",
                             f"{field}.name: Secret {name} not found in namespace {ns}; create it with "
                             f"key{'s' if len(keys) > 1 else ''} {', '.join(keys)}")
        present = {*(secret.get("data") or {}), *(secret.get("stringData") or {})}
        missing = [k for k in keys if k not in present]
        if missing:
            where = f"{field}.key" if field == "spec.credentialSecretRef" or field.endswith("knownHostsSecretRef") \
                else f"{field}.name"
            return Condition(RECONCILED, "False", "SecretKeyMissing",
                             f"{where}: Secret {name} has no key {', '.join(missing)}")
        return None

    def _node_name_conflict(self, device: Obj) -> str | None:
        mine = render.node_name(device)
        meta = device["metadata"]
        key = (meta.get("creationTimestamp") or "", meta["namespace"], meta["name"])
        for other in self.devices_on_node(mine):
            om = other.get("metadata") or {}
            if (om.get("namespace"), om.get("name")) == (meta["namespace"], meta["name"]):
                continue
            if om.get("deletionTimestamp") or render.node_name(other) != mine:
                continue
            if (om.get("creationTimestamp") or "", om.get("namespace"), om.get("name")) < key:
                return (f"spec.nodeName: node name {mine} is already used by CiscoDevice "
                        f"{om.get('namespace')}/{om.get('name')}; set a unique spec.nodeName")
        return None

    # ---- owned objects -------------------------------------------------------------------
    async def _apply_credentials(self, device: Obj) -> str:
        """Ensure the owned credentials Secret (inline password) and return the resourceVersion of
        the Secret holding the password, so that a rotation rolls the cisco-vk pod."""
        ns = device["metadata"]["namespace"]
        owned = render.render_credentials_secret(device)
        if owned is not None:
            applied = await self._apply(owned, paths.secrets(ns, owned["metadata"]["name"]), device)
            return str(applied["metadata"].get("resourceVersion", ""))
        source = render.password_source(device)
        if source is None:
            return ""
        secret = await self._get_or_none(paths.secrets(ns, source[0]))
        return str((secret or {}).get("metadata", {}).get("resourceVersion", ""))

    async def _mounted_secret_versions(self, device: Obj) -> dict[str, str]:
        """resourceVersion of each Secret mounted into the cisco-vk pod (checked to exist already)."""
        ns = device["metadata"]["namespace"]
        out: dict[str, str] = {}
        for name in render.mounted_secret_names(device):
            secret = await self._get_or_none(paths.secrets(ns, name))
            out[name] = str((secret or {}).get("metadata", {}).get("resourceVersion", ""))
        return out

    async def _apply(self, desired: Obj, path: str, device: Obj) -> Obj:
        digest = rendered_hash(desired)
        desired["metadata"].setdefault("annotations", {})[RENDERED_HASH] = digest
        live = await self._get_or_none(path)
        if live is None:
            collection = path.rsplit("/", 1)[0]
            try:
                created = self._wrote(path, None, await self.client.create(collection, desired))
            except InvalidError as err:
                raise Blocked(_invalid_object(desired, err)) from None
            except AlreadyExistsError:
                live = await self.client.get(path)
            else:
                self.recorder.event(device, "Normal", "Created",
                                    f"created {desired['kind']} {desired['metadata']['name']}")
                return created
        if not render.controlled_by(live, device):
            meta = desired["metadata"]
            raise Blocked(Condition(
                RECONCILED, "False", OBJECT_CONFLICT,
                f"metadata.name: {desired['kind']} {meta['name']} already exists in namespace {meta['namespace']} "
                f"and does not belong to this CiscoDevice; delete or rename it, or rename the CiscoDevice"))
        if (live["metadata"].get("annotations") or {}).get(RENDERED_HASH) == digest and not _drifted(desired, live):
            return live
        desired["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        try:
            updated = self._wrote(path, live["metadata"]["resourceVersion"],
                                  await self.client.replace(path, desired))
        except InvalidError as err:
            raise Blocked(_invalid_object(desired, err)) from None
        self.recorder.event(device, "Normal", "Updated",
                            f"updated {desired['kind']} {desired['metadata']['name']}")
        return updated

    async def _get_or_none(self, path: str) -> Obj | None:
        if self.cache is not None:
            known, cached = self.cache(path)
            if known:
                seen = self._fresher(path, cached)
                # Cached objects are shared and read-only; only the device is changed by a pass.
                return copy.deepcopy(seen) if seen is not None and f"/{PLURAL}/" in path else seen
        try:
            return await self.client.get(path)
        except NotFoundError:
            return None

    def _fresher(self, path: str, cached: Obj | None) -> Obj | None:
        """The cached object, or what this reconciler last wrote there if the cache lags."""
        written = self._written.get(path)
        if written is None:
            return cached
        rv = (cached or {}).get("metadata", {}).get("resourceVersion") if cached else None
        if rv in written.stale and time.monotonic() - written.at < WRITTEN_TTL_SECONDS:
            return written.obj
        del self._written[path]
        return cached

    def _wrote(self, path: str, before: str | None, result: Obj) -> Obj:
        """Remember a write to ``path`` (``before``: the resourceVersion it replaced; None: created)."""
        if self.cache is None:
            return result
        previous = self._written.get(path)
        stale = {before} | (previous.stale if previous is not None else set())
        self._written[path] = _Written(stale, result, time.monotonic())
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self._prune_written()
        return result

    def observed(self, path: str, obj: Obj | None) -> None:
        """The cache now shows ``obj`` at ``path`` (None: deleted): forget an own write it supersedes,
        so that a deletion by someone else is never masked by what this reconciler wrote before."""
        written = self._written.get(path)
        if written is None:
            return
        rv = (obj.get("metadata") or {}).get("resourceVersion") if obj is not None else None
        if obj is None or rv not in written.stale:
            del self._written[path]

    def _prune_written(self) -> None:
        """Forget own writes the cache already shows (or that expired): they only cost memory."""
        now = time.monotonic()
        for path, written in list(self._written.items()):
            if now - written.at >= WRITTEN_TTL_SECONDS:
                del self._written[path]
                continue
            known, cached = self.cache(path) if self.cache is not None else (False, None)
            rv = (cached or {}).get("metadata", {}).get("resourceVersion") if cached else None
            if known and rv not in written.stale:
                del self._written[path]

    async def _service_account_exists(self, ns: str, name: str) -> bool:
        key, now = f"{ns}/{name}", time.monotonic()
        if now - self._sa_seen.get(key, -SA_CACHE_SECONDS) < SA_CACHE_SECONDS:
            return True
        if await self._get_or_none(paths.serviceaccounts(ns, name)) is None:
            self._sa_seen.pop(key, None)
            return False
        self._sa_seen[key] = now
        return True

    # ---- status --------------------------------------------------------------------------
    async def _write_status(self, device: Obj, seen: Observed) -> Obj:
        status = compute_status(device, seen)
        if status == (device.get("status") or {}):
            return status
        meta = device["metadata"]
        body = {**device, "status": status}
        # A ConflictError (the device changed since this pass read it) propagates: the manager
        # retries the pass with fresh reads.
        path = device_path(meta["namespace"], meta["name"])
        updated = self._wrote(path, meta.get("resourceVersion"),
                              await self.client.replace(f"{path}/status", body))
        device["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]
        old_phase = (device.get("status") or {}).get("phase")
        # A spec problem already has its own Warning event (reason InvalidSpec, SecretNotFound...).
        if old_phase != status["phase"] and seen.spec_error is None:
            self.recorder.event(device, "Normal" if status["phase"] != "Error" else "Warning",
                                f"Phase{status['phase']}", status["message"])
        device["status"] = status
        return status

    def _event_once(self, device: Obj, type_: str, reason: str, message: str) -> None:
        for c in (device.get("status") or {}).get("conditions") or []:
            if c.get("type") == RECONCILED and c.get("reason") == reason and c.get("message") == message:
                return
        self.recorder.event(device, type_, reason, message)

    # ---- deletion ------------------------------------------------------------------------
    async def _cleanup(self, device: Obj) -> float | None:
        """Finalizer: pods on the node go first (cisco-vk removes their apps), then cisco-vk
        itself, then the Node and its Lease, then the finalizer.

        Each wait is bounded, counted from the deletionTimestamp: the node's pods get
        ``cleanup_timeout_seconds``, after which a CleanupTimeout Warning is recorded and they are
        force-deleted; cisco-vk then gets its termination grace period on top, after which its pods
        are force-deleted too. The Node goes only once no cisco-vk pod is left, or a still running
        cisco-vk would register it again."""
        meta = device["metadata"]
        ns, name = meta["namespace"], meta["name"]
        node = render.node_name(device)
        elapsed = time.time() - _parse_time(meta["deletionTimestamp"])
        timeout = self.opts.cleanup_timeout_seconds
        poll = min(self.opts.poll_seconds, 1.0)

        live_node = await self._get_or_none(paths.nodes(node))
        if self._node_name_conflict(device) or (live_node is not None and not render.is_cisco_vk_node(live_node)):
            # The node name belongs to another CiscoDevice or to a Node cisco-vk does not run: this
            # device never served it, so its pods, Node and Lease are not ours to remove.
            await self._delete(paths.deployments(ns, render.deployment_name(device)))
            self.recorder.event(device, "Normal", "Removed", f"node {node} belongs to another owner; left as is")
            await self._remove_finalizer(ns, name)
            return None

        pods = (await self.client.list(paths.pods(), field_selector=f"spec.nodeName={node}")).get("items", [])
        if pods and elapsed <= timeout:
            for pod in pods:
                if not pod["metadata"].get("deletionTimestamp"):
                    await self._delete(paths.pods(pod["metadata"]["namespace"], pod["metadata"]["name"]))
            msg = f"waiting for {len(pods)} pod(s) on node {node} to be removed from the device"
            await self._write_status(device, Observed(deleting=True, deleting_message=msg))
            return poll
        if pods:
            left = ", ".join(sorted(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in pods))
            self.recorder.event(
                device, "Warning", "CleanupTimeout",
                f"pods not removed within {timeout:g}s ({left}); their apps may remain on device "
                f"{(device.get('spec') or {}).get('address')}; force-deleting the pods")
            log.warning("cleanup timed out device=%s/%s node=%s pods=%d", ns, name, node, len(pods))
            for pod in pods:
                await self._delete(paths.pods(pod["metadata"]["namespace"], pod["metadata"]["name"]), grace=0)

        # Stop cisco-vk before removing the Node, or it would register the Node again.
        await self._delete(paths.deployments(ns, render.deployment_name(device)), propagation="Foreground")
        selector = f"app.kubernetes.io/instance={name},app.kubernetes.io/managed-by={render.MANAGED_BY}"
        vk_pods = (await self.client.list(paths.pods(ns), label_selector=selector)).get("items", [])
        if vk_pods:
            if elapsed <= timeout + render.VK_TERMINATION_GRACE_SECONDS:
                await self._write_status(device, Observed(deleting=True,
                                                          deleting_message="waiting for cisco-vk to stop"))
                return poll
            self.recorder.event(device, "Warning", "CleanupTimeout",
                                f"cisco-vk pod(s) of node {node} did not stop; force-deleting them")
            for pod in vk_pods:
                await self._delete(paths.pods(ns, pod["metadata"]["name"]), grace=0)

        await self._delete(paths.nodes(node))
        await self._delete(paths.leases("kube-node-lease", node))
        self.recorder.event(device, "Normal", "Removed", f"node {node} and its lease removed")
        log.info("device removed device=%s/%s node=%s", ns, name, node)
        await self._remove_finalizer(ns, name)
        return None

    async def _remove_finalizer(self, ns: str, name: str) -> None:
        try:
            fresh = await self.client.get(device_path(ns, name))
        except NotFoundError:
            return
        fresh["metadata"]["finalizers"] = [f for f in fresh["metadata"].get("finalizers") or []
                                           if f != render.FINALIZER]
        with contextlib.suppress(NotFoundError):
            await self.client.replace(device_path(ns, name), fresh)

    async def _delete(self, path: str, *, grace: int | None = None, propagation: str | None = None) -> None:
        with contextlib.suppress(NotFoundError):
            await self.client.delete(path, grace_period_seconds=grace, propagation_policy=propagation)
