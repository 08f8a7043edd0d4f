"""Render the objects the controller owns for one CiscoDevice: ConfigMap, credentials Secret and
Deployment. Pure functions of the CiscoDevice (and the referenced Secret's resourceVersion), so they
are unit-tested without an API server and re-rendering an unchanged device yields identical objects.

Secrets never reach the ConfigMap: ``password`` and ``credentialSecretRef`` are removed from the
rendered device file; the password reaches cisco-vk as env ``CVK_DEVICE_PASSWORD`` through
``valueFrom.secretKeyRef``. An inline ``spec.password`` is moved into an owned Secret
``<name>-credentials`` so that it appears in no Deployment or ConfigMap either. Referenced Secrets
that hold files (``tls.caSecretRef``, ``tls.clientCertSecretRef``, ``ssh.knownHostsSecretRef``) are
mounted into the cisco-vk pod and appear in the device file as paths.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from typing import Any

import yaml

from controller.crd import API_VERSION, KIND

Obj = dict[str, Any]

CONFIG_KEY = "config.yaml"
CONFIG_DIR = "/etc/cisco-vk"
TLS_DIR = "/etc/cisco-vk/tls"
SSH_DIR = "/etc/cisco-vk/ssh"
KNOWN_HOSTS_FILE = f"{SSH_DIR}/known_hosts"
STATE_DIR = "/var/lib/cisco-vk"  # writable scratch (root filesystem is read-only)
FINALIZER = "cisco.vk/device-cleanup"
CONFIG_HASH_ANNOTATION = "cisco.vk/config-hash"
CREDENTIAL_RV_ANNOTATION = "cisco.vk/credential-resource-version"
MOUNTED_SECRETS_ANNOTATION = "cisco.vk/mounted-secret-versions"
DEVICE_LABEL = "cisco.vk/device"
MANAGED_BY = "cisco-vk-controller"
PASSWORD_ENV = "CVK_DEVICE_PASSWORD"
KUBELET_PORT = 10250
# cisco-vk marks the Nodes it registers with this annotation (cvk/node/objects.py node_annotations);
# the controller never adopts, nor deletes, a Node without it.
CVK_NODE_ANNOTATION = "cisco-vk.io/driver"
VK_TERMINATION_GRACE_SECONDS = 30  # cisco-vk's own shutdown (stops its loops, releases the node)


@dataclasses.dataclass(frozen=True)
class RenderOptions:
    image: str = "cisco-vk:latest"
    image_pull_policy: str = "IfNotPresent"
    service_account: str = "cisco-vk"
    kubelet_port: int = KUBELET_PORT
    resources: Obj | None = None


def node_name(device: Obj) -> str:
    spec = device.get("spec") or {}
    return str(spec.get("nodeName") or device["metadata"]["name"])


def is_cisco_vk_node(node: Obj) -> bool:
    return CVK_NODE_ANNOTATION in ((node.get("metadata") or {}).get("annotations") or {})


def controlled_by(obj: Obj, device: Obj) -> bool:
    """Whether ``obj`` belongs to this device, or to an earlier CiscoDevice of the same name (whose
    objects the garbage collector has not removed yet: the new device adopts them)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == KIND and ref.get("name") == device["metadata"]["name"]:
            return True
    return False


def configmap_name(device: Obj) -> str:
    return f"{device['metadata']['name']}-config"


def deployment_name(device: Obj) -> str:
    return f"{device['metadata']['name']}-vk"


def credentials_secret_name(device: Obj) -> str:
    return f"{device['metadata']['name']}-credentials"


def owner_reference(device: Obj) -> Obj:
    meta = device["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def labels(device: Obj) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "cisco-vk",
        "app.kubernetes.io/instance": device["metadata"]["name"],
        "app.kubernetes.io/managed-by": MANAGED_BY,
        DEVICE_LABEL: device["metadata"]["name"],
    }


def password_source(device: Obj) -> tuple[str, str] | None:
    """(secret name, key) that holds the device password, or None when there is no password."""
    spec = device.get("spec") or {}
    ref = spec.get("credentialSecretRef")
    if ref:
        return str(ref["name"]), str(ref.get("key") or "password")
    if spec.get("password"):
        return credentials_secret_name(device), "password"
    return None


def device_file(device: Obj) -> Obj:
    """The ``device:`` document cisco-vk reads: the spec without secrets, TLS Secrets as paths."""
    spec = copy.deepcopy(device.get("spec") or {})
    spec.pop("password", None)
    spec.pop("credentialSecretRef", None)
    spec["nodeName"] = node_name(device)
    tls = spec.get("tls")
    if isinstance(tls, dict):
        if tls.pop("caSecretRef", None):
            tls["caFile"] = f"{TLS_DIR}/ca/ca.crt"
        if tls.pop("clientCertSecretRef", None):
            tls["certFile"] = f"{TLS_DIR}/client/tls.crt"
            tls["keyFile"] = f"{TLS_DIR}/client/tls.key"
    ssh = spec.get("ssh")
    if isinstance(ssh, dict) and ssh.pop("knownHostsSecretRef", None):
        ssh["knownHostsFile"] = KNOWN_HOSTS_FILE
    return {"device": spec}


_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: same text, faster


def config_yaml(device: Obj) -> str:
    return yaml.dump(device_file(device), Dumper=_DUMPER, sort_keys=True, default_flow_style=False)


def config_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def render_configmap(device: Obj, text: str | None = None) -> Obj:
    meta = device["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(device),
            "namespace": meta["namespace"],
            "labels": labels(device),
            "ownerReferences": [owner_reference(device)],
        },
        "data": {CONFIG_KEY: text if text is not None else config_yaml(device)},
    }


def render_credentials_secret(device: Obj) -> Obj | None:
    """An owned Secret for an inline ``spec.password``; None when the spec references a Secret."""
    spec = device.get("spec") or {}
    if spec.get("credentialSecretRef") or not spec.get("password"):
        return None
    meta = device["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": credentials_secret_name(device),
            "namespace": meta["namespace"],
            "labels": labels(device),
            "ownerReferences": [owner_reference(device)],
        },
        "stringData": {"password": spec["password"]},
    }


def _volumes(device: Obj) -> tuple[list[Obj], list[Obj]]:
    volumes: list[Obj] = [
        {"name": "device-config", "configMap": {"name": configmap_name(device)}},
        {"name": "state", "emptyDir": {}},
    ]
    mounts: list[Obj] = [
        {"name": "device-config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "state", "mountPath": STATE_DIR},
    ]
    tls = (device.get("spec") or {}).get("tls") or {}
    if tls.get("caSecretRef"):
        volumes.append({"name": "device-ca", "secret": {"secretName": tls["caSecretRef"]["name"],
                                                         "items": [{"key": "ca.crt", "path": "ca.crt"}]}})
        mounts.append({"name": "device-ca", "mountPath": f"{TLS_DIR}/ca", "readOnly": True})
    if tls.get("clientCertSecretRef"):
        volumes.append({"name": "device-client-cert",
                        "secret": {"secretName": tls["clientCertSecretRef"]["name"]}})
        mounts.append({"name": "device-client-cert", "mountPath": f"{TLS_DIR}/client", "readOnly": True})
    ssh = (device.get("spec") or {}).get("ssh") or {}
    ref = ssh.get("knownHostsSecretRef")
    if ref:
        key = str(ref.get("key") or "known_hosts")
        volumes.append({"name": "device-known-hosts",
                        "secret": {"secretName": ref["name"], "items": [{"key": key, "path": "known_hosts"}]}})
        mounts.append({"name": "device-known-hosts", "mountPath": SSH_DIR, "readOnly": True})
    return volumes, mounts


def mounted_secret_names(device: Obj) -> list[str]:
    """The Secrets mounted as files into the cisco-vk pod (CA, client certificate, known_hosts)."""
    spec = device.get("spec") or {}
    tls, ssh = spec.get("tls") or {}, spec.get("ssh") or {}
    refs = (tls.get("caSecretRef"), tls.get("clientCertSecretRef"), ssh.get("knownHostsSecretRef"))
    return sorted({str(r["name"]) for r in refs if r and r.get("name")})


def render_deployment(device: Obj, opts: RenderOptions, credential_rv: str = "", text: str | None = None,
                      mounted_rvs: dict[str, str] | None = None) -> Obj:
    """The Deployment running ``cisco-vk run`` for the device: one replica, strategy Recreate, so
    two cisco-vk pods never serve the same node at the same time. ``credential_rv`` and
    ``mounted_rvs`` (Secret name -> resourceVersion) go into pod annotations, so rotating the password
    or a mounted CA, client certificate or known_hosts Secret rolls the pod."""
    meta = device["metadata"]
    spec = device.get("spec") or {}
    text = text if text is not None else config_yaml(device)
    volumes, mounts = _volumes(device)
    env: list[Obj] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "XDG_STATE_HOME", "value": STATE_DIR},
    ]
    source = password_source(device)
    if source:
        env.append({"name": PASSWORD_ENV,
                    "valueFrom": {"secretKeyRef": {"name": source[0], "key": source[1]}}})
    pod_labels = labels(device)
    container: Obj = {
        "name": "cisco-vk",
        "image": opts.image,
        "imagePullPolicy": opts.image_pull_policy,
        "command": ["cisco-vk"],
        "args": [
            "run",
            "--config", f"{CONFIG_DIR}/{CONFIG_KEY}",
            "--nodename", node_name(device),
            "--log-level", str(spec.get("logLevel") or "info"),
            "--kubelet-port", str(opts.kubelet_port),
            "--kubelet-address", "$(POD_IP)",
            "--node-ip", "$(POD_IP)",
        ],
        "env": env,
        "ports": [{"name": "kubelet", "containerPort": opts.kubelet_port, "protocol": "TCP"}],
        "volumeMounts": mounts,
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": opts.kubelet_port, "scheme": "HTTPS"},
            "periodSeconds": 10,
        },
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if opts.resources:
        container["resources"] = copy.deepcopy(opts.resources)
    annotations = {CONFIG_HASH_ANNOTATION: config_hash(text)}
    if source:
        annotations[CREDENTIAL_RV_ANNOTATION] = credential_rv
    if mounted_rvs:
        annotations[MOUNTED_SECRETS_ANNOTATION] = ",".join(f"{n}={rv}" for n, rv in sorted(mounted_rvs.items()))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": deployment_name(device),
            "namespace": meta["namespace"],
            "labels": labels(device),
            "ownerReferences": [owner_reference(device)],
        },
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {k: pod_labels[k] for k in
                                         ("app.kubernetes.io/name", "app.kubernetes.io/instance")}},
            "template": {
                "metadata": {"labels": pod_labels, "annotations": annotations},
                "spec": {
                    "serviceAccountName": opts.service_account,
                    "automountServiceAccountToken": True,
                    "containers": [container],
                    "volumes": volumes,
                    "terminationGracePeriodSeconds": VK_TERMINATION_GRACE_SECONDS,
                },
            },
        },
    }
