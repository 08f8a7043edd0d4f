"""Errors of the Kubernetes API client, one class per HTTP status the controllers act on.

Every failed API call raises an ``ApiError`` subclass carrying the server's ``Status`` object:
``status`` (HTTP code), ``reason`` (``NotFound``, ``Conflict``, ``AlreadyExists``...), ``message``
(the server's own text) and ``body`` (the decoded Status dict, or the raw text when it was not JSON).

``ApiUnavailable`` is raised when no answer came back at all (connection refused or reset, TLS
failure, timeout); its ``status`` is 0.

These are *Kubernetes* errors: a 404 from the API is ``NotFoundError`` and deliberately **not**
``cvk.errors.NotFound`` (which means "not found on the device"), as in virtual-kubelet's errdefs.
"""

from __future__ import annotations

import json
from typing import Any

from cvk.errors import CvkError


class ApiError(CvkError):
    """The API server answered with an error status (or, for ``ApiUnavailable``, did not answer)."""

    def __init__(self, status: int, reason: str, message: str, body: dict[str, Any] | str | None = None) -> None:
        super().__init__(f"{status} {reason}: {message}" if status else f"{reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.body = body
        self.retry_after: float | None = None  # seconds, from a Retry-After header


class NotFoundError(ApiError):
    """404: the object (or the resource type) does not exist."""


class ConflictError(ApiError):
    """409 Conflict: stale resourceVersion or failed UID precondition. Re-read and retry."""


class AlreadyExistsError(ApiError):
    """409 AlreadyExists: a create found an object with that name."""


class GoneError(ApiError):
    """410 Gone (Expired): the resourceVersion is too old; list again."""


class UnauthorizedError(ApiError):
    """401: the credentials were not accepted."""


class ForbiddenError(ApiError):
    """403: RBAC (or admission) refused the request."""


class InvalidError(ApiError):
    """422 Invalid: the object failed validation. ``causes`` lists ``{reason, message, field}``."""

    def __init__(self, status: int, reason: str, message: str, body: dict[str, Any] | str | None = None) -> None:
        super().__init__(status, reason, message, body)
        causes: list[dict[str, Any]] = []
        if isinstance(body, dict):
            details = body.get("details")
            if isinstance(details, dict) and isinstance(details.get("causes"), list):
                causes = [c for c in details["causes"] if isinstance(c, dict)]
        self.causes = causes


class ApiUnavailable(ApiError):
    """No answer from the API server: connection refused or reset, TLS failure, timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "Unavailable", message, None)


_MAX_TEXT = 500


def _status_fields(status: int, body: dict[str, Any] | str | None) -> tuple[str, str]:
    reason, message = "", ""
    if isinstance(body, dict):
        reason = str(body.get("reason") or "")
        message = str(body.get("message") or "")
    elif isinstance(body, str):
        message = body.strip()[:_MAX_TEXT]
    if not reason:
        reason = _DEFAULT_REASONS.get(status, "Unknown" if status < 500 else "InternalError")
    if not message:
        message = f"the server answered HTTP {status} without a message"
    return reason, message


_DEFAULT_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def decode_body(raw: bytes) -> dict[str, Any] | str:
    """The error body as a dict when it is JSON, else as text."""
    text = raw.decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def error_for(status: int, body: dict[str, Any] | str | None) -> ApiError:
    """The ``ApiError`` subclass for an HTTP error status and its (decoded) Status body."""
    reason, message = _status_fields(status, body)
    cls: type[ApiError]
    if status == 404:
        cls = NotFoundError
    elif status == 409:
        cls = AlreadyExistsError if reason == "AlreadyExists" else ConflictError
    elif status == 410:
        cls = GoneError
    elif status == 401:
        cls = UnauthorizedError
    elif status == 403:
        cls = ForbiddenError
    elif status == 422:
        cls = InvalidError
    else:
        cls = ApiError
    return cls(status, reason, message, body)
