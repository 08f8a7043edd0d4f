"""meta.k8s.io/v1 Table rendering (what `kubectl get` prints), including CRD printer columns."""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

from .objects import parse_time
from .resources import ResourceType

if TYPE_CHECKING:
    from .server import KubeAPIServer

Obj = dict[str, Any]

_NAME_COL = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}
_AGE_COL = {
    "name": "Age",
    "type": "string",
    "format": "",
    "description": "CreationTimestamp is a timestamp representing the server time when this object was created.",
    "priority": 0,
}


def _col(name: str, typ: str = "string", priority: int = 0, description: str = "", fmt: str = "") -> Obj:
    return {"name": name, "type": typ, "format": fmt, "description": description or name, "priority": priority}


def human_duration(d: datetime.timedelta) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    seconds = int(d.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m{s}s" if s else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h{m}m" if m else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d{h}h" if h else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y{dy}d" if dy else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    try:
        return human_duration(datetime.datetime.now(datetime.UTC) - parse_time(ts))
    except ValueError:
        return "<invalid>"


def _g(obj: Any, *path: Any, default: Any = None) -> Any:
    cur = obj
    for p in path:
        if isinstance(cur, dict):
            cur = cur.get(p)
        elif isinstance(cur, list) and isinstance(p, int) and p < len(cur):
            cur = cur[p]
        else:
            return default
        if cur is None:
            return default
    return cur


def _none(v: Any) -> Any:
    return v if v not in (None, "", []) else "<none>"


# --- per-kind rows ----------------------------------------------------------------------------


def _pod_status(pod: Obj) -> tuple[str, int, int, str]:
    """printPod of the real server: (status reason, ready, total, restarts cell)."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    sidecar = {n for n, c in init_specs.items() if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecar)
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart = ""
    sidecar_last_restart = ""

    def finished(cs: Obj) -> str:
        return str(((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or "")

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        if cs.get("name") in sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            sidecar_last_restart = max(sidecar_last_restart, finished(cs))
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if cs.get("name") in sidecar and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
        elif wait is not None and wait.get("reason") and wait.get("reason") != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    if not initializing or initialized:
        restarts = sidecar_restarts
        last_restart = sidecar_last_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_restart = max(last_restart, finished(cs))
            state = cs.get("state") or {}
            term, wait = state.get("terminated"), state.get("waiting")
            if wait is not None and wait.get("reason"):
                reason = wait["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
            )
            reason = "Running" if pod_ready else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    restarts_cell = str(restarts)
    if last_restart:
        restarts_cell = f"{restarts} ({age(last_restart)} ago)"
    return reason or "Unknown", ready, total, restarts_cell


def _pod_row(pod: Obj) -> list[Any]:
    reason, ready, total, restarts = _pod_status(pod)
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    if gates:
        true_conds = {
            c.get("type") for c in (pod.get("status") or {}).get("conditions") or [] if c.get("status") == "True"
        }
        gates_cell = f"{sum(1 for g in gates if g.get('conditionType') in true_conds)}/{len(gates)}"
    else:
        gates_cell = "<none>"
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        reason,
        restarts,
        age(pod["metadata"].get("creationTimestamp")),
        _none(_g(pod, "status", "podIP")),
        _none(_g(pod, "spec", "nodeName")),
        _none(_g(pod, "status", "nominatedNodeName")),
        gates_cell,
    ]


def _node_row(node: Obj) -> list[Any]:
    conds = {c.get("type"): c.get("status") for c in _g(node, "status", "conditions", default=[])}
    status = {"True": "Ready", "False": "NotReady"}.get(conds.get("Ready") or "", "Unknown")
    if _g(node, "spec", "unschedulable"):
        status += ",SchedulingDisabled"
    labels = _g(node, "metadata", "labels", default={})
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k)
    if labels.get("kubernetes.io/role"):
        roles.append(labels["kubernetes.io/role"])
    addrs = {a.get("type"): a.get("address") for a in _g(node, "status", "addresses", default=[])}
    info = _g(node, "status", "nodeInfo", default={})
    return [
        node["metadata"]["name"],
        status,
        ",".join(sorted(set(roles))) or "<none>",
        age(node["metadata"].get("creationTimestamp")),
        info.get("kubeletVersion", ""),
        addrs.get("InternalIP", "<none>"),
        addrs.get("ExternalIP", "<none>"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


def _selector_text(sel: Obj | None) -> str:
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        op = e.get("operator")
        if op == "In":
            parts.append(f"{e['key']} in ({','.join(e.get('values') or [])})")
        elif op == "NotIn":
            parts.append(f"{e['key']} notin ({','.join(e.get('values') or [])})")
        elif op == "Exists":
            parts.append(e["key"])
        else:
            parts.append(f"!{e['key']}")
    return ",".join(parts) or "<none>"


def _containers(obj: Obj) -> tuple[str, str]:
    cs = _g(obj, "spec", "template", "spec", "containers", default=[])
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _deploy_row(d: Obj) -> list[Any]:
    st = d.get("status") or {}
    names, images = _containers(d)
    return [
        d["metadata"]["name"],
        f"{st.get('readyReplicas', 0)}/{_g(d, 'spec', 'replicas', default=0)}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        age(d["metadata"].get("creationTimestamp")),
        names,
        images,
        _selector_text(_g(d, "spec", "selector")),
    ]


def _rs_row(r: Obj) -> list[Any]:
    st = r.get("status") or {}
    names, images = _containers(r)
    return [
        r["metadata"]["name"],
        _g(r, "spec", "replicas", default=0),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        age(r["metadata"].get("creationTimestamp")),
        names,
        images,
        _selector_text(_g(r, "spec", "selector")),
    ]


def _event_row(e: Obj) -> list[Any]:
    inv = e.get("involvedObject") or e.get("regarding") or {}
    last = (
        e.get("lastTimestamp")
        or e.get("eventTime")
        or (e.get("series") or {}).get("lastObservedTime")
        or e["metadata"].get("creationTimestamp")
    )
    return [
        age(last),
        e.get("type", ""),
        e.get("reason", ""),
        f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}",
        e.get("message") or e.get("note") or "",
    ]


_BUILTIN: dict[tuple[str, str], tuple[list[Obj], Any]] = {
    ("", "pods"): (
        [
            _NAME_COL,
            _col("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", description="The aggregate status of the containers in this pod."),
            _col(
                "Restarts",
                "string",
                description="The number of times the containers in this pod have been restarted and when the last "
                "container in this pod has restarted.",
            ),
            _AGE_COL,
            _col("IP", priority=1),
            _col("Node", priority=1),
            _col("Nominated Node", priority=1),
            _col("Readiness Gates", priority=1),
        ],
        _pod_row,
    ),
    ("", "nodes"): (
        [
            _NAME_COL,
            _col("Status"),
            _col("Roles"),
            _AGE_COL,
            _col("Version"),
            _col("Internal-IP", priority=1),
            _col("External-IP", priority=1),
            _col("OS-Image", priority=1),
            _col("Kernel-Version", priority=1),
            _col("Container-Runtime", priority=1),
        ],
        _node_row,
    ),
    ("", "namespaces"): (
        [_NAME_COL, _col("Status"), _AGE_COL],
        lambda o: [
            o["metadata"]["name"],
            _g(o, "status", "phase", default=""),
            age(o["metadata"].get("creationTimestamp")),
        ],
    ),
    ("", "configmaps"): (
        [_NAME_COL, _col("Data", "integer"), _AGE_COL],
        lambda o: [
            o["metadata"]["name"],
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            age(o["metadata"].get("creationTimestamp")),
        ],
    ),
    ("", "secrets"): (
        [_NAME_COL, _col("Type"), _col("Data", "integer"), _AGE_COL],
        lambda o: [
            o["metadata"]["name"],
            o.get("type", ""),
            len(o.get("data") or {}),
            age(o["metadata"].get("creationTimestamp")),
        ],
    ),
    ("", "serviceaccounts"): (
        [_NAME_COL, _col("Secrets", "integer"), _AGE_COL],
        lambda o: [o["metadata"]["name"], len(o.get("secrets") or []), age(o["metadata"].get("creationTimestamp"))],
    ),
    ("", "services"): (
        [
            _NAME_COL,
            _col("Type"),
            _col("Cluster-IP"),
            _col("External-IP"),
            _col("Port(s)"),
            _AGE_COL,
            _col("Selector", priority=1),
        ],
        lambda o: [
            o["metadata"]["name"],
            _g(o, "spec", "type", default="ClusterIP"),
            _g(o, "spec", "clusterIP", default="<none>"),
            "<none>",
            ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in _g(o, "spec", "ports", default=[]))
            or "<none>",
            age(o["metadata"].get("creationTimestamp")),
            ",".join(f"{k}={v}" for k, v in sorted(_g(o, "spec", "selector", default={}).items())) or "<none>",
        ],
    ),
    ("", "events"): (
        [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
        _event_row,
    ),
    ("events.k8s.io", "events"): (
        [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
        _event_row,
    ),
    ("apps", "deployments"): (
        [
            _NAME_COL,
            _col("Ready"),
            _col("Up-to-date", "integer"),
            _col("Available", "integer"),
            _AGE_COL,
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        _deploy_row,
    ),
    ("apps", "replicasets"): (
        [
            _NAME_COL,
            _col("Desired", "integer"),
            _col("Current", "integer"),
            _col("Ready", "integer"),
            _AGE_COL,
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        _rs_row,
    ),
    ("coordination.k8s.io", "leases"): (
        [_NAME_COL, _col("Holder"), _AGE_COL],
        lambda o: [
            o["metadata"]["name"],
            _g(o, "spec", "holderIdentity", default=""),
            age(o["metadata"].get("creationTimestamp")),
        ],
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        [_NAME_COL, _col("Created At", "date")],
        lambda o: [o["metadata"]["name"], o["metadata"].get("creationTimestamp", "")],
    ),
}


# --- JSONPath subset for additionalPrinterColumns -------------------------------------------

_TOKEN = re.compile(
    r"\.([A-Za-z0-9_\-/]+)|\[(\d+|\?\(@\.([A-Za-z0-9_.]+)\s*==\s*['\"]([^'\"]*)['\"]\))\]|\[['\"]([^'\"]+)['\"]\]"
)


def jsonpath(obj: Any, path: str) -> Any:
    """Evaluate the JSONPath subset CRDs use: .a.b, [0], ['key'], [?(@.type=="Ready")]."""
    p = path.strip()
    if p.startswith("{") and p.endswith("}"):
        p = p[1:-1]
    p = p.removeprefix("$")
    values = [obj]
    pos = 0
    while pos < len(p):
        m = _TOKEN.match(p, pos)
        if not m:
            return None
        pos = m.end()
        nxt: list[Any] = []
        for v in values:
            if m.group(1) is not None or m.group(5) is not None:
                key = m.group(1) if m.group(1) is not None else m.group(5)
                if isinstance(v, dict) and key in v:
                    nxt.append(v[key])
            elif m.group(3) is not None:
                if isinstance(v, list):
                    for item in v:
                        if isinstance(item, dict) and str(_g(item, *m.group(3).split("."))) == m.group(4):
                            nxt.append(item)
            else:
                idx = int(m.group(2))
                if isinstance(v, list) and idx < len(v):
                    nxt.append(v[idx])
        values = nxt
    if not values:
        return None
    return values[0]


def _cell(col: Obj, obj: Obj) -> Any:
    value = jsonpath(obj, col.get("jsonPath", ""))
    typ = col.get("type", "string")
    if value is None:
        return None
    if typ == "date":
        return age(value) if isinstance(value, str) else value
    if typ == "integer":
        return value if isinstance(value, int) else None
    if typ == "number":
        return value if isinstance(value, (int, float)) else None
    if typ == "boolean":
        return value if isinstance(value, bool) else None
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, separators=(",", ":"))
    return str(value) if not isinstance(value, str) else value


def _custom(rt: ResourceType) -> tuple[list[Obj], Any]:
    if not rt.printer_columns:
        return [_NAME_COL, _AGE_COL], lambda o: [o["metadata"]["name"], age(o["metadata"].get("creationTimestamp"))]
    cols = [_NAME_COL] + [
        {
            "name": c.get("name", ""),
            "type": c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c.get("description", ""),
            "priority": c.get("priority", 0),
        }
        for c in rt.printer_columns
    ]

    def row(o: Obj) -> list[Any]:
        return [o["metadata"]["name"]] + [_cell(c, o) for c in rt.printer_columns]

    return cols, row


def columns_and_row(rt: ResourceType) -> tuple[list[Obj], Any]:
    if rt.custom:
        return _custom(rt)
    found = _BUILTIN.get((rt.group, rt.plural))
    if found:
        return found
    return [_NAME_COL, _AGE_COL], lambda o: [o["metadata"]["name"], age(o["metadata"].get("creationTimestamp"))]


def table(rt: ResourceType, items: list[Obj], rv: str, params: Any, server: KubeAPIServer | None) -> Obj:
    cols, row = columns_and_row(rt)
    include = params.get("includeObject") or "PartialObjectMetadata"
    rows = []
    for o in items:
        r: Obj = {"cells": row(o)}
        if include == "Object":
            r["object"] = o
        elif include == "PartialObjectMetadata":
            r["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata", {}),
            }
        rows.append(r)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": cols,
        "rows": rows,
    }
