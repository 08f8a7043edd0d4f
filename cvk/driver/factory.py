"""Build the driver a DeviceSpec asks for."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from cvk.config.spec import RESERVED_DRIVERS, DeviceSpec, DriverName
from cvk.driver.base import Driver
from cvk.errors import ConfigError


def check_driver(spec: DeviceSpec) -> None:
    """Raise the ConfigError ``new_driver`` would raise for a driver that cannot run (reserved or
    unknown), without building anything: ``cisco-vk run`` calls it before it starts."""
    if spec.driver in (DriverName.FAKE, DriverName.XE):
        return
    if spec.driver in RESERVED_DRIVERS:
        raise ConfigError("device.driver",
                          f"driver {spec.driver} is reserved and not implemented; use XE or FAKE")
    raise ConfigError("device.driver", f"unknown driver {spec.driver!r}; use XE or FAKE")


def new_driver(spec: DeviceSpec) -> Driver:
    """FAKE and XE are implemented; XR, NXOS and OPENCONFIG are refused with a clear ConfigError."""
    check_driver(spec)
    if spec.driver == DriverName.FAKE:
        from cvk.driver.fake import FakeDriver

        return FakeDriver(spec)
    # XE. Imported lazily: FAKE users need none of the XE transports.
    xe = importlib.import_module("cvk.driver.xe.driver")
    xe_driver: Callable[[DeviceSpec], Driver] = xe.XEDriver
    return xe_driver(spec)
