"""Kubernetes resource quantities ("250m", "1.5", "512Mi", "1G") as exact numbers."""

from __future__ import annotations

import decimal
import re

from cvk.errors import InvalidInput

_SUFFIX = {
    "": decimal.Decimal(1),
    "n": decimal.Decimal("1e-9"),
    "u": decimal.Decimal("1e-6"),
    "m": decimal.Decimal("1e-3"),
    "k": decimal.Decimal(10) ** 3,
    "M": decimal.Decimal(10) ** 6,
    "G": decimal.Decimal(10) ** 9,
    "T": decimal.Decimal(10) ** 12,
    "P": decimal.Decimal(10) ** 15,
    "E": decimal.Decimal(10) ** 18,
    "Ki": decimal.Decimal(2) ** 10,
    "Mi": decimal.Decimal(2) ** 20,
    "Gi": decimal.Decimal(2) ** 30,
    "Ti": decimal.Decimal(2) ** 40,
    "Pi": decimal.Decimal(2) ** 50,
    "Ei": decimal.Decimal(2) ** 60,
}
_RE = re.compile(
    r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?\s*$"
)


def parse(value: object, field: str) -> decimal.Decimal:
    """The quantity's value in base units (cores, bytes); InvalidInput naming ``field`` when malformed."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: {value!r} is not a quantity")
    if isinstance(value, int | float):
        return decimal.Decimal(str(value))
    m = _RE.match(str(value))
    if not m:
        raise InvalidInput(f"{field}: {value!r} is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 1Gi)")
    number = decimal.Decimal(m.group(1))
    if number < 0:
        raise InvalidInput(f"{field}: {value!r} must not be negative")
    return number * _SUFFIX[m.group(2) or ""]


def to_millis(value: object, field: str) -> int:
    """CPU quantity in millicores, rounded up."""
    return int((parse(value, field) * 1000).to_integral_value(rounding=decimal.ROUND_CEILING))


def to_mib(value: object, field: str) -> int:
    """Byte quantity in MiB, rounded up."""
    return int((parse(value, field) / (2**20)).to_integral_value(rounding=decimal.ROUND_CEILING))
