"""The IOS-XE simulator fixtures (with its gRPC and SSH front ends on request) and the API emulator."""

from __future__ import annotations

from hack.iosxe_sim.fixtures import iosxe_sim, iosxe_sim_factory  # noqa: F401
from hack.kubeapi.fixtures import kubeapi  # noqa: F401
