"""The IOS-XE simulator fixtures (with its gRPC and SSH front ends on request)."""

from __future__ import annotations

from hack.iosxe_sim.fixtures import iosxe_sim, iosxe_sim_factory  # noqa: F401
