"""Where and how to reach a device's gNXI (gNMI + gNOI) server, from the spec and the environment.

Port: ``CISCO_VK_GNOI_PORT`` wins, then ``spec.gnoi.port``, then 9339 with TLS or 50052 insecure.
TLS is the default; the insecure listener is used only with ``CISCO_VK_GNOI_INSECURE=1`` or
``spec.gnoi.transportSecurity: plaintext``. ``CISCO_VK_GNOI_DISABLED=1`` means no gNXI client at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from cvk.config.spec import GnoiConfig
from cvk.errors import ConfigError

TLS_PORT = 9339
INSECURE_PORT = 50052
ENV_DISABLED = "CISCO_VK_GNOI_DISABLED"
ENV_INSECURE = "CISCO_VK_GNOI_INSECURE"
ENV_PORT = "CISCO_VK_GNOI_PORT"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True)
class GrpcConfig:
    """One device's gNXI endpoint and credentials (sent as per-RPC metadata, like gnoic and IOS-XE expect)."""

    host: str
    port: int
    username: str
    password: str = dataclasses.field(repr=False)
    tls: bool = True
    ca_pem: bytes | None = dataclasses.field(default=None, repr=False)  # None: system roots
    client_cert_pem: bytes | None = dataclasses.field(default=None, repr=False)
    client_key_pem: bytes | None = dataclasses.field(default=None, repr=False)
    server_name: str | None = None  # TLS name override (the certificate's name when dialing by IP)
    unary_timeout: float = 30.0
    transfer_timeout: float = 600.0
    keepalive_seconds: float = 30.0
    capability_ttl: float = 600.0

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{host}:{self.port}"


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"must be 1/true or 0/false, got {env[name]!r}")


def grpc_config(
    host: str,
    username: str,
    password: str,
    *,
    spec: GnoiConfig | None = None,
    env: Mapping[str, str],
    ca_pem: bytes | None = None,
    server_name: str | None = None,
) -> GrpcConfig | None:
    """The device's gNXI settings, or None when ``CISCO_VK_GNOI_DISABLED`` is set."""
    if _flag(env, ENV_DISABLED):
        return None
    insecure = _flag(env, ENV_INSECURE) or (spec is not None and spec.transport_security == "plaintext")
    if spec is not None and spec.transport_security == "tls" and _flag(env, ENV_INSECURE):
        raise ConfigError(ENV_INSECURE, "the device's spec.gnoi.transportSecurity is tls; unset the variable")
    port: int | None = None
    raw = env.get(ENV_PORT, "").strip()
    if raw:
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise ConfigError(ENV_PORT, f"must be a port number 1..65535, got {raw!r}")
        port = int(raw)
    elif spec is not None and spec.port is not None:
        port = spec.port
    if port is None:
        port = INSECURE_PORT if insecure else TLS_PORT
    return GrpcConfig(
        host=host,
        port=port,
        username=username,
        password=password,
        tls=not insecure,
        ca_pem=ca_pem,
        server_name=server_name,
    )
