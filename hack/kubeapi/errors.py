"""API errors rendered as meta/v1 Status objects, with the reasons and wording of kube-apiserver."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered to the client as a Status object."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            out["details"] = self.details
        return out


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": kind}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    return d


def qualified(group: str, plural: str) -> str:
    """The "resource.group" form the real server uses in messages (``deployments.apps``)."""
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(group, plural)} "{name}" not found', _details(name, group, plural))


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(group, plural)} "{name}" already exists',
        _details(name, group, plural),
    )


def conflict(group: str, plural: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(group, plural)} "{name}": {why}',
        _details(name, group, plural),
    )


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(message: str, group: str = "", plural: str = "", name: str = "") -> ApiError:
    return ApiError(403, "Forbidden", message, _details(name, group, plural) if plural else None)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        f'application/json, application/yaml (got "{content_type}")',
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", message)


class FieldProblem:
    """One entry of a 422 Status's details.causes."""

    __slots__ = ("field", "message", "type")

    def __init__(self, field: str, type_: str, message: str) -> None:
        self.field = field
        self.type = type_
        self.message = message

    def render(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def invalid(kind: str, group: str, name: str, problems: list[FieldProblem]) -> ApiError:
    """422 Invalid, worded like kube-apiserver: ``Pod "x" is invalid: spec.containers: Required value``."""
    qkind = f"{kind}.{group}" if group else kind
    rendered = [p.render() for p in problems]
    tail = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    message = f'{qkind} "{name}" is invalid: {tail}'
    details: dict[str, Any] = _details(name, group, kind)
    details["causes"] = [{"reason": p.type, "message": p.message, "field": p.field} for p in problems]
    return ApiError(422, "Invalid", message, details)
