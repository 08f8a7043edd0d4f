"""Environment resolution: what the kubelet does before starting a container (vk-library.md 3).

``resolve_pod_env`` returns a copy of the pod in which every container (init, regular, ephemeral)
has an empty ``envFrom`` and an ``env`` of literal ``{name, value}`` pairs:

1. ``envFrom`` in order (later sources win): ConfigMap ``data`` and Secret ``data`` (base64
   decoded) with the optional ``prefix``; keys that are not valid variable names are skipped and
   listed in one ``InvalidEnvironmentVariableNames`` event;
2. service-link variables: ``default/kubernetes`` always, the services of the pod's namespace unless
   ``enableServiceLinks`` is false (only services with a ClusterIP);
3. ``env`` in order: literals with ``$(VAR)`` expansion (``$$`` is ``$``, unknown references stay
   verbatim), ``configMapKeyRef``/``secretKeyRef``, the downward API ``fieldRef`` and
   ``resourceFieldRef`` (which upstream silently drops; we compute it like the kubelet, with the
   node's allocatable as the default limit);
4. service variables not already set are appended; then ``command`` and ``args`` get ``$(VAR)``
   expansion against the final environment, as the kubelet does at container start.

A missing *optional* ConfigMap/Secret (or key) records an ``Optional...NotFound`` event and the
variable is left out; a missing *mandatory* one records ``Mandatory...NotFound`` and raises
``EnvError`` (the sync fails and is retried; the driver is never called). Reasons and messages
are upstream's.
"""

from __future__ import annotations

import base64
import copy
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from cvk.config import quantity
from cvk.pod.keys import Pod

Recorder = Callable[[str, str, str], None]
"""``record(event_type, reason, message)``: an Event on the pod."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


class EnvError(Exception):
    """The pod's environment cannot be resolved; the message names the container and source."""


class ResourceReader(Protocol):
    """Reads the objects env resolution needs. ``None`` means "not found"; other errors raise."""

    async def get_configmap(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def list_services(self, namespace: str) -> list[dict[str, Any]]: ...

    async def get_service(self, namespace: str, name: str) -> dict[str, Any] | None: ...


# ---------------------------------------------------------------------------------- expansion
def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Kubernetes ``$(VAR)`` expansion (k8s.io/kubernetes third_party/forked/golang/expansion)."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            name = text[i + 2 : end]
            value = lookup(name) if name else None
            out.append(value if value is not None else text[i : end + 1])
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------- services
def _svc_prefix(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(services: list[dict[str, Any]]) -> dict[str, str]:
    """The legacy docker-link variables of each service with a ClusterIP (sorted by name)."""
    env: dict[str, str] = {}
    for svc in sorted(services, key=lambda s: str((s.get("metadata") or {}).get("name") or "")):
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            continue
        prefix = _svc_prefix(str((svc.get("metadata") or {}).get("name") or ""))
        ports = spec.get("ports") or []
        env[f"{prefix}_SERVICE_HOST"] = str(ip)
        if not ports:
            continue
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
        for p in ports:
            if p.get("name"):
                env[f"{prefix}_SERVICE_PORT_{_svc_prefix(str(p['name']))}"] = str(p.get("port"))
        first = ports[0]
        env[f"{prefix}_PORT"] = f"{str(first.get('protocol') or 'TCP').lower()}://{ip}:{first.get('port')}"
        for p in ports:
            proto = str(p.get("protocol") or "TCP")
            base = f"{prefix}_PORT_{p.get('port')}_{proto.upper()}"
            env[base] = f"{proto.lower()}://{ip}:{p.get('port')}"
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(p.get("port"))
            env[f"{base}_ADDR"] = str(ip)
    return env


def _configmap_data(cm: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (cm.get("data") or {}).items()}


def _secret_data(secret: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[str(k)] = base64.b64decode(str(v)).decode("utf-8", errors="replace")
        except ValueError:
            out[str(k)] = ""
    for k, v in (secret.get("stringData") or {}).items():
        out[str(k)] = str(v)
    return out


# ---------------------------------------------------------------------------------- quantities
def parse_quantity(text: str | int | float) -> Decimal:
    try:
        return quantity.parse_quantity(text)
    except ValueError as err:
        raise EnvError(str(err)) from None


def resource_field_value(container: dict[str, Any], ref: dict[str, Any], allocatable: dict[str, str]) -> str:
    """The kubelet's ``resourceFieldRef``: ceil(value / divisor); unset limits = node allocatable."""
    resource = str(ref.get("resource") or "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise EnvError(f"unsupported resourceFieldRef resource {resource!r}")
    resources = container.get("resources") or {}
    value = (resources.get(kind) or {}).get(name)
    if value is None and kind == "requests":
        value = (resources.get("limits") or {}).get(name)  # the API defaults requests to limits
    if value is None:
        value = allocatable.get(name) if kind == "limits" else "0"
    if value is None:
        value = "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    if divisor <= 0:
        raise EnvError(f"resourceFieldRef {resource!r}: divisor must be > 0")
    return str(math.ceil(parse_quantity(value) / divisor))


# ---------------------------------------------------------------------------------- downward API
def field_ref_value(pod: Pod, ref: dict[str, Any], host_ip: str) -> str:
    """Downward API ``fieldRef`` (the paths the API server admits for env)."""
    api_version = ref.get("apiVersion") or "v1"
    path = str(ref.get("fieldPath") or "")
    if api_version != "v1":
        raise EnvError(f"unsupported fieldRef apiVersion {api_version!r} (only v1)")
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    m = _SUBSCRIPT.match(path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{items[k]}"' for k in sorted(items))
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.host": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("status.podIP", "status.podIPs"):
        raise EnvError(
            f"unsupported fieldPath: {path} (the pod's address is assigned by the device after the "
            "app is deployed, so it cannot be passed in the app's environment)"
        )
    raise EnvError(f"unsupported fieldPath: {path}")


# ---------------------------------------------------------------------------------- resolver
class EnvResolver:
    """Resolves one pod; caches ConfigMaps/Secrets/services for the duration of that pod."""

    def __init__(
        self,
        reader: ResourceReader,
        record: Recorder,
        *,
        host_ip: str = "",
        allocatable: dict[str, str] | None = None,
    ) -> None:
        self._reader = reader
        self._record = record
        self._host_ip = host_ip
        self._allocatable = allocatable or {}
        self._cms: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._secrets: dict[tuple[str, str], dict[str, Any] | None] = {}

    async def _source(self, kind: str, ns: str, name: str, optional: bool) -> dict[str, str] | None:
        """The data of a ConfigMap (``kind="configmap"``) or Secret (``"secret"``), read once per pod;
        a missing or unreadable one records the kubelet's Optional/Mandatory event and, when
        mandatory, raises."""
        label = "ConfigMap" if kind == "configmap" else "Secret"
        level = "Optional" if optional else "Mandatory"
        cache = self._cms if kind == "configmap" else self._secrets
        read = self._reader.get_configmap if kind == "configmap" else self._reader.get_secret
        key = (ns, name)
        if key not in cache:
            try:
                cache[key] = await read(ns, name)
            except Exception as err:
                msg = f"failed to read {kind} {name!r}: {err}"
                self._record("Warning", f"FailedToRead{level}{label}", msg)
                if optional:
                    return None
                raise EnvError(msg) from err
        obj = cache[key]
        if obj is None:
            msg = f"{kind} {name!r} not found"
            self._record("Warning", f"{level}{label}NotFound", msg)
            if optional:
                return None
            raise EnvError(msg)
        return _configmap_data(obj) if kind == "configmap" else _secret_data(obj)

    async def _key_ref(self, pod: dict[str, Any], ns: str, ref: dict[str, Any], kind: str) -> str | None:
        """A configMapKeyRef/secretKeyRef value; None when an optional source or key is missing (with the
        kubelet's Optional…KeyNotFound event); a missing mandatory key records Mandatory…KeyNotFound
        and raises."""
        optional = bool(ref.get("optional"))
        source, key = str(ref.get("name")), str(ref.get("key"))
        data = await self._source(kind, ns, source, optional)
        if data is None:
            return None
        if key in data:
            return data[key]
        label = "ConfigMap" if kind == "configmap" else "Secret"
        msg = f"{kind} {source!r} doesn't contain the {key!r} key required by pod {pod_name(pod)}"
        if optional:
            self._record("Warning", f"Optional{label}KeyNotFound", msg)
            return None
        self._record("Warning", f"Mandatory{label}KeyNotFound", msg)
        raise EnvError(msg)

    async def _services(self, pod: Pod) -> dict[str, str]:
        ns = str((pod.get("metadata") or {}).get("namespace") or "default")
        services: dict[tuple[str, str], dict[str, Any]] = {}
        enable = (pod.get("spec") or {}).get("enableServiceLinks")
        if enable is None or enable:
            for svc in await self._reader.list_services(ns):
                services[(ns, str((svc.get("metadata") or {}).get("name")))] = svc
        master = await self._reader.get_service("default", "kubernetes")
        if master is not None:
            services[("default", "kubernetes")] = master
        return service_env(list(services.values()))

    async def _container(self, pod: Pod, container: dict[str, Any], services: dict[str, str]) -> dict[str, Any]:
        ns = str((pod.get("metadata") or {}).get("namespace") or "default")
        cname = str(container.get("name") or "")
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            prefix = str(source.get("prefix") or "")
            if source.get("configMapRef"):
                ref = source["configMapRef"]
                data = await self._source("configmap", ns, str(ref.get("name")), bool(ref.get("optional")))
                what = f"configMap {ns}/{ref.get('name')}"
            elif source.get("secretRef"):
                ref = source["secretRef"]
                data = await self._source("secret", ns, str(ref.get("name")), bool(ref.get("optional")))
                what = f"secret {ns}/{ref.get('name')}"
            else:
                continue
            if data is None:
                continue
            invalid = []
            for k, v in data.items():
                name = prefix + k
                if not _ENV_NAME.match(name):
                    invalid.append(name)
                    continue
                env[name] = v
            if invalid:
                self._record(
                    "Warning",
                    "InvalidEnvironmentVariableNames",
                    f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {what} were skipped since they "
                    "are considered invalid environment variable names.",
                )

        def lookup(name: str) -> str | None:
            return env[name] if name in env else services.get(name)

        for item in container.get("env") or []:
            name = str(item.get("name") or "")
            if "value" in item or not item.get("valueFrom"):
                env[name] = expand(str(item.get("value") or ""), lookup)
                continue
            vf = item["valueFrom"]
            if vf.get("configMapKeyRef") or vf.get("secretKeyRef"):
                kind = "configmap" if vf.get("configMapKeyRef") else "secret"
                value = await self._key_ref(pod, ns, vf.get("configMapKeyRef") or vf["secretKeyRef"], kind)
                if value is not None:
                    env[name] = value
            elif vf.get("fieldRef"):
                try:
                    env[name] = field_ref_value(pod, vf["fieldRef"], self._host_ip)
                except EnvError as err:
                    raise EnvError(f"container {cname!r} env {name!r}: {err}") from err
            elif vf.get("resourceFieldRef"):
                ref = vf["resourceFieldRef"]
                target = container
                if ref.get("containerName"):
                    target = _find_container(pod, str(ref["containerName"])) or container
                try:
                    env[name] = resource_field_value(target, ref, self._allocatable)
                except EnvError as err:
                    raise EnvError(f"container {cname!r} env {name!r}: {err}") from err
            else:
                raise EnvError(f"container {cname!r} env {name!r}: unsupported valueFrom {sorted(vf)}")
        for k, v in services.items():
            env.setdefault(k, v)
        out = copy.deepcopy(container)
        out["envFrom"] = []
        out["env"] = [{"name": k, "value": v} for k, v in env.items()]

        def final(name: str) -> str | None:
            return env.get(name)

        if out.get("command"):
            out["command"] = [expand(str(a), final) for a in out["command"]]
        if out.get("args"):
            out["args"] = [expand(str(a), final) for a in out["args"]]
        return out

    async def resolve(self, pod: Pod) -> Pod:
        out = copy.deepcopy(pod)
        spec = out.setdefault("spec", {})
        services = await self._services(pod)
        for field in ("initContainers", "containers", "ephemeralContainers"):
            if spec.get(field):
                spec[field] = [await self._container(pod, c, services) for c in spec[field]]
        return out


def pod_name(pod: Pod) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _find_container(pod: Pod, name: str) -> dict[str, Any] | None:
    for c in (pod.get("spec") or {}).get("containers") or []:
        if c.get("name") == name:
            return dict(c)
    return None


async def resolve_pod_env(
    pod: Pod,
    reader: ResourceReader,
    record: Recorder,
    *,
    host_ip: str = "",
    allocatable: dict[str, str] | None = None,
) -> Pod:
    """A copy of ``pod`` with every container's environment resolved to literals."""
    return await EnvResolver(reader, record, host_ip=host_ip, allocatable=allocatable).resolve(pod)
