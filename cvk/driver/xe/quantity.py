"""Kubernetes resource quantities ("250m", "1.5", "512Mi", "1G") as exact numbers."""

from __future__ import annotations

import decimal

from cvk.config.quantity import parse_quantity
from cvk.errors import InvalidInput


def parse(value: object, field: str) -> decimal.Decimal:
    """The quantity's value in base units (cores, bytes); InvalidInput naming ``field`` when malformed."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"{field}: {value!r} is not a quantity")
    try:
        number = parse_quantity(value)
    except ValueError as err:
        raise InvalidInput(f"{field}: {err}") from None
    if number < 0:
        raise InvalidInput(f"{field}: {value!r} must not be negative")
    return number


def to_millis(value: object, field: str) -> int:
    """CPU quantity in millicores, rounded up."""
    return int((parse(value, field) * 1000).to_integral_value(rounding=decimal.ROUND_CEILING))


def to_mib(value: object, field: str) -> int:
    """Byte quantity in MiB, rounded up."""
    return int((parse(value, field) / (2**20)).to_integral_value(rounding=decimal.ROUND_CEILING))
