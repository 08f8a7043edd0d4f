"""The CiscoDevice spec as typed Python objects.

One source of truth for three uses, like the Go original's DeviceSpec: the config file read by
``cisco-vk run`` (``device: <spec>`` or a whole CiscoDevice manifest), the CRD schema generated for
deploy/ (controller), and the drivers' input. JSON keys are camelCase; Python attributes are
snake_case. The loader (cvk/config/loader.py) builds these from YAML and validates them; these
classes hold no parsing logic.
"""

from __future__ import annotations

import dataclasses
import enum


class DriverName(enum.StrEnum):
    XE = "XE"
    FAKE = "FAKE"
    # Reserved: accepted by the schema so the error can be explicit, refused at start.
    XR = "XR"
    NXOS = "NXOS"
    OPENCONFIG = "OPENCONFIG"


RESERVED_DRIVERS = frozenset({DriverName.XR, DriverName.NXOS, DriverName.OPENCONFIG})


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class InterfaceType(enum.StrEnum):
    VIRTUAL_PORT_GROUP = "VirtualPortGroup"
    APP_GIGABIT_ETHERNET = "AppGigabitEthernet"
    MANAGEMENT = "Management"


class AppGigMode(enum.StrEnum):
    ACCESS = "access"
    TRUNK = "trunk"


@dataclasses.dataclass
class LocalObjectRef:
    """A reference to an object (a Secret) in the CiscoDevice's namespace."""

    name: str


@dataclasses.dataclass
class TLSConfig:
    enabled: bool = True  # HTTPS by default; plain HTTP only when asked (tls.enabled: false)
    insecure_skip_verify: bool = False
    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None
    # CRD mode: Secrets the controller mounts into the cisco-vk pod (ca.crt; tls.crt + tls.key).
    ca_secret_ref: LocalObjectRef | None = None
    client_cert_secret_ref: LocalObjectRef | None = None


@dataclasses.dataclass
class SecretRef:
    name: str
    key: str = "password"


@dataclasses.dataclass
class GnoiConfig:
    port: int | None = None  # None: 9339 with TLS, 50052 plaintext
    transport_security: str = "auto"  # auto | tls | plaintext


@dataclasses.dataclass
class KnownHostsSecretRef:
    """A Secret in the CiscoDevice's namespace holding the device's SSH host key (ssh-keyscan output)."""

    name: str
    key: str = "known_hosts"


@dataclasses.dataclass
class SSHConfig:
    """SSH CLI access to the device (kubectl exec/attach, and logs where gNOI File is missing).

    The login is the device's ``username`` and password. Host keys are checked against
    ``known_hosts_file`` (a path inside the cisco-vk pod; the controller mounts
    ``known_hosts_secret_ref`` and sets it) unless ``insecure_skip_host_key_check`` (lab use only).
    """

    port: int = 22
    known_hosts_file: str | None = None
    known_hosts_secret_ref: KnownHostsSecretRef | None = None
    insecure_skip_host_key_check: bool = False


@dataclasses.dataclass
class ResourceLimits:
    """Kubernetes quantities as strings. ``default*`` apply only where the pod sets no request."""

    default_cpu: str | None = None
    default_memory: str | None = None
    default_storage: str | None = None
    max_cpu: str | None = None
    max_memory: str | None = None
    max_storage: str | None = None
    others: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class VirtualPortGroupIf:
    dhcp: bool = True
    interface: str = "0"  # VirtualPortGroup number as a string, "0".."3" on most platforms
    guest_interface: int = 0  # 0..3


@dataclasses.dataclass
class VlanIf:
    dhcp: bool = True
    vlan: int = 0  # 0..4094, 0 = no VLAN rule
    guest_interface: int | None = None
    mac_forwarding_enabled: bool = False
    multicast_enabled: bool = False
    mirror_enabled: bool = False


@dataclasses.dataclass
class AppGigabitEthernetIf:
    mode: AppGigMode
    dhcp: bool = True
    guest_interface: int = 0
    vlan_if: VlanIf | None = None


@dataclasses.dataclass
class ManagementIf:
    dhcp: bool = True
    guest_interface: int = 0


@dataclasses.dataclass
class XEInterface:
    """Tagged union: exactly one of the three blocks is set and matches ``type``."""

    type: InterfaceType
    virtual_port_group: VirtualPortGroupIf | None = None
    app_gigabit_ethernet: AppGigabitEthernetIf | None = None
    management: ManagementIf | None = None


@dataclasses.dataclass
class XENetworking:
    interface: XEInterface | None = None  # None: VirtualPortGroup 0 with DHCP


@dataclasses.dataclass
class XEConfig:
    networking: XENetworking = dataclasses.field(default_factory=XENetworking)


@dataclasses.dataclass
class FakeConfig:
    """FAKE driver settings (our addition; not in the Go original)."""

    state_file: str | None = None  # default: $XDG_STATE_HOME/cisco-vk/fake-<address>.json
    install_seconds: float = 0.5
    activate_seconds: float = 0.3
    start_seconds: float = 0.2
    log_interval_seconds: float = 5.0  # a heartbeat log line per running container every N seconds
    restart_backoff_seconds: float = 1.0  # first restart delay; doubles per restart, capped at 30x
    cpu: str = "8"
    memory: str = "16Gi"
    storage: str = "100Gi"


@dataclasses.dataclass
class Taint:
    key: str
    effect: str  # NoSchedule | PreferNoSchedule | NoExecute
    value: str | None = None


@dataclasses.dataclass
class DeviceSpec:
    driver: DriverName
    address: str
    username: str
    port: int | None = None  # None: 443 with TLS, 80 without
    password: str | None = dataclasses.field(default=None, repr=False)
    password_file: str | None = None  # path of a file holding the password (a mounted Secret)
    credential_secret_ref: SecretRef | None = None
    node_name: str | None = None
    tls: TLSConfig = dataclasses.field(default_factory=TLSConfig)
    gnoi: GnoiConfig | None = None
    ssh: SSHConfig | None = None  # None: no exec/attach; logs over gNOI only
    pod_cidr: str | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    taints: list[Taint] = dataclasses.field(default_factory=list)
    max_pods: int = 16
    region: str | None = None
    zone: str | None = None
    log_level: LogLevel = LogLevel.INFO
    resource_limits: ResourceLimits | None = None
    allow_unsigned_apps: bool = False
    xe: XEConfig | None = None
    fake: FakeConfig | None = None

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 443 if self.tls.enabled else 80
