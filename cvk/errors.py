"""Error types shared by every layer of cisco-vk.

The hierarchy mirrors virtual-kubelet's errdefs (NotFound, InvalidInput) and adds device errors that
say *what* failed, so that callers never have to guess from a string:

- ``NotFound``: the object (pod, app, file) does not exist. The kubelet API answers 404.
- ``InvalidInput``: the request is malformed. The kubelet API answers 400.
- ``NotSupported``: the driver or device cannot do this at all. The kubelet API answers 501.
- ``DeviceError`` and its subclasses: the device could not be asked or refused.

``is_not_found`` and friends walk ``__cause__`` chains the way errdefs walks ``Cause()``.
"""

from __future__ import annotations


class CvkError(Exception):
    """Base class of every error cisco-vk raises on purpose."""


class NotFound(CvkError):
    """The named object does not exist (on the device or in the API)."""


class InvalidInput(CvkError):
    """The request or the pod spec is malformed; retrying the same input will not help."""


class NotSupported(CvkError):
    """The driver or device cannot perform this operation (kubelet API answers 501)."""


class ConfigError(CvkError):
    """A configuration file or CiscoDevice spec is invalid.

    ``field`` is the dotted path of the offending field (``device.xe.networking.interface.type``),
    so the message printed to the operator can name it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class DeviceError(CvkError):
    """Something went wrong talking to the device."""


class DeviceUnreachable(DeviceError):
    """No answer: connection refused, timed out, DNS failure, TLS handshake failure."""


class DeviceAuthError(DeviceError):
    """The device refused our credentials (HTTP 401/403, SSH auth failure, gRPC UNAUTHENTICATED)."""


class DeviceRejected(DeviceError):
    """The device answered and refused the request; ``device_message`` is its own error text."""

    def __init__(self, message: str, *, status: int | None = None, device_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.device_message = device_message


class DeviceBusy(DeviceRejected):
    """The device is temporarily unable to act (409 lock-denied, install in progress). Retry later."""


def _chain(err: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__
    return seen


def is_not_found(err: BaseException | None) -> bool:
    return any(isinstance(e, NotFound) for e in _chain(err))


def is_invalid_input(err: BaseException | None) -> bool:
    return any(isinstance(e, InvalidInput) for e in _chain(err))


def is_not_supported(err: BaseException | None) -> bool:
    return any(isinstance(e, NotSupported) for e in _chain(err))


def is_unreachable(err: BaseException | None) -> bool:
    return any(isinstance(e, DeviceUnreachable) for e in _chain(err))
