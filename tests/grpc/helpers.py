"""Shared helpers of the gRPC tests: clients pointed at a simulator."""

from __future__ import annotations

from pathlib import Path

from cvk.transport.grpc import ChannelPool, GnoiClient, GrpcConfig
from hack.iosxe_sim.fixtures import SimHandle


def grpc_config_for(sim: SimHandle, **overrides: object) -> GrpcConfig:
    assert sim.grpc_port is not None
    opts: dict[str, object] = {
        "host": "127.0.0.1",
        "port": sim.grpc_port,
        "username": sim.username,
        "password": sim.password,
        "tls": True,
        "ca_pem": Path(sim.ca_file).read_bytes(),
        "unary_timeout": 10.0,
    }
    opts.update(overrides)
    return GrpcConfig(**opts)  # type: ignore[arg-type]


def gnoi_for(sim: SimHandle, **overrides: object) -> GnoiClient:
    return GnoiClient(ChannelPool(grpc_config_for(sim, **overrides)))
