"""RFC 8040 ``ietf-restconf:errors`` documents the way IOS-XE writes them."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JSON_TYPE = "application/yang-data+json"


class RestconfError(Exception):
    """An error answer: HTTP status plus one ``error`` entry."""

    def __init__(
        self,
        status: int,
        tag: str,
        message: str,
        *,
        path: str = "",
        error_type: str = "application",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.tag = tag
        self.message = message
        self.path = path
        self.error_type = error_type
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return errors_body([self])

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=json.dumps(self.body(), indent=2).encode(),
            content_type=JSON_TYPE,
            headers=self.headers,
        )


def errors_body(errs: list[RestconfError]) -> dict[str, Any]:
    out = []
    for e in errs:
        item: dict[str, Any] = {"error-type": e.error_type, "error-tag": e.tag}
        if e.path:
            item["error-path"] = e.path
        item["error-message"] = e.message
        out.append(item)
    return {"ietf-restconf:errors": {"error": out}}


def not_found(path: str = "") -> RestconfError:
    # IOS-XE answers a missing resource with 404 and error-tag invalid-value, "uri keypath not found".
    return RestconfError(404, "invalid-value", "uri keypath not found", path=path)
