"""gRPC transports to IOS-XE's gNXI server: the per-device channel pool, gNOI and gNMI clients."""

from cvk.transport.grpc.capability import CapabilityCache
from cvk.transport.grpc.config import GrpcConfig, grpc_config
from cvk.transport.grpc.errors import FileHashMismatch, GnoiDisabled, GrpcTimeout, ServiceUnsupported
from cvk.transport.grpc.gnmi import GnmiClient, Update, parse_path
from cvk.transport.grpc.gnoi import FileContent, GnoiClient, PingResult
from cvk.transport.grpc.paths import validate_path
from cvk.transport.grpc.pool import ChannelPool, WorkloadClass

__all__ = [
    "CapabilityCache",
    "ChannelPool",
    "FileContent",
    "FileHashMismatch",
    "GnmiClient",
    "GnoiClient",
    "GnoiDisabled",
    "GrpcConfig",
    "GrpcTimeout",
    "PingResult",
    "ServiceUnsupported",
    "Update",
    "WorkloadClass",
    "grpc_config",
    "parse_path",
    "validate_path",
]
