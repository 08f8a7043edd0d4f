"""Driver stats as the kubelet shows them: the stats/v1alpha1 Summary and /metrics/resource text.

metrics-server (and so ``kubectl top``) scrapes /metrics/resource: it needs the metric names and
labels of the real kubelet and a timestamp on every sample, which this module reproduces.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from cvk.driver.base import ContainerStats, NodeStats, PodStats

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def rfc3339(t: datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cpu(now: str, nano_cores: int, core_nano_seconds: int) -> dict[str, Any]:
    return {"time": now, "usageNanoCores": nano_cores, "usageCoreNanoSeconds": core_nano_seconds}


def _container_summary(c: ContainerStats, now: str) -> dict[str, Any]:
    return {
        "name": c.name,
        "startTime": rfc3339(c.start_time),
        "cpu": _cpu(now, c.cpu_usage_nano_cores, c.cpu_usage_core_nano_seconds),
        "memory": {
            "time": now,
            "usageBytes": c.memory_usage_bytes,
            "workingSetBytes": c.memory_working_set_bytes,
        },
    }


def _pod_summary(p: PodStats, now: str) -> dict[str, Any]:
    return {
        "podRef": {"name": p.name, "namespace": p.namespace, "uid": p.uid},
        "startTime": rfc3339(p.start_time),
        "containers": [_container_summary(c, now) for c in p.containers],
        "cpu": _cpu(
            now,
            sum(c.cpu_usage_nano_cores for c in p.containers),
            sum(c.cpu_usage_core_nano_seconds for c in p.containers),
        ),
        "memory": {
            "time": now,
            "usageBytes": sum(c.memory_usage_bytes for c in p.containers),
            "workingSetBytes": sum(c.memory_working_set_bytes for c in p.containers),
        },
    }


def summary(node_name: str, stats: NodeStats, now: datetime | None = None) -> dict[str, Any]:
    """The JSON of kubelet's stats/v1alpha1 Summary for ``stats``."""
    ts = rfc3339(now or datetime.now(UTC))
    return {
        "node": {
            "nodeName": node_name,
            "systemContainers": [],
            "startTime": rfc3339(stats.start_time),
            "cpu": _cpu(ts, stats.cpu_usage_nano_cores, stats.cpu_usage_core_nano_seconds),
            "memory": {
                "time": ts,
                "availableBytes": stats.memory_available_bytes,
                "usageBytes": stats.memory_working_set_bytes,
                "workingSetBytes": stats.memory_working_set_bytes,
            },
        },
        "pods": [_pod_summary(p, ts) for p in stats.pods],
    }


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name = name
        self.lines = [f"# HELP {name} [STABLE] {help_text}", f"# TYPE {name} {kind}"]
        self.samples = 0

    def add(self, labels: dict[str, str], value: float, timestamp_ms: int | None) -> None:
        ts = f" {timestamp_ms}" if timestamp_ms is not None else ""
        self.lines.append(f"{self.name}{_labels(labels)} {_number(value)}{ts}")
        self.samples += 1


def metrics_text(stats: NodeStats, now: datetime | None = None) -> str:
    """Prometheus text exposition of the kubelet's /metrics/resource for ``stats``."""
    ts_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    container_cpu = _Family(
        "container_cpu_usage_seconds_total", "counter",
        "Cumulative cpu time consumed by the container in core-seconds",
    )
    container_mem = _Family(
        "container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes"
    )
    container_start = _Family(
        "container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds"
    )
    node_cpu = _Family(
        "node_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the node in core-seconds"
    )
    node_mem = _Family("node_memory_working_set_bytes", "gauge", "Current working set of the node in bytes")
    pod_cpu = _Family(
        "pod_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed by the pod in core-seconds"
    )
    pod_mem = _Family("pod_memory_working_set_bytes", "gauge", "Current working set of the pod in bytes")
    # The kubelet calls it resource_scrape_error since 1.21 and scrape_error before: expose both.
    scrape_help = "1 if there was an error while getting container metrics, 0 otherwise"
    scrape_error = _Family("resource_scrape_error", "gauge", scrape_help)
    scrape_error_legacy = _Family("scrape_error", "gauge", scrape_help)
    node_cpu.add({}, stats.cpu_usage_core_nano_seconds / 1e9, ts_ms)
    node_mem.add({}, stats.memory_working_set_bytes, ts_ms)
    for p in stats.pods:
        pod_labels = {"namespace": p.namespace, "pod": p.name}
        for c in p.containers:
            labels = {"container": c.name, **pod_labels}
            container_cpu.add(labels, c.cpu_usage_core_nano_seconds / 1e9, ts_ms)
            container_mem.add(labels, c.memory_working_set_bytes, ts_ms)
            start = c.start_time if c.start_time.tzinfo else c.start_time.replace(tzinfo=UTC)
            container_start.add(labels, start.timestamp(), ts_ms)
        pod_cpu.add(pod_labels, sum(c.cpu_usage_core_nano_seconds for c in p.containers) / 1e9, ts_ms)
        pod_mem.add(pod_labels, sum(c.memory_working_set_bytes for c in p.containers), ts_ms)
    scrape_error.add({}, 0, None)
    scrape_error_legacy.add({}, 0, None)
    families = [
        container_cpu, container_mem, container_start, node_cpu, node_mem, pod_cpu, pod_mem,
        scrape_error, scrape_error_legacy,
    ]
    lines: list[str] = []
    for family in families:
        if family.samples:
            lines.extend(family.lines)
    return "\n".join(lines) + "\n"
