"""The device as a node: capacity from IOx resources, node facts from hardware data, usage stats.

- capacity: CPU = the IOx CPU quota in units (one unit = one millicore, the same unit pods request
  in), memory and ephemeral storage = the IOx memory and persist-disk quotas, pods = ``maxPods``;
- allocatable: what the device has available plus what cisco-vk's own apps hold (the scheduler
  subtracts our pods itself), so apps of other owners reduce it;
- node info and labels/annotations from ``device-hardware-data`` (version, serial, product ID,
  boot time) and the device's hostname from app-hosting notifications;
- stats: per-app CPU (``actual-application-util`` percent of the reserved units) and memory
  (``memory-used``, KB unless a unit is given); cumulative CPU time integrated between reads.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from cvk.driver.base import ContainerStats, NodeResources, NodeStats, PodStats
from cvk.driver.xe.oper import RUNNING, Hardware
from cvk.driver.xe.records import PodRecord
from cvk.driver.xe.snapshot import Snapshot

_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]")
_MEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?\s*$", re.I)


def label_value(value: str) -> str:
    """A Kubernetes label value (63 characters of [A-Za-z0-9._-], alphanumeric at both ends)."""
    return _LABEL_VALUE.sub("_", value)[:63].strip("._-")


def memory_bytes(text: str) -> int:
    """``memory-used`` as bytes: a bare number is KB; ``K``/``M``/``G`` (with or without ``B``) honoured."""
    m = _MEM.match(text or "")
    if not m:
        return 0
    scale = {"": 1024, "K": 1024, "M": 2**20, "G": 2**30}[m.group(2).upper()]
    return int(float(m.group(1)) * scale)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def node_resources_from(snap: Snapshot, hw: Hardware | None, *, max_pods: int, ours: set[str]) -> NodeResources:
    res = snap.oper.resources
    pods = str(max_pods)
    capacity: dict[str, str] = {"pods": pods}
    allocatable: dict[str, str] = {"pods": pods}
    if res is not None:
        mine = [a for a in snap.oper.apps.values() if a.name in ours]
        used_cpu = sum(a.cpu_units for a in mine)
        used_mem = sum(a.memory_mb for a in mine)
        used_disk = sum(a.disk_mb for a in mine)
        capacity.update(
            {
                "cpu": f"{res.cpu_quota_units}m",
                "memory": f"{res.memory_quota_mb}Mi",
                "ephemeral-storage": f"{res.storage_quota_mb}Mi",
            }
        )
        allocatable.update(
            {
                "cpu": f"{min(res.cpu_quota_units, res.cpu_available_units + used_cpu)}m",
                "memory": f"{min(res.memory_quota_mb, res.memory_available_mb + used_mem)}Mi",
                "ephemeral-storage": f"{min(res.storage_quota_mb, res.storage_available_mb + used_disk)}Mi",
            }
        )
    node_info: dict[str, str] = {"operatingSystem": "linux"}
    labels: dict[str, str] = {"cisco.vk/driver": "XE"}
    annotations: dict[str, str] = {}
    hostname = next((n.host_name for n in reversed(snap.oper.notifications) if n.host_name), "")
    if hostname:
        annotations["cisco.vk/hostname"] = hostname
    if hw is not None:
        if hw.version:
            node_info["kernelVersion"] = hw.version
            node_info["containerRuntimeVersion"] = f"iox://{hw.version}"
            labels["cisco.vk/ios-xe-version"] = label_value(hw.version)
        if hw.software_version:
            node_info["osImage"] = hw.software_version.splitlines()[0][:200]
            annotations["cisco.vk/software-version"] = hw.software_version
        if hw.serial:
            node_info["machineID"] = hw.serial
            node_info["systemUUID"] = hw.serial
            annotations["cisco.vk/serial-number"] = hw.serial
        if hw.part_number:
            labels["cisco.vk/model"] = label_value(hw.part_number)
            annotations["cisco.vk/product-id"] = hw.part_number
        if hw.boot_time:
            node_info["bootID"] = hw.boot_time
    if snap.oper.iox_enabled is not None:
        annotations["cisco.vk/iox-enabled"] = str(snap.oper.iox_enabled).lower()
    return NodeResources(
        capacity=capacity, allocatable=allocatable, node_info=node_info, labels=labels, annotations=annotations
    )


class UsageMeter:
    """Turns app utilisation into NodeStats, integrating CPU time per app between reads."""

    def __init__(self) -> None:
        self.started = datetime.now(UTC)
        self._cpu: dict[str, tuple[float, float]] = {}  # app -> (monotonic, core-nanoseconds)

    def stats(self, snap: Snapshot, records: list[PodRecord]) -> NodeStats:
        now = time.monotonic()
        pods: list[PodStats] = []
        total_cpu = total_cpu_s = total_mem = 0
        for rec in records:
            containers = []
            for c in rec.containers:
                app = snap.oper.apps.get(c.app_id)
                if app is None or app.state != RUNNING:
                    self._cpu.pop(c.app_id, None)
                    continue
                nano_cores = int(app.cpu_util * app.cpu_units * 1_000_000 / 100)
                last_t, acc = self._cpu.get(c.app_id, (now, 0.0))
                acc += nano_cores * (now - last_t)
                self._cpu[c.app_id] = (now, acc)
                mem = memory_bytes(app.memory_used)
                containers.append(
                    ContainerStats(
                        name=c.name,
                        start_time=parse_time(c.started_at) or self.started,
                        cpu_usage_nano_cores=nano_cores,
                        cpu_usage_core_nano_seconds=int(acc),
                        memory_working_set_bytes=mem,
                        memory_usage_bytes=mem,
                    )
                )
                total_cpu += nano_cores
                total_cpu_s += int(acc)
                total_mem += mem
            if containers:
                pods.append(
                    PodStats(
                        namespace=rec.namespace,
                        name=rec.name,
                        uid=rec.uid,
                        start_time=parse_time(rec.start_time) or self.started,
                        containers=containers,
                    )
                )
        res = snap.oper.resources
        return NodeStats(
            start_time=self.started,
            cpu_usage_nano_cores=total_cpu,
            cpu_usage_core_nano_seconds=total_cpu_s,
            memory_working_set_bytes=total_mem,
            memory_available_bytes=res.memory_available_mb * 2**20 if res is not None else 0,
            pods=pods,
        )
