"""Per-kind defaulting and validation of built-in objects, with the real server's field paths and
wording (a deliberately small, strict subset: what our components and tests exercise)."""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import re
from typing import Any

from .errors import FieldProblem

Obj = dict[str, Any]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# Kinds whose names must be DNS-1123 labels rather than subdomains.
LABEL_NAMED = frozenset({"Namespace", "Service"})
# Kinds whose names are path segments only (RBAC: "system:controller:x" is valid).
PATH_NAMED = frozenset({"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"})


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def invalid_value(field: str, value: Any, detail: str) -> FieldProblem:
    return FieldProblem(field, "FieldValueInvalid", f"Invalid value: {go_repr(value)}: {detail}")


def required(field: str, detail: str = "") -> FieldProblem:
    return FieldProblem(field, "FieldValueRequired", "Required value" + (f": {detail}" if detail else ""))


def unsupported(field: str, value: Any, supported: list[str]) -> FieldProblem:
    sup = ", ".join(f'"{s}"' for s in supported)
    return FieldProblem(
        field, "FieldValueNotSupported", f"Unsupported value: {go_repr(value)}: supported values: {sup}"
    )


def forbidden_field(field: str, detail: str) -> FieldProblem:
    return FieldProblem(field, "FieldValueForbidden", f"Forbidden: {detail}")


def duplicate(field: str, value: Any) -> FieldProblem:
    return FieldProblem(field, "FieldValueDuplicate", f"Duplicate value: {go_repr(value)}")


def immutable(field: str, value: Any) -> FieldProblem:
    return FieldProblem(field, "FieldValueInvalid", f"Invalid value: {go_repr(value)}: field is immutable")


def go_repr(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        inner = ", ".join(f'"{k}":{go_repr(v)}' for k, v in value.items())
        return "map[string]string{" + inner + "}"
    if isinstance(value, list):
        return "[]string{" + ", ".join(go_repr(v) for v in value) + "}"
    return str(value)


def validate_name(kind: str, name: str, field: str = "metadata.name") -> list[FieldProblem]:
    if kind in PATH_NAMED:
        if name in (".", "..") or "/" in name or "%" in name:
            return [invalid_value(field, name, 'may not contain "/" or "%" and may not be "." or ".."')]
        return []
    if kind in LABEL_NAMED:
        if len(name) > 63:
            return [invalid_value(field, name, "must be no more than 63 characters")]
        if not DNS1123_LABEL.match(name):
            return [invalid_value(field, name, _LABEL_MSG)]
        return []
    if len(name) > 253:
        return [invalid_value(field, name, "must be no more than 253 characters")]
    if not DNS1123_SUBDOMAIN.match(name):
        return [invalid_value(field, name, _SUBDOMAIN_MSG)]
    return []


def validate_labels(labels: Any, field: str) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    if labels is None:
        return out
    for k, v in labels.items():
        key_name = k.rsplit("/", 1)[-1]
        prefix = k.rsplit("/", 1)[0] if "/" in k else ""
        if (
            not key_name
            or len(key_name) > 63
            or not _QUALIFIED_NAME.match(key_name)
            or (prefix and not DNS1123_SUBDOMAIN.match(prefix))
        ):
            out.append(
                invalid_value(
                    field,
                    k,
                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                )
            )
        if not isinstance(v, str) or len(v) > 63 or not _LABEL_VALUE.match(v):
            out.append(
                invalid_value(
                    field,
                    v,
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                    "'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            )
    return out


# --- defaults ---------------------------------------------------------------------------------


def _default_container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = c.get("image") or ""
    tag = image.rsplit("/", 1)[-1]
    if "imagePullPolicy" not in c:
        c["imagePullPolicy"] = (
            "Always" if ("@" not in tag and (":" not in tag or tag.endswith(":latest"))) else "IfNotPresent"
        )
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")


def default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if isinstance(c, dict):
            _default_container(c)


def _qos(spec: Obj) -> str:
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or str(req.get(r, lim[r])) != str(lim[r]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


_DEFAULT_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
)


def default_object(kind: str, group: str, obj: Obj) -> None:
    """Apply the defaults the real server (and its default admission plugins) applies on create."""
    spec = obj.get("spec")
    if kind == "Pod" and group == "" and isinstance(spec, dict):
        default_pod_spec(spec)
        tolerations = spec.setdefault("tolerations", [])
        if isinstance(tolerations, list):
            for t in _DEFAULT_TOLERATIONS:
                if not any(isinstance(x, dict) and x.get("key") == t["key"] for x in tolerations):
                    tolerations.append(dict(t))
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status["qosClass"] = _qos(spec)
    elif kind in ("Deployment", "ReplicaSet") and group == "apps" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if kind == "Deployment":
            spec.setdefault("progressDeadlineSeconds", 600)
            strategy = spec.setdefault("strategy", {})
            if isinstance(strategy, dict):
                strategy.setdefault("type", "RollingUpdate")
                if strategy["type"] == "RollingUpdate":
                    ru = strategy.setdefault("rollingUpdate", {})
                    if isinstance(ru, dict):
                        ru.setdefault("maxUnavailable", "25%")
                        ru.setdefault("maxSurge", "25%")
        template = spec.get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            default_pod_spec(template["spec"])
            template.setdefault("metadata", {})
        obj.setdefault("status", {})
    elif kind == "Namespace" and group == "":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind == "Secret" and group == "":
        obj.setdefault("type", "Opaque")
    elif kind == "Service" and group == "" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                p.setdefault("targetPort", p.get("port"))
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
    elif kind == "Node" and group == "":
        obj.setdefault("spec", {})
        obj.setdefault("status", {})


def normalize_secret(obj: Obj) -> list[FieldProblem]:
    """Fold stringData into data (base64) and check data is base64, as the real server does."""
    problems: list[FieldProblem] = []
    data = obj.get("data") or {}
    for k, v in list(data.items()):
        try:
            base64.b64decode(v, validate=True)
        except (binascii.Error, TypeError, ValueError):
            problems.append(invalid_value(f"data[{k}]", v, "illegal base64 data"))
    string_data = obj.pop("stringData", None) or {}
    for k, v in string_data.items():
        data[k] = base64.b64encode(str(v).encode()).decode()
    if data:
        obj["data"] = data
    return problems


# --- validation -------------------------------------------------------------------------------


def _validate_containers(containers: Any, field: str, required_list: bool) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    if not containers:
        if required_list:
            out.append(required(field))
        return out
    seen: set[str] = set()
    for i, c in enumerate(containers):
        f = f"{field}[{i}]"
        name = c.get("name") or ""
        if not name:
            out.append(required(f"{f}.name"))
        elif not DNS1123_LABEL.match(name):
            out.append(invalid_value(f"{f}.name", name, _LABEL_MSG))
        elif name in seen:
            out.append(duplicate(f"{f}.name", name))
        seen.add(name)
        if not c.get("image"):
            out.append(required(f"{f}.image"))
        for j, p in enumerate(c.get("ports") or []):
            port = p.get("containerPort")
            if not port:  # Go: 0 is the unset value
                out.append(required(f"{f}.ports[{j}].containerPort"))
            elif not 1 <= int(port) <= 65535:
                out.append(
                    invalid_value(f"{f}.ports[{j}].containerPort", port, "must be between 1 and 65535, inclusive")
                )
            proto = p.get("protocol", "TCP")
            if proto not in ("TCP", "UDP", "SCTP"):
                out.append(unsupported(f"{f}.ports[{j}].protocol", proto, ["SCTP", "TCP", "UDP"]))
        policy = c.get("imagePullPolicy")
        if policy not in (None, "Always", "IfNotPresent", "Never"):
            out.append(unsupported(f"{f}.imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"]))
    return out


def validate_pod_spec(spec: Any, field: str) -> list[FieldProblem]:
    if not isinstance(spec, dict):
        return [required(field)]
    out = _validate_containers(spec.get("containers"), f"{field}.containers", True)
    out += _validate_containers(spec.get("initContainers"), f"{field}.initContainers", False)
    rp = spec.get("restartPolicy")
    if rp not in (None, "Always", "OnFailure", "Never"):
        out.append(unsupported(f"{field}.restartPolicy", rp, ["Always", "OnFailure", "Never"]))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        out.append(invalid_value(f"{field}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
    return out


_POD_UPDATE_MSG = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def _mutable_pod_view(spec: Obj) -> Obj:
    s = copy.deepcopy(spec)
    for key in ("containers", "initContainers"):
        for c in s.get(key) or []:
            c.pop("image", None)
    s.pop("activeDeadlineSeconds", None)
    s.pop("tolerations", None)
    return s


def validate_update(kind: str, group: str, new: Obj, old: Obj) -> list[FieldProblem]:
    """Immutability rules checked on update."""
    out: list[FieldProblem] = []
    if kind == "Pod" and group == "":
        if _mutable_pod_view(new.get("spec") or {}) != _mutable_pod_view(old.get("spec") or {}):
            out.append(forbidden_field("spec", _POD_UPDATE_MSG))
    elif kind in ("Deployment", "ReplicaSet") and group == "apps":
        ns, os_ = (new.get("spec") or {}).get("selector"), (old.get("spec") or {}).get("selector")
        if ns != os_:
            out.append(immutable("spec.selector", ns))
    elif kind == "Service" and group == "":
        nip, oip = (new.get("spec") or {}).get("clusterIP"), (old.get("spec") or {}).get("clusterIP")
        if oip and nip != oip:
            out.append(immutable("spec.clusterIP", nip))
    elif kind in ("ConfigMap", "Secret") and group == "":
        if old.get("immutable"):
            keys = ("data", "binaryData") if kind == "ConfigMap" else ("data", "type")
            for k in keys:
                if new.get(k) != old.get(k):
                    out.append(forbidden_field(k, "field is immutable when `immutable` is set"))
            if not new.get("immutable"):
                out.append(forbidden_field("immutable", "field is immutable when `immutable` is set"))
    elif kind == "Node" and group == "":
        nid, oid = (new.get("spec") or {}).get("providerID"), (old.get("spec") or {}).get("providerID")
        if oid and nid != oid:
            out.append(
                forbidden_field("spec.providerID", 'node updates may not change providerID except from "" to valid')
            )
    elif kind == "CustomResourceDefinition":
        nspec, ospec = new.get("spec") or {}, old.get("spec") or {}
        if nspec.get("scope") != ospec.get("scope"):
            out.append(immutable("spec.scope", nspec.get("scope")))
        if nspec.get("group") != ospec.get("group"):
            out.append(immutable("spec.group", nspec.get("group")))
    return out


def _selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics (an empty selector matches everything)."""
    return _selector_matches(selector or {}, labels)


def validate_object(kind: str, group: str, obj: Obj) -> list[FieldProblem]:
    """Kind-specific checks (names are checked by the caller)."""
    md = obj.get("metadata") or {}
    out = validate_labels(md.get("labels"), "metadata.labels") + validate_metadata(md)
    spec = obj.get("spec")
    if kind == "Pod" and group == "":
        out += validate_pod_spec(spec, "spec")
    elif kind in ("Deployment", "ReplicaSet") and group == "apps":
        spec = spec if isinstance(spec, dict) else {}
        selector = spec.get("selector")
        template = spec.get("template") or {}
        tlabels = (template.get("metadata") or {}).get("labels") or {}
        if not selector:
            out.append(required("spec.selector"))
        elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
            out.append(invalid_value("spec.selector", selector, "empty selector is invalid for deployment"))
        elif not selector_matches(selector, tlabels):
            out.append(
                invalid_value("spec.template.metadata.labels", tlabels, "`selector` does not match template `labels`")
            )
        replicas = spec.get("replicas")
        if isinstance(replicas, int) and replicas < 0:
            out.append(invalid_value("spec.replicas", replicas, "must be greater than or equal to 0"))
        out += validate_pod_spec(template.get("spec"), "spec.template.spec")
        if kind == "Deployment":
            st = (spec.get("strategy") or {}).get("type")
            if st not in (None, "Recreate", "RollingUpdate"):
                out.append(unsupported("spec.strategy.type", st, ["Recreate", "RollingUpdate"]))
            if st == "Recreate" and (spec.get("strategy") or {}).get("rollingUpdate"):
                out.append(
                    forbidden_field(
                        "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
                    )
                )
    elif kind == "ConfigMap" and group == "":
        for k in list(obj.get("data") or {}) + list(obj.get("binaryData") or {}):
            if not re.match(r"^[-._a-zA-Z0-9]+$", k):
                out.append(
                    invalid_value(
                        "data",
                        k,
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
                        "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                    )
                )
    elif kind == "Lease" and group == "coordination.k8s.io":
        d = (spec or {}).get("leaseDurationSeconds")
        if isinstance(d, int) and d <= 0:
            out.append(invalid_value("spec.leaseDurationSeconds", d, "must be greater than 0"))
    elif kind == "Event" and group in ("", "events.k8s.io"):
        out += _validate_event(obj, group)
    return out


def _validate_event(ev: Obj, group: str) -> list[FieldProblem]:
    """ValidateEventCreate: legacy events need matching namespaces; new-style (eventTime) events
    need their reporting fields; events.k8s.io requires eventTime and a Normal/Warning type."""
    out: list[FieldProblem] = []
    ns = (ev.get("metadata") or {}).get("namespace") or ""
    if group == "events.k8s.io":
        involved, controller_field = ev.get("regarding") or {}, "reportingController"
        controller = ev.get("reportingController") or ""
        note, note_field = ev.get("note") or "", "note"
        if not ev.get("eventTime"):
            out.append(required("eventTime"))
        if ev.get("type") not in ("Normal", "Warning"):
            out.append(invalid_value("type", "", f"has invalid value: {ev.get('type') or ''}"))
        for f in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"):
            if ev.get(f):
                out.append(invalid_value(f, "", "needs to be unset"))
    else:
        involved, controller_field = ev.get("involvedObject") or {}, "reportingComponent"
        controller = ev.get("reportingComponent") or ""
        note, note_field = ev.get("message") or "", "message"
    inv_ns = involved.get("namespace") or ""
    if not ev.get("eventTime"):
        if (inv_ns and inv_ns != ns) or (not inv_ns and ns not in ("", "default")):
            out.append(invalid_value("involvedObject.namespace", inv_ns, "does not match event.namespace"))
        return out
    if not inv_ns and ns not in ("default", "kube-system"):
        out.append(invalid_value("involvedObject.namespace", inv_ns, "does not match event.namespace"))
    if not controller:
        out.append(required(controller_field))
    for f in ("reportingInstance", "action", "reason"):
        value = ev.get(f) or ""
        if not value:
            out.append(required(f))
        elif len(value) > 128:
            out.append(invalid_value(f, "", "can have at most 128 characters"))
    if len(note) > 1024:
        out.append(invalid_value(note_field, "", "can have at most 1024 characters"))
    return out


_TERMINAL = ("Succeeded", "Failed")


def _valid_ip(value: Any) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def validate_pod_status_update(new: Obj, old: Obj) -> list[FieldProblem]:
    """ValidatePodStatusUpdate: terminal phases and terminated containers (restartPolicy Never)
    stay terminal; pod and host IPs must be IP addresses, podIPs[0] equal to podIP."""
    out: list[FieldProblem] = []
    ns, os_ = new.get("status") or {}, old.get("status") or {}
    if os_.get("phase") in _TERMINAL and ns.get("phase") != os_.get("phase"):
        out.append(forbidden_field("status.phase", "may not be transitioned to non-terminal state"))
    restart = (old.get("spec") or {}).get("restartPolicy", "Always")
    for key in ("containerStatuses", "initContainerStatuses"):
        old_by_name = {c.get("name"): c for c in os_.get(key) or []}
        for i, cs in enumerate(ns.get(key) or []):
            prev = old_by_name.get(cs.get("name"))
            if prev is None:
                continue
            was_terminated = "terminated" in (prev.get("state") or {})
            now_terminated = "terminated" in (cs.get("state") or {})
            if (
                was_terminated
                and not now_terminated
                and (
                    restart == "Never"
                    or (
                        key == "initContainerStatuses"
                        and restart == "OnFailure"
                        and (prev["state"]["terminated"].get("exitCode") == 0)
                    )
                )
            ):
                out.append(
                    forbidden_field(f"status.{key}[{i}].state", "may not be transitioned to non-terminated state")
                )
    pod_ip = ns.get("podIP")
    if pod_ip and not _valid_ip(pod_ip):
        out.append(
            invalid_value("status.podIP", pod_ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        )
    ips = [p.get("ip") for p in ns.get("podIPs") or []]
    for i, ip in enumerate(ips):
        if not _valid_ip(ip):
            out.append(
                invalid_value(
                    f"status.podIPs[{i}].ip", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                )
            )
    if ips and pod_ip and ips[0] != pod_ip:
        out.append(invalid_value("status.podIPs[0].ip", ips[0], "must be equal to status.podIP"))
    host_ip = ns.get("hostIP")
    if host_ip and not _valid_ip(host_ip):
        out.append(
            invalid_value("status.hostIP", host_ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        )
    return out


_ANNOTATIONS_LIMIT = 256 * 1024


def validate_metadata(md: Obj) -> list[FieldProblem]:
    """ObjectMeta rules beyond names and labels: annotation keys and size, finalizer names, owner references."""
    from .selectors import is_qualified_name

    out: list[FieldProblem] = []
    annotations = md.get("annotations") or {}
    for k in annotations if isinstance(annotations, dict) else ():
        # ValidateAnnotations: QualifiedName rules, case-insensitively.
        out.extend(invalid_value("metadata.annotations", k, msg) for msg in is_qualified_name(str(k).lower()))
    finalizers = md.get("finalizers") or []
    for f in finalizers if isinstance(finalizers, list) else ():
        out.extend(invalid_value("metadata.finalizers", f, msg) for msg in is_qualified_name(str(f)))
    if isinstance(finalizers, list) and "orphan" in finalizers and "foregroundDeletion" in finalizers:
        out.append(
            invalid_value(
                "metadata.finalizers", finalizers, "finalizer orphan and foregroundDeletion cannot be both set"
            )
        )
    size = sum(len(k) + len(str(v)) for k, v in annotations.items())
    if size > _ANNOTATIONS_LIMIT:
        out.append(
            FieldProblem(
                "metadata.annotations", "FieldValueTooLong", f"Too long: must have at most {_ANNOTATIONS_LIMIT} bytes"
            )
        )
    refs = md.get("ownerReferences") or []
    for ref in refs:
        for key, what in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not ref.get(key):
                out.append(invalid_value(f"metadata.ownerReferences.{key}", "", f"{what} must not be empty"))
    controllers = [r for r in refs if r.get("controller")]
    if len(controllers) > 1:
        names = ", ".join(f"{r.get('kind')}/{r.get('name')}" for r in controllers)
        out.append(
            FieldProblem(
                "metadata.ownerReferences",
                "FieldValueInvalid",
                f'Invalid value: "{names}": Only one reference can have Controller set to true',
            )
        )
    return out
