"""Map cisco-vk errors to kubelet API status codes (virtual-kubelet's ``handleError`` plus 501/503).

NotFound → 404, InvalidInput → 400, NotSupported → 501, DeviceUnreachable → 503, anything else → 500.
The body is the error text, as in virtual-kubelet.
"""

from __future__ import annotations

from aiohttp import web

from cvk.errors import is_invalid_input, is_not_found, is_not_supported, is_unreachable


def status_for(err: BaseException) -> int:
    if is_not_found(err):
        return 404
    if is_invalid_input(err):
        return 400
    if is_not_supported(err):
        return 501
    if is_unreachable(err):
        return 503
    return 500


def message_for(err: BaseException) -> str:
    text = str(err)
    return text if text else type(err).__name__


def error_response(err: BaseException, prefix: str = "") -> web.Response:
    """A plain-text response for ``err``; ``prefix`` says what was being done."""
    text = message_for(err)
    if prefix:
        text = f"{prefix}: {text}"
    return web.Response(status=status_for(err), text=text + "\n")
