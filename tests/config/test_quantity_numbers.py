"""Quantities the CRD accepts as YAML numbers (int-or-string) load as the same quantities."""

from __future__ import annotations

from cvk.config.loader import parse_device_spec


def test_numeric_quantities_load_like_the_crd_accepts_them() -> None:
    spec = parse_device_spec({"driver": "FAKE", "address": "10.0.0.1", "username": "admin",
                              "resourceLimits": {"maxCPU": 2, "defaultCPU": 0.5, "defaultMemory": "1Gi"},
                              "fake": {"cpu": 4}}, root="spec")
    assert spec.resource_limits is not None
    assert spec.resource_limits.max_cpu == "2"
    assert spec.resource_limits.default_cpu == "0.5"
    assert spec.resource_limits.default_memory == "1Gi"
    assert spec.fake is not None and spec.fake.cpu == "4"
