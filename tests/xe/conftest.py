"""Fixtures of the XE driver tests: the IOS-XE simulator and drivers pointed at it."""

from __future__ import annotations

from hack.iosxe_sim.fixtures import iosxe_sim, iosxe_sim_factory  # noqa: F401
