"""Kubernetes resource quantities ("500m", "128Mi", "2") as exact numbers: the one parser of cisco-vk."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIX = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
    "P": Decimal(10**15), "E": Decimal(10**18),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}
_RE = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Z]*)$")


def parse_quantity(text: str | int | float) -> Decimal:
    """The value of a quantity; raises ValueError with the reason for malformed input."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return Decimal(str(text))
    match = _RE.match(str(text).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (examples: 500m, 2, 128Mi, 1Gi)")
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    except InvalidOperation as err:  # pragma: no cover - the regex admits only valid numbers
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from err
