"""Check recorded RESTCONF requests against the YANG models (for "every request the driver sent")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from hack.yang.validate import validate


def request_problems(rec: dict[str, Any]) -> list[str]:
    """YANG problems of one recorded request (``SimHandle.requests()`` / ``SimControl.requests()``)."""
    method = str(rec.get("method", "")).upper()
    path = urlsplit(str(rec.get("path", ""))).path
    body = rec.get("body", "")
    if method not in ("POST", "PUT", "PATCH") or body == "":
        return []
    if not isinstance(body, dict):
        return [f"body is not a JSON object: {str(body)[:80]!r}"]
    if path.startswith("/restconf/operations/"):
        return validate(path[len("/restconf/operations/") :], body, "rpc-input")
    if path.startswith("/restconf/data"):
        target = path[len("/restconf/data") :].strip("/")
        if method == "POST" or not target:
            return validate(target, body)
        parent = target.rsplit("/", 1)[0] if "/" in target else ""
        return validate(parent, body)
    return []


def invalid_requests(records: Iterable[dict[str, Any]]) -> list[str]:
    """``"METHOD path: problem"`` for every recorded request whose body breaks the models."""
    out = []
    for rec in records:
        for problem in request_problems(rec):
            out.append(f"{rec.get('method')} {rec.get('path')}: {problem}")
    return out
