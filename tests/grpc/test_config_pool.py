"""gNXI settings from spec and environment, insecure mode, and the per-class channel pool."""

from __future__ import annotations

import asyncio

import pytest

from cvk.config.spec import GnoiConfig
from cvk.errors import ConfigError
from cvk.transport.grpc import ChannelPool, GnoiClient, GrpcConfig, WorkloadClass, grpc_config
from cvk.transport.grpc.pool import channel_options
from hack.iosxe_sim.grpc_server import start_grpc
from hack.iosxe_sim.state import DeviceState


def test_defaults_tls_on_9339() -> None:
    cfg = grpc_config("10.0.0.5", "admin", "pw", env={})
    assert cfg is not None and cfg.tls and cfg.port == 9339 and cfg.target == "10.0.0.5:9339"
    assert "pw" not in repr(cfg)


def test_insecure_only_when_asked() -> None:
    cfg = grpc_config("10.0.0.5", "u", "p", env={"CISCO_VK_GNOI_INSECURE": "1"})
    assert cfg is not None and not cfg.tls and cfg.port == 50052
    cfg = grpc_config("10.0.0.5", "u", "p", spec=GnoiConfig(transport_security="plaintext"), env={})
    assert cfg is not None and not cfg.tls and cfg.port == 50052
    with pytest.raises(ConfigError) as e:
        grpc_config("h", "u", "p", spec=GnoiConfig(transport_security="tls"), env={"CISCO_VK_GNOI_INSECURE": "1"})
    assert e.value.field == "CISCO_VK_GNOI_INSECURE"


def test_port_precedence_and_disabled() -> None:
    spec = GnoiConfig(port=9400)
    assert grpc_config("h", "u", "p", spec=spec, env={}).port == 9400  # type: ignore[union-attr]
    assert grpc_config("h", "u", "p", spec=spec, env={"CISCO_VK_GNOI_PORT": "9500"}).port == 9500  # type: ignore[union-attr]
    assert grpc_config("h", "u", "p", env={"CISCO_VK_GNOI_DISABLED": "true"}) is None
    with pytest.raises(ConfigError) as e:
        grpc_config("h", "u", "p", env={"CISCO_VK_GNOI_PORT": "99999"})
    assert e.value.field == "CISCO_VK_GNOI_PORT"
    with pytest.raises(ConfigError, match="1/true or 0/false"):
        grpc_config("h", "u", "p", env={"CISCO_VK_GNOI_DISABLED": "maybe"})


def test_ipv6_target() -> None:
    assert GrpcConfig(host="2001:db8::1", port=9339, username="u", password="p").target == "[2001:db8::1]:9339"


def test_each_class_has_its_own_connection_and_keepalive() -> None:
    cfg = GrpcConfig(host="h", port=1, username="u", password="p")
    for cls in WorkloadClass:
        opts = dict(channel_options(cfg, cls))
        assert opts["grpc.use_local_subchannel_pool"] == 1  # no connection shared between classes
        assert opts["grpc.keepalive_time_ms"] == 30_000
        assert opts["grpc.max_reconnect_backoff_ms"] == 30_000
        assert opts["grpc.primary_user_agent"] == f"cisco-vk/{cls.value}"


async def test_pool_channels_are_distinct_and_rebuilt() -> None:
    pool = ChannelPool(GrpcConfig(host="127.0.0.1", port=1, username="u", password="p", tls=False))
    chans = {cls: pool.channel(cls) for cls in WorkloadClass}
    assert len({id(c) for c in chans.values()}) == 3
    assert pool.channel(WorkloadClass.CONTROL) is chans[WorkloadClass.CONTROL]
    cleared: list[bool] = []
    pool.on_rebuild.append(lambda: cleared.append(True))
    await pool.rebuild()
    assert cleared == [True] and pool.generation == 1
    assert pool.channel(WorkloadClass.CONTROL) is not chans[WorkloadClass.CONTROL]
    await pool.close()


async def test_insecure_server_and_client() -> None:
    state = DeviceState("C8000V")
    state.bind_loop(asyncio.get_running_loop())
    handle = await start_grpc(state, "127.0.0.1", 0, cert_pem=None, key_pem=None, username="u", password="p")
    client = GnoiClient(ChannelPool(GrpcConfig(host="127.0.0.1", port=handle.port, username="u", password="p",
                                               tls=False)))
    try:
        assert await client.time() > 0
    finally:
        await client.pool.close()
        await handle.stop()
