"""metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics, gathered like metrics-server: from each
node's kubelet /metrics/resource (Prometheus text), CPU as a rate between two scrapes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from .errors import ApiError, not_found
from .objects import now
from .resources import ResourceType

if TYPE_CHECKING:
    from .server import KubeAPIServer

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+(-?\d+))?\s*$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclasses.dataclass
class Sample:
    cpu_seconds: float
    memory_bytes: float
    at: float  # seconds


@dataclasses.dataclass
class Scrape:
    node: Sample | None
    containers: dict[tuple[str, str, str], Sample]


def parse_resource_metrics(text: str, scraped_at: float) -> Scrape:
    node_cpu: tuple[float, float] | None = None
    node_mem: float | None = None
    cpu: dict[tuple[str, str, str], tuple[float, float]] = {}
    mem: dict[tuple[str, str, str], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            continue
        name, labels_text, value_text, ts_text = m.group(1), m.group(3) or "", m.group(4), m.group(6)
        try:
            value = float(value_text)
        except ValueError:
            continue
        at = int(ts_text) / 1000.0 if ts_text else scraped_at
        labels = {k: v for k, v in _LABEL.findall(labels_text)}
        key = (labels.get("namespace", ""), labels.get("pod", ""), labels.get("container", ""))
        if name == "node_cpu_usage_seconds_total":
            node_cpu = (value, at)
        elif name == "node_memory_working_set_bytes":
            node_mem = value
        elif name == "container_cpu_usage_seconds_total":
            cpu[key] = (value, at)
        elif name == "container_memory_working_set_bytes":
            mem[key] = value
    node = Sample(node_cpu[0], node_mem or 0.0, node_cpu[1]) if node_cpu else None
    containers = {k: Sample(v[0], mem.get(k, 0.0), v[1]) for k, v in cpu.items()}
    return Scrape(node, containers)


def _cpu(nanocores: float) -> str:
    return f"{max(0, int(nanocores))}n"


def _mem(b: float) -> str:
    return f"{max(0, int(b)) // 1024}Ki"


class MetricsAPI:
    def __init__(self, server: KubeAPIServer) -> None:
        self.server = server
        self._last: dict[str, Scrape] = {}
        self.second_scrape_delay = 1.0

    async def _scrape_node(self, node: Obj) -> Scrape | None:
        name = node["metadata"]["name"]
        try:
            host, port = self.server.proxy.kubelet_endpoint(name)
        except ApiError:
            return None
        url = f"https://{host}:{port}/metrics/resource"
        try:
            async with self.server.proxy._http().get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status != 200:
                    log.info("metrics scrape failed node=%s status=%s", name, resp.status)
                    return None
                text = await resp.text()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("metrics scrape failed node=%s error=%s", name, exc)
            return None
        return parse_resource_metrics(text, time.time())

    async def _collect(self) -> dict[str, tuple[Scrape, Scrape]]:
        """node name -> (previous, current) scrapes usable for a CPU rate."""
        nodes = self.server.store.list("/nodes")
        out: dict[str, tuple[Scrape, Scrape]] = {}
        need_second: list[Obj] = []
        firsts: dict[str, Scrape] = {}
        results = await asyncio.gather(*(self._scrape_node(n) for n in nodes))
        for node, scrape in zip(nodes, results, strict=True):
            if scrape is None:
                continue
            name = node["metadata"]["name"]
            prev = self._last.get(name)
            self._last[name] = scrape
            if prev is not None and prev.node and scrape.node and scrape.node.at > prev.node.at:
                out[name] = (prev, scrape)
            else:
                need_second.append(node)
                firsts[name] = scrape
        if need_second:
            await asyncio.sleep(self.second_scrape_delay)
            again = await asyncio.gather(*(self._scrape_node(n) for n in need_second))
            for node, scrape in zip(need_second, again, strict=True):
                name = node["metadata"]["name"]
                if scrape is not None:
                    self._last[name] = scrape
                    out[name] = (firsts[name], scrape)
        return out

    @staticmethod
    def _rate(prev: Sample | None, cur: Sample) -> float:
        if prev is None or cur.at <= prev.at:
            return 0.0
        return max(0.0, (cur.cpu_seconds - prev.cpu_seconds) / (cur.at - prev.at) * 1e9)

    async def node_metrics(self) -> list[Obj]:
        data = await self._collect()
        items = []
        for node in self.server.store.list("/nodes"):
            name = node["metadata"]["name"]
            if name not in data:
                continue
            prev, cur = data[name]
            if cur.node is None:
                continue
            items.append(
                {
                    "metadata": {
                        "name": name,
                        "creationTimestamp": now(),
                        "labels": node["metadata"].get("labels") or {},
                    },
                    "timestamp": now(),
                    "window": f"{max(1, round(cur.node.at - (prev.node.at if prev.node else cur.node.at)))}s",
                    "usage": {"cpu": _cpu(self._rate(prev.node, cur.node)), "memory": _mem(cur.node.memory_bytes)},
                }
            )
        return items

    async def pod_metrics(self, ns: str | None) -> list[Obj]:
        data = await self._collect()
        pods: dict[tuple[str, str], list[Obj]] = {}
        for prev, cur in data.values():
            for (pns, pod, container), sample in cur.containers.items():
                if ns is not None and pns != ns:
                    continue
                usage = {
                    "cpu": _cpu(self._rate(prev.containers.get((pns, pod, container)), sample)),
                    "memory": _mem(sample.memory_bytes),
                }
                pods.setdefault((pns, pod), []).append({"name": container, "usage": usage})
        items: list[Obj] = []
        for (pns, pod), containers in sorted(pods.items()):
            stored = self.server.store.get("/pods", pns, pod)
            if stored is None:
                continue
            items.append(
                {
                    "metadata": {
                        "name": pod,
                        "namespace": pns,
                        "creationTimestamp": now(),
                        "labels": stored["metadata"].get("labels") or {},
                    },
                    "timestamp": now(),
                    "window": "1s",
                    "containers": sorted(containers, key=lambda c: c["name"]),
                }
            )
        return items

    async def list(self, rt: ResourceType, ns: str | None, label_selector: str) -> Obj:
        items = await (self.node_metrics() if rt.plural == "nodes" else self.pod_metrics(ns))
        if label_selector:
            from .selectors import SelectorError, parse_label_selector

            try:
                sel = parse_label_selector(label_selector)
            except SelectorError as exc:
                raise ApiError(400, "BadRequest", str(exc)) from None
            items = [i for i in items if sel.matches(i["metadata"].get("labels") or {})]
        return {"kind": rt.list_kind, "apiVersion": rt.group_version, "metadata": {}, "items": items}

    async def get(self, rt: ResourceType, ns: str, name: str) -> Obj:
        items = await (self.node_metrics() if rt.plural == "nodes" else self.pod_metrics(ns))
        for i in items:
            if i["metadata"]["name"] == name:
                return {"kind": rt.kind, "apiVersion": rt.group_version, **i}
        raise not_found(rt.group, rt.plural, name)
