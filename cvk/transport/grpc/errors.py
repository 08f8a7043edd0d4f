"""gRPC status codes as cisco-vk errors (ops-telemetry 1.7), and the service-unsupported error."""

from __future__ import annotations

import grpc

from cvk.errors import (
    DeviceAuthError,
    DeviceBusy,
    DeviceError,
    DeviceRejected,
    DeviceUnreachable,
    InvalidInput,
    NotFound,
    NotSupported,
)

MAX_MESSAGE = 1024


class ServiceUnsupported(NotSupported):
    """The device answered UNIMPLEMENTED for this gNOI service (cached; later calls fail at once)."""

    reason = "ServiceUnsupported"

    def __init__(self, service: str, target: str, detail: str = "") -> None:
        msg = f"gNOI {service} service is not implemented by {target}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)
        self.service = service
        self.target = target


class GnoiDisabled(NotSupported):
    reason = "GNOIDisabled"


class GrpcTimeout(DeviceUnreachable):
    """DEADLINE_EXCEEDED. For a mutating RPC the outcome on the device is unknown."""

    reason = "Timeout"


class FileHashMismatch(DeviceError):
    reason = "FileHashMismatch"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def map_rpc_error(err: grpc.RpcError, what: str, target: str) -> Exception:
    """A cvk error for a failed RPC (``what`` names the RPC, e.g. ``File.Get bootflash:/x``)."""
    code: grpc.StatusCode = err.code()
    detail = _clip(str(err.details() or ""))
    text = f"{what} on {target}: {code.name}: {detail}" if detail else f"{what} on {target}: {code.name}"
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return DeviceAuthError(f"{text} (check the gNXI credentials)")
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return DeviceAuthError(f"{text} (AAA refused the user)")
    if code == grpc.StatusCode.UNAVAILABLE:
        return DeviceUnreachable(text)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return GrpcTimeout(text)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(text)
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE):
        return InvalidInput(text)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return NotSupported(text)
    if code in (grpc.StatusCode.ABORTED, grpc.StatusCode.RESOURCE_EXHAUSTED) and "in progress" in detail.lower():
        return DeviceBusy(text, device_message=detail)
    return DeviceRejected(text, device_message=detail)
