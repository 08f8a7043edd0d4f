"""Turn a pod spec into a local process: env (incl. secretKeyRef, configMapKeyRef, fieldRef),
volumes (ConfigMaps, Secrets, emptyDir) written under a per-pod folder, and ``$(VAR)`` expansion.

Paths: a process cannot mount at ``/etc/cisco-vk`` without root and without clashing with the next
pod, so every volume is written to ``<root>/<pod uid>/<mountPath>`` and every occurrence of a mount
path in the command, args and env values is rewritten to that folder. Good enough for programs
that take their file locations from flags and env, as ours do.

Credentials: a pod naming a ServiceAccount runs with a kubeconfig holding a token of that
ServiceAccount (TokenRequest), as a kubelet would mount, so our controller and cisco-vk pods are
authorized by the RBAC of deploy/ (the emulator enforces it with ``--rbac``), never as the admin.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import yaml

from cvk.kube.errors import ApiError

Obj = dict[str, Any]

_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class Reader(Protocol):
    async def get(self, path: str, params: dict[str, str] | None = None) -> Obj: ...

    async def create(self, path: str, body: Obj) -> Obj: ...


class PodSpecError(Exception):
    """The pod cannot be started as given (missing Secret, key, or unsupported volume)."""


@dataclasses.dataclass
class ProcessSpec:
    argv: list[str]
    env: dict[str, str]
    workdir: Path


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: known names are replaced, ``$$(X)`` escapes, unknown stay."""
    out = []
    i = 0
    while i < len(text):
        if text.startswith("$$(", i):
            out.append("$(")
            i += 3
            continue
        m = _VAR.match(text, i)
        if m:
            name = m.group(1)
            out.append(env.get(name, m.group(0)))
            i = m.end()
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _field(pod: Obj, path: str, pod_ip: str) -> str:
    meta = pod.get("metadata") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": (pod.get("spec") or {}).get("nodeName"),
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName"),
        "status.podIP": pod_ip,
        "status.hostIP": "127.0.0.1",
    }
    if path not in simple:
        raise PodSpecError(f"fieldRef {path} is not supported by the sandbox host runner")
    return str(simple[path] or "")


async def _key_of(api: Reader, kind: str, ns: str, name: str, key: str, optional: bool) -> str | None:
    from cvk.kube import paths
    from cvk.kube.errors import NotFoundError

    path = paths.secrets(ns, name) if kind == "secret" else paths.configmaps(ns, name)
    try:
        obj = await api.get(path)
    except NotFoundError:
        if optional:
            return None
        raise PodSpecError(f"{kind} {ns}/{name} not found") from None
    if kind == "secret":
        data = obj.get("data") or {}
        if key in data:
            return base64.b64decode(data[key]).decode()
    else:
        data = obj.get("data") or {}
        if key in data:
            return str(data[key])
    if optional:
        return None
    raise PodSpecError(f"{kind} {ns}/{name} has no key {key}")


async def build(api: Reader, pod: Obj, container: Obj, root: Path, pod_ip: str,
                base_env: dict[str, str]) -> ProcessSpec:
    """The process for one container of ``pod``; writes its volumes under ``root``."""
    meta = pod["metadata"]
    ns = meta["namespace"]
    workdir = root / meta["uid"]
    workdir.mkdir(parents=True, exist_ok=True)
    volumes = {v["name"]: v for v in (pod.get("spec") or {}).get("volumes") or []}
    mounts: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        if mount["name"] not in volumes:
            raise PodSpecError(f"volumeMount {mount['name']} names no volume")
        mounts[mount["mountPath"].rstrip("/")] = str(workdir / "volumes" / mount["name"])

    env: dict[str, str] = {}
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item:
            env[name] = expand(str(item["value"]), env)
            continue
        src = item.get("valueFrom") or {}
        value: str | None
        if "secretKeyRef" in src:
            ref = src["secretKeyRef"]
            value = await _key_of(api, "secret", ns, ref["name"], ref["key"], bool(ref.get("optional")))
        elif "configMapKeyRef" in src:
            ref = src["configMapKeyRef"]
            value = await _key_of(api, "configmap", ns, ref["name"], ref["key"], bool(ref.get("optional")))
        elif "fieldRef" in src:
            value = _field(pod, src["fieldRef"]["fieldPath"], pod_ip)
        else:
            raise PodSpecError(f"env {name}: unsupported valueFrom {sorted(src)}")
        if value is not None:
            env[name] = value

    def remap(text: str) -> str:
        for mount_path in sorted(mounts, key=len, reverse=True):
            if text == mount_path or text.startswith(mount_path + "/"):
                return mounts[mount_path] + text[len(mount_path):]
            text = text.replace(mount_path + "/", mounts[mount_path] + "/")
        return text

    for mount in container.get("volumeMounts") or []:
        target = Path(mounts[mount["mountPath"].rstrip("/")])
        target.mkdir(parents=True, exist_ok=True)
        # ConfigMap files may name other mounted files (a config file pointing at a mounted CA).
        await _fill_volume(api, ns, volumes[mount["name"]], target, remap)

    env = {k: remap(v) for k, v in env.items()}
    argv = [remap(expand(a, env)) for a in (container.get("command") or []) + (container.get("args") or [])]
    if not argv:
        raise PodSpecError(f"container {container['name']}: the sandbox needs an explicit command")
    credentials = await service_account_kubeconfig(api, pod, workdir, base_env)
    if credentials is not None:
        env.setdefault("KUBECONFIG", str(credentials))
    return ProcessSpec(argv=argv, env={**base_env, **env}, workdir=workdir)


async def service_account_kubeconfig(api: Reader, pod: Obj, workdir: Path, base_env: dict[str, str]) -> Path | None:
    """A kubeconfig holding a token of the pod's ServiceAccount (what a kubelet mounts as the projected
    token), so the process is authorized as that ServiceAccount by the RBAC the manifests grant, not
    as the sandbox's admin. None when the pod names no ServiceAccount, opts out of the token, or the
    runner has no kubeconfig to take the server and CA from."""
    spec = pod.get("spec") or {}
    sa = spec.get("serviceAccountName") or ""
    source = (base_env.get("KUBECONFIG") or "").split(os.pathsep)[0]
    if not sa or sa == "default" or spec.get("automountServiceAccountToken") is False or not source:
        return None
    ns = pod["metadata"]["namespace"]
    try:
        answer = await api.create(f"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token",
                                  {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    except ApiError as err:
        raise PodSpecError(f"serviceAccountName {sa}: no token for it ({err})") from err
    token_file = workdir / "serviceaccount-token"  # by file, as a kubelet projects it (clients re-read it)
    token_file.write_text(answer["status"]["token"])
    token_file.chmod(0o600)
    config = yaml.safe_load(Path(source).read_text()) or {}
    user = {"name": f"{ns}-{sa}", "user": {"tokenFile": str(token_file)}}
    config["users"] = [user]
    for ctx in config.get("contexts") or []:
        ctx.setdefault("context", {})["user"] = user["name"]
    path = workdir / "serviceaccount.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


async def _fill_volume(api: Reader, ns: str, vol: Obj, target: Path, remap: Callable[[str], str]) -> None:
    items: dict[str, bytes] = {}
    if "configMap" in vol:
        from cvk.kube import paths

        cm = await api.get(paths.configmaps(ns, vol["configMap"]["name"]))
        items = {k: remap(str(v)).encode() for k, v in (cm.get("data") or {}).items()}
        selected = vol["configMap"].get("items")
    elif "secret" in vol:
        from cvk.kube import paths

        secret = await api.get(paths.secrets(ns, vol["secret"]["secretName"]))
        items = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        selected = vol["secret"].get("items")
    elif "emptyDir" in vol:
        return
    else:
        raise PodSpecError(f"volume {vol['name']}: only configMap, secret and emptyDir are supported")
    if selected:
        items = {i["path"]: items[i["key"]] for i in selected if i["key"] in items}
    for name, data in items.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o600)
