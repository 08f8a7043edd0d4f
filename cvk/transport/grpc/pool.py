"""Per-device gRPC channels, one per workload class, so a bulk transfer never delays a ping or a stream.

- CONTROL: unary gNOI RPCs (Time, Ping, Stat, Verify ...).
- TELEMETRY: gNMI Subscribe streams.
- BULK: File Get/Put and OS Install.

Each class has its own channel *and its own TCP connection* (``grpc.use_local_subchannel_pool``;
by default gRPC shares one connection between channels with the same target and options). All
channels use TLS unless the config says otherwise, HTTP/2 keepalives, and gRPC's reconnect with
exponential backoff (1 s doubling up to 30 s). ``rebuild()`` replaces every channel (after a reload or
a credential change) and calls the ``on_rebuild`` hooks (the capability cache clears itself there).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

import grpc
import grpc.aio

from cvk.transport.grpc.config import GrpcConfig

log = logging.getLogger("cvk.transport.grpc")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class WorkloadClass(enum.StrEnum):
    CONTROL = "control"
    TELEMETRY = "telemetry"
    BULK = "bulk"


def channel_options(config: GrpcConfig, cls: WorkloadClass) -> list[tuple[str, int | str]]:
    keepalive_ms = int(config.keepalive_seconds * 1000)
    opts: list[tuple[str, int | str]] = [
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.primary_user_agent", f"cisco-vk/{cls.value}"),
        ("grpc.keepalive_time_ms", keepalive_ms),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1 if cls == WorkloadClass.TELEMETRY else 0),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.initial_reconnect_backoff_ms", 1_000),
        ("grpc.min_reconnect_backoff_ms", 1_000),
        ("grpc.max_reconnect_backoff_ms", 30_000),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    if config.server_name:
        opts.append(("grpc.ssl_target_name_override", config.server_name))
    return opts


class ChannelPool:
    """The three channels of one device. Create and use inside one running event loop."""

    def __init__(self, config: GrpcConfig) -> None:
        self.config = config
        self._channels: dict[WorkloadClass, grpc.aio.Channel] = {}
        self.on_rebuild: list[Callable[[], None]] = []
        self.generation = 0

    @property
    def target(self) -> str:
        return self.config.target

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Per-RPC credentials as IOS-XE's gNXI reads them (lowercase ``username``/``password`` keys)."""
        return (("username", self.config.username), ("password", self.config.password))

    def _new_channel(self, cls: WorkloadClass) -> grpc.aio.Channel:
        cfg = self.config
        opts = channel_options(cfg, cls)
        if not cfg.tls:
            return grpc.aio.insecure_channel(cfg.target, options=opts)
        creds = grpc.ssl_channel_credentials(
            root_certificates=cfg.ca_pem,
            private_key=cfg.client_key_pem,
            certificate_chain=cfg.client_cert_pem,
        )
        return grpc.aio.secure_channel(cfg.target, creds, options=opts)

    def channel(self, cls: WorkloadClass) -> grpc.aio.Channel:
        ch = self._channels.get(cls)
        if ch is None:
            ch = self._channels[cls] = self._new_channel(cls)
            log.debug("grpc channel opened target=%s class=%s tls=%s", self.target, cls.value, self.config.tls)
        return ch

    async def rebuild(self, config: GrpcConfig | None = None) -> None:
        """Close every channel (new ones open on next use) and reset what depended on them."""
        if config is not None:
            self.config = config
        await self.close()
        self.generation += 1
        for hook in self.on_rebuild:
            hook()
        log.info("grpc channels rebuilt target=%s generation=%d", self.target, self.generation)

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for ch in channels.values():
            await ch.close()
