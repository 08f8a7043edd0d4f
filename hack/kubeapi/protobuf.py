"""Decoding of Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf).

kubectl 1.32+ sends protobuf from its typed clients (`kubectl create namespace|configmap|secret|
serviceaccount`, `kubectl auth can-i`). The body is the "k8s\\x00" magic followed by a
runtime.Unknown envelope whose `raw` field holds the object. The emulator decodes the kinds below to
JSON; other kinds answer 415 (their clients then need JSON). Field numbers are those of the
k8s.io/api and apimachinery generated.proto files.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

MAGIC = b"k8s\x00"

# message -> field number -> (json name, type, sub-message)
# types: s=string, i=varint int (omitted when 0), i0=optional int (kept when 0), t=*bool (kept when
# false), tb=bool (omitted when false), m=message, rm=repeated message, rs=repeated string,
# ss=map<string,string>, sb=map<string,bytes> (base64 in JSON), ios=IntOrString, time=metav1.Time,
# raw=bytes kept as is, skip=server-set field that is ignored. Any other non-empty field is refused
# (415) rather than silently dropped.
_S: dict[str, dict[int, tuple[str, str, str]]] = {
    "TypeMeta": {1: ("apiVersion", "s", ""), 2: ("kind", "s", "")},
    "Unknown": {
        1: ("typeMeta", "m", "TypeMeta"),
        2: ("raw", "raw", ""),
        3: ("contentEncoding", "s", ""),
        4: ("contentType", "s", ""),
    },
    "ObjectMeta": {
        1: ("name", "s", ""),
        2: ("generateName", "s", ""),
        3: ("namespace", "s", ""),
        5: ("uid", "s", ""),
        6: ("resourceVersion", "s", ""),
        7: ("generation", "i", ""),
        11: ("labels", "ss", ""),
        12: ("annotations", "ss", ""),
        13: ("ownerReferences", "rm", "OwnerReference"),
        14: ("finalizers", "rs", ""),
    },
    "OwnerReference": {
        1: ("kind", "s", ""),
        3: ("name", "s", ""),
        4: ("uid", "s", ""),
        5: ("apiVersion", "s", ""),
        6: ("controller", "t", ""),
        7: ("blockOwnerDeletion", "t", ""),
    },
    "Namespace": {
        1: ("metadata", "m", "ObjectMeta"),
        2: ("spec", "m", "NamespaceSpec"),
        3: ("status", "m", "NamespaceStatus"),
    },
    "NamespaceStatus": {1: ("phase", "s", "")},
    "NamespaceSpec": {1: ("finalizers", "rs", "")},
    "ConfigMap": {
        1: ("metadata", "m", "ObjectMeta"),
        2: ("data", "ss", ""),
        3: ("binaryData", "sb", ""),
        4: ("immutable", "t", ""),
    },
    "Secret": {
        1: ("metadata", "m", "ObjectMeta"),
        2: ("data", "sb", ""),
        3: ("type", "s", ""),
        4: ("stringData", "ss", ""),
        5: ("immutable", "t", ""),
    },
    "ServiceAccount": {1: ("metadata", "m", "ObjectMeta"), 4: ("automountServiceAccountToken", "t", "")},
    "SelfSubjectAccessReview": {
        1: ("metadata", "m", "ObjectMeta"),
        2: ("spec", "m", "SelfSubjectAccessReviewSpec"),
        3: ("status", "skip", ""),
    },
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "m", "ResourceAttributes"),
        2: ("nonResourceAttributes", "m", "NonResourceAttributes"),
    },
    "ResourceAttributes": {
        1: ("namespace", "s", ""),
        2: ("verb", "s", ""),
        3: ("group", "s", ""),
        4: ("version", "s", ""),
        5: ("resource", "s", ""),
        6: ("subresource", "s", ""),
        7: ("name", "s", ""),
    },
    "NonResourceAttributes": {1: ("path", "s", ""), 2: ("verb", "s", "")},
    "Eviction": {1: ("metadata", "m", "ObjectMeta"), 2: ("deleteOptions", "m", "DeleteOptions")},
    "TokenReview": {1: ("metadata", "m", "ObjectMeta"), 2: ("spec", "m", "TokenReviewSpec"), 3: ("status", "skip", "")},
    "TokenReviewSpec": {1: ("token", "s", ""), 2: ("audiences", "rs", "")},
    "SubjectAccessReview": {
        1: ("metadata", "m", "ObjectMeta"),
        2: ("spec", "m", "SubjectAccessReviewSpec"),
        3: ("status", "skip", ""),
    },
    "SubjectAccessReviewSpec": {
        1: ("resourceAttributes", "m", "ResourceAttributes"),
        2: ("nonResourceAttributes", "m", "NonResourceAttributes"),
        3: ("user", "s", ""),
        4: ("groups", "rs", ""),
        6: ("uid", "s", ""),
    },
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "i0", ""),
        2: ("preconditions", "m", "Preconditions"),
        3: ("orphanDependents", "t", ""),
        4: ("propagationPolicy", "s", ""),
        5: ("dryRun", "rs", ""),
    },
    "Preconditions": {1: ("uid", "s", ""), 2: ("resourceVersion", "s", "")},
    # rbac.authorization.k8s.io/v1 (kubectl create role|rolebinding|clusterrole|clusterrolebinding)
    "Role": {1: ("metadata", "m", "ObjectMeta"), 2: ("rules", "rm", "PolicyRule")},
    "ClusterRole": {1: ("metadata", "m", "ObjectMeta"), 2: ("rules", "rm", "PolicyRule")},
    "PolicyRule": {
        1: ("verbs", "rs", ""),
        2: ("apiGroups", "rs", ""),
        3: ("resources", "rs", ""),
        4: ("resourceNames", "rs", ""),
        5: ("nonResourceURLs", "rs", ""),
    },
    "RoleBinding": {
        1: ("metadata", "m", "ObjectMeta"),
        2: ("subjects", "rm", "Subject"),
        3: ("roleRef", "m", "RoleRef"),
    },
    "ClusterRoleBinding": {
        1: ("metadata", "m", "ObjectMeta"),
        2: ("subjects", "rm", "Subject"),
        3: ("roleRef", "m", "RoleRef"),
    },
    # apps/v1 Deployment and core/v1 Service as `kubectl create deployment|service` and `expose` send them
    "Deployment": {1: ("metadata", "m", "ObjectMeta"), 2: ("spec", "m", "DeploymentSpec"), 3: ("status", "skip", "")},
    "DeploymentSpec": {
        1: ("replicas", "i0", ""),
        2: ("selector", "m", "LabelSelector"),
        3: ("template", "m", "PodTemplateSpec"),
        4: ("strategy", "m", "DeploymentStrategy"),
        5: ("minReadySeconds", "i", ""),
        6: ("revisionHistoryLimit", "i0", ""),
        7: ("paused", "tb", ""),
        9: ("progressDeadlineSeconds", "i0", ""),
    },
    "DeploymentStrategy": {1: ("type", "s", "")},
    "LabelSelector": {1: ("matchLabels", "ss", "")},
    "PodTemplateSpec": {1: ("metadata", "m", "ObjectMeta"), 2: ("spec", "m", "PodSpec")},
    "PodSpec": {2: ("containers", "rm", "Container")},
    "Container": {
        1: ("name", "s", ""),
        2: ("image", "s", ""),
        3: ("command", "rs", ""),
        4: ("args", "rs", ""),
        5: ("workingDir", "s", ""),
        6: ("ports", "rm", "ContainerPort"),
        7: ("env", "rm", "EnvVar"),
        8: ("resources", "m", "ResourceRequirements"),
    },
    "ContainerPort": {
        1: ("name", "s", ""),
        2: ("hostPort", "i", ""),
        3: ("containerPort", "i", ""),
        4: ("protocol", "s", ""),
        5: ("hostIP", "s", ""),
    },
    "EnvVar": {1: ("name", "s", ""), 2: ("value", "s", "")},
    "ResourceRequirements": {},
    "Service": {1: ("metadata", "m", "ObjectMeta"), 2: ("spec", "m", "ServiceSpec"), 3: ("status", "skip", "")},
    "ServiceSpec": {
        1: ("ports", "rm", "ServicePort"),
        2: ("selector", "ss", ""),
        3: ("clusterIP", "s", ""),
        4: ("type", "s", ""),
        10: ("externalName", "s", ""),
    },
    "ServicePort": {
        1: ("name", "s", ""),
        2: ("protocol", "s", ""),
        3: ("port", "i", ""),
        4: ("targetPort", "ios", ""),
        5: ("nodePort", "i", ""),
    },
    "Subject": {1: ("kind", "s", ""), 2: ("apiGroup", "s", ""), 3: ("name", "s", ""), 4: ("namespace", "s", "")},
    "RoleRef": {1: ("apiGroup", "s", ""), 2: ("kind", "s", ""), 3: ("name", "s", "")},
}

SUPPORTED_KINDS = frozenset(
    {
        "Namespace",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "SelfSubjectAccessReview",
        "SubjectAccessReview",
        "TokenReview",
        "Eviction",
        "DeleteOptions",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
    }
)


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    out = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        num, wire = key >> 3, key & 7
        val: int | bytes
        if wire == 0:
            val, pos = _varint(data, pos)
        elif wire == 2:
            n, pos = _varint(data, pos)
            chunk = data[pos : pos + n]
            if len(chunk) != n:
                raise ProtobufError("truncated field")
            val = chunk
            pos += n
        elif wire == 1:
            val, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            val, pos = data[pos : pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((num, wire, val))
    return out


def _signed(n: int) -> int:
    """int64 fields are two's complement varints."""
    return n - (1 << 64) if n >= 1 << 63 else n


def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for num, _, val in _fields(data):
        if num == 1:
            key = bytes(val).decode()
        elif num == 2:
            value = bytes(val)
    return key, value


def _message(data: bytes, name: str) -> dict[str, Any]:
    schema = _S[name]
    out: dict[str, Any] = {}
    for num, _wire, val in _fields(data):
        spec = schema.get(num)
        if spec is None:
            if val in (0, b""):
                continue  # an empty optional field: nothing is lost by skipping it
            # Refuse rather than silently drop data the emulator cannot decode.
            raise ProtobufError(f"field {num} of {name} is not decodable from protobuf by the emulator")
        field, typ, sub = spec
        if typ == "skip":
            continue  # set by the server (a review's status): ignored like the real server ignores it
        if typ == "s":
            if val:
                out[field] = bytes(val).decode()
        elif typ == "raw":
            out[field] = bytes(val)
        elif typ == "i":
            if val:
                out[field] = _signed(int(val))
        elif typ == "i0":  # optional int64: present even when zero
            out[field] = _signed(int(val))
        elif typ == "t":  # *bool: present means set, even when false
            out[field] = bool(val)
        elif typ == "tb":  # bool with omitempty: false is omitted
            if val:
                out[field] = True
        elif typ == "m":
            out[field] = _message(bytes(val), sub)
        elif typ == "rm":
            out.setdefault(field, []).append(_message(bytes(val), sub))
        elif typ == "rs":
            out.setdefault(field, []).append(bytes(val).decode())
        elif typ == "ss":
            k, v = _map_entry(bytes(val))
            out.setdefault(field, {})[k] = v.decode()
        elif typ == "sb":
            k, v = _map_entry(bytes(val))
            out.setdefault(field, {})[k] = base64.b64encode(v).decode()
        elif typ == "ios":  # intstr.IntOrString {type, intVal, strVal}
            parts = {n: v for n, _, v in _fields(bytes(val))}
            is_str = int(parts.get(1, 0) or 0) == 1
            out[field] = bytes(parts.get(3, b"")).decode() if is_str else _signed(int(parts.get(2, 0) or 0))
        elif typ == "time":
            secs = next((int(v) for n, _, v in _fields(bytes(val)) if n == 1), 0)
            out[field] = datetime.datetime.fromtimestamp(secs, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def decode(body: bytes) -> dict[str, Any]:
    """Decode a protobuf request body to the JSON form of the object."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    unknown = _message(body[len(MAGIC) :], "Unknown")
    tm = unknown.get("typeMeta") or {}
    kind = tm.get("kind", "")
    if kind not in SUPPORTED_KINDS:
        raise ProtobufError(f"kind {kind or '<unset>'} is not decodable from protobuf by the emulator")
    obj = _message(unknown.get("raw", b""), kind)
    obj["apiVersion"] = tm.get("apiVersion", "")
    obj["kind"] = kind
    return obj
