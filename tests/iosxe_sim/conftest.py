from hack.iosxe_sim.fixtures import iosxe_sim, iosxe_sim_factory  # noqa: F401
