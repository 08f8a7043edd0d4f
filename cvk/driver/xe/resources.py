"""Container resources → the app's ``application-resource-profile`` (profile ``custom``).

Mapping (one IOx CPU unit = one millicore, so the node's CPU capacity, reported in the same units,
and the scheduler's accounting agree):

- ``cpu-units`` ← requests.cpu (else limits.cpu, else ``resourceLimits.defaultCPU``, else 1000);
- ``memory-capacity-mb`` ← requests.memory in MiB (else limits.memory, else ``defaultMemory``,
  else 512);
- ``disk-size-mb`` ← requests["ephemeral-storage"] in MiB (``storage`` accepted too; else the
  limit, else ``defaultStorage``, else 1024);
- ``vcpu`` ← limits.cpu rounded up to whole CPUs (else the CPU request), at least 1.

Device ``resourceLimits.default*`` apply only where the pod sets nothing; ``max*`` are upper bounds.
Every value is checked against the YANG ranges before anything is sent (InvalidInput names the
field and the allowed range).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from cvk.config.spec import ResourceLimits
from cvk.driver.xe import quantity
from cvk.errors import InvalidInput

CPU_UNITS_MAX = 20000  # Cisco-IOS-XE-app-hosting-cfg cpu-units range 0..20000
MEMORY_MB_MAX = 16384  # memory-capacity-mb range 0..16384
DISK_MB_MAX = 65535  # disk-size-mb range 0..65535
VCPU_MAX = 65535  # vcpu uint16

DEFAULT_CPU_UNITS = 1000
DEFAULT_MEMORY_MB = 512
DEFAULT_DISK_MB = 1024
PROFILE_NAME = "custom"


@dataclasses.dataclass(frozen=True)
class Profile:
    cpu_units: int
    memory_mb: int
    disk_mb: int
    vcpu: int

    def to_yang(self) -> dict[str, Any]:
        return {
            "profile-name": PROFILE_NAME,
            "cpu-units": self.cpu_units,
            "memory-capacity-mb": self.memory_mb,
            "disk-size-mb": self.disk_mb,
            "vcpu": self.vcpu,
        }


def _pick(
    requests: Mapping[str, Any], limits: Mapping[str, Any], keys: tuple[str, ...], prefix: str
) -> tuple[Any, str] | None:
    for source, name in ((requests, "requests"), (limits, "limits")):
        for key in keys:
            if source.get(key) not in (None, ""):
                return source[key], f"{prefix}.{name}.{key}"
    return None


def profile_for(container: Mapping[str, Any], index: int, limits: ResourceLimits | None) -> Profile:
    """The resource profile of ``spec.containers[index]``; InvalidInput when out of range."""
    res = container.get("resources") or {}
    requests = res.get("requests") or {}
    lims = res.get("limits") or {}
    prefix = f"spec.containers[{index}].resources"
    rl = limits or ResourceLimits()

    def amount(
        keys: tuple[str, ...], default: str | None, default_field: str, fallback: int, conv: str
    ) -> tuple[int, str]:
        chosen = _pick(requests, lims, keys, prefix)
        if chosen is None and default:
            chosen = (default, f"resourceLimits.{default_field}")
        if chosen is None:
            return fallback, "built-in default"
        value, field = chosen
        return (quantity.to_millis(value, field) if conv == "cpu" else quantity.to_mib(value, field)), field

    cpu, cpu_field = amount(("cpu",), rl.default_cpu, "defaultCPU", DEFAULT_CPU_UNITS, "cpu")
    mem, mem_field = amount(("memory",), rl.default_memory, "defaultMemory", DEFAULT_MEMORY_MB, "mem")
    disk, disk_field = amount(
        ("ephemeral-storage", "storage"), rl.default_storage, "defaultStorage", DEFAULT_DISK_MB, "mem"
    )
    vcpu_src = lims.get("cpu") if lims.get("cpu") not in (None, "") else None
    vcpu = (
        max(1, math.ceil(quantity.to_millis(vcpu_src, f"{prefix}.limits.cpu") / 1000))
        if vcpu_src is not None
        else max(1, math.ceil(cpu / 1000))
    )

    _check_max(cpu, rl.max_cpu, "maxCPU", cpu_field, "cpu", "m")
    _check_max(mem, rl.max_memory, "maxMemory", mem_field, "mem", "Mi")
    _check_max(disk, rl.max_storage, "maxStorage", disk_field, "mem", "Mi")
    _check_range(cpu, CPU_UNITS_MAX, cpu_field, "CPU", "m (millicores = IOx CPU units)", "cpu-units")
    _check_range(mem, MEMORY_MB_MAX, mem_field, "memory", "Mi", "memory-capacity-mb")
    _check_range(disk, DISK_MB_MAX, disk_field, "storage", "Mi", "disk-size-mb")
    _check_range(vcpu, VCPU_MAX, f"{prefix}.limits.cpu", "vCPU count", " vCPUs", "vcpu")
    return Profile(cpu_units=cpu, memory_mb=mem, disk_mb=disk, vcpu=vcpu)


def _check_max(value: int, maximum: str | None, max_field: str, field: str, conv: str, unit: str) -> None:
    if not maximum:
        return
    limit = (
        quantity.to_millis(maximum, f"resourceLimits.{max_field}")
        if conv == "cpu"
        else quantity.to_mib(maximum, f"resourceLimits.{max_field}")
    )
    if value > limit:
        raise InvalidInput(
            f"{field}: {value}{unit} exceeds the device's resourceLimits.{max_field} ({maximum}); "
            "lower the request or raise the limit"
        )


def _check_range(value: int, maximum: int, field: str, what: str, unit: str, leaf: str) -> None:
    if value > maximum:
        raise InvalidInput(
            f"{field}: {what} {value}{unit} is above what IOS-XE app-hosting accepts "
            f"({leaf} at most {maximum}{unit}); lower it"
        )
