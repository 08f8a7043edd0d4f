"""Fault switches of the FAKE device: what a test flips to make the device misbehave.

They live in the ``faults`` section of the state file (camelCase keys), so a test can change them
while ``cisco-vk run`` uses the device from another process (``update_faults``), and in Python
(``FakeDriver.set_faults``). Both paths write the file under its lock.
"""

from __future__ import annotations

import dataclasses
from typing import Any

_KEYS = {
    "unreachable": "unreachable",
    "auth_failure": "authFailure",
    "latency_seconds": "latencySeconds",
    "fail_installs": "failInstalls",
    "busy": "busy",
}


@dataclasses.dataclass(frozen=True)
class Faults:
    """``unreachable``: every call raises DeviceUnreachable. ``auth_failure``: every call raises
    DeviceAuthError. ``latency_seconds``: every call waits this long first (a slow device).
    ``fail_installs``: installs end in the IOx ERROR state (retried with back-off, like image pulls).
    ``busy``: create/update/delete raise DeviceBusy (409 lock-denied)."""

    unreachable: bool = False
    auth_failure: bool = False
    latency_seconds: float = 0.0
    fail_installs: bool = False
    busy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {json_key: getattr(self, attr) for attr, json_key in _KEYS.items()}

    @classmethod
    def from_dict(cls, data: Any, where: str = "faults") -> Faults:
        """Parse the ``faults`` section; raises ValueError naming the key for bad input."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"{where}: must be a mapping of fault switches, got {type(data).__name__}")
        by_json = {v: k for k, v in _KEYS.items()}
        values: dict[str, Any] = {}
        for key, value in data.items():
            attr = by_json.get(key)
            if attr is None:
                raise ValueError(f"{where}.{key}: unknown fault; known: {', '.join(sorted(by_json))}")
            if attr == "latency_seconds":
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{where}.{key}: must be a number of seconds >= 0, got {value!r}")
                values[attr] = float(value)
            else:
                if not isinstance(value, bool):
                    raise ValueError(f"{where}.{key}: must be true or false, got {value!r}")
                values[attr] = value
        return cls(**values)

    def replace(self, **changes: Any) -> Faults:
        unknown = set(changes) - set(_KEYS)
        if unknown:
            raise TypeError(f"unknown fault(s): {', '.join(sorted(unknown))}; known: {', '.join(_KEYS)}")
        return dataclasses.replace(self, **changes)
