"""Value rules of the DeviceSpec, beyond types: ranges, formats, the XE interface union.

Each rule raises ``ConfigError(<dotted field>, <what is wrong and how to fix it>)``. The bounds
match the CiscoDevice CRD (controller/crd.py) so a spec the API server accepts loads here too, and
the rules the CRD cannot express (podCIDR, static addressing, quantities) are checked here.
"""

from __future__ import annotations

import ipaddress
import math
import re

from cvk.config.names import (
    dns_subdomain_problem,
    is_hostname,
    label_key_problem,
    label_value_problem,
)
from cvk.config.schema import hint
from cvk.config.spec import (
    AppGigMode,
    DeviceSpec,
    FakeConfig,
    InterfaceType,
    XEInterface,
)
from cvk.errors import ConfigError

MAX_PODS_RANGE = (1, 110)
"""1..110: 110 is the kubelet's own default ceiling and the bound of the newer upstream CRD; an IOx
host runs a handful of apps (one per container), so more would only let the scheduler over-commit."""

VPG_RANGE = (0, 31)  # IOS-XE VirtualPortGroup numbers
GUEST_INTERFACE_RANGE = (0, 3)  # eth0..eth3 inside the app
VLAN_RANGE = (0, 4094)
PORT_RANGE = (1, 65535)
MAX_TAINTS = 32
MAX_PASSWORD = 256
TRANSPORT_SECURITY = ("auto", "tls", "plaintext")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_QUANTITY = re.compile(r"^[+-]?((\d+(\.\d*)?)|(\.\d+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?((\d+(\.\d*)?)|(\.\d+))))?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def _range(path: str, value: int | None, bounds: tuple[int, int], what: str = "") -> None:
    if value is None:
        return
    low, high = bounds
    if not low <= value <= high:
        raise ConfigError(path, f"must be between {low} and {high}{what}, got {value}")


def _quantity(path: str, value: str | None) -> None:
    if value is not None and not _QUANTITY.match(value.strip()):
        raise ConfigError(path, f"{value!r} is not a Kubernetes quantity; write e.g. 500m, 2, 512Mi or 4Gi")


def _nonempty(path: str, value: str) -> None:
    if not value.strip():
        raise ConfigError(path, "must not be empty")


def validate_spec(spec: DeviceSpec, root: str) -> None:
    _address(f"{root}.address", spec.address)
    _nonempty(f"{root}.username", spec.username)
    if len(spec.username) > 64:
        raise ConfigError(f"{root}.username", "must be at most 64 characters")
    _range(f"{root}.port", spec.port, PORT_RANGE)
    if spec.password is not None and len(spec.password) > MAX_PASSWORD:
        raise ConfigError(f"{root}.password", f"must be at most {MAX_PASSWORD} characters")
    if spec.password is not None and spec.password_file is not None:
        raise ConfigError(f"{root}.passwordFile", "set either password or passwordFile, not both")
    if spec.password is not None and spec.credential_secret_ref is not None:
        raise ConfigError(f"{root}.credentialSecretRef",
                          "set either password or credentialSecretRef, not both (prefer the Secret)")
    if spec.password_file is not None:
        _nonempty(f"{root}.passwordFile", spec.password_file)
    if spec.credential_secret_ref is not None:
        ref = spec.credential_secret_ref
        _name(f"{root}.credentialSecretRef.name", ref.name)
        if not _SECRET_KEY.match(ref.key):
            raise ConfigError(f"{root}.credentialSecretRef.key",
                              f"{ref.key!r} is not a valid Secret key (letters, digits, '-', '_', '.')")
    if spec.node_name is not None:
        name_problem = dns_subdomain_problem(spec.node_name, 63)
        if name_problem:
            raise ConfigError(f"{root}.nodeName", name_problem)
    _tls(spec, root)
    if spec.gnoi is not None:
        _range(f"{root}.gnoi.port", spec.gnoi.port, PORT_RANGE)
        if spec.gnoi.transport_security not in TRANSPORT_SECURITY:
            raise ConfigError(f"{root}.gnoi.transportSecurity",
                              f"must be one of {', '.join(TRANSPORT_SECURITY)}, "
                              f"got {spec.gnoi.transport_security!r}"
                              + hint(spec.gnoi.transport_security, list(TRANSPORT_SECURITY)))
    if spec.ssh is not None:
        _ssh(spec, root)
    if spec.pod_cidr is not None:
        _pod_cidr(f"{root}.podCIDR", spec.pod_cidr)
    for key, value in spec.labels.items():
        key_problem = label_key_problem(key)
        if key_problem:
            raise ConfigError(f"{root}.labels.{key}", f"invalid label key: {key_problem}")
        value_problem = label_value_problem(value)
        if value_problem:
            raise ConfigError(f"{root}.labels.{key}", f"invalid label value: {value_problem}")
    if len(spec.taints) > MAX_TAINTS:
        raise ConfigError(f"{root}.taints", f"at most {MAX_TAINTS} taints, got {len(spec.taints)}")
    for i, taint in enumerate(spec.taints):
        path = f"{root}.taints[{i}]"
        key_problem = label_key_problem(taint.key)
        if key_problem:
            raise ConfigError(f"{path}.key", f"invalid taint key: {key_problem}")
        if taint.effect not in TAINT_EFFECTS:
            raise ConfigError(f"{path}.effect", f"must be one of {', '.join(TAINT_EFFECTS)}, got {taint.effect!r}"
                              + hint(taint.effect, list(TAINT_EFFECTS)))
        if taint.value is not None:
            value_problem = label_value_problem(taint.value)
            if value_problem:
                raise ConfigError(f"{path}.value", f"invalid taint value: {value_problem}")
    _range(f"{root}.maxPods", spec.max_pods, MAX_PODS_RANGE)
    for field, topo in (("region", spec.region), ("zone", spec.zone)):
        if topo is not None:
            topo_problem = label_value_problem(topo)
            if topo_problem:
                raise ConfigError(f"{root}.{field}", f"used as a Node label value: {topo_problem}")
    if spec.resource_limits is not None:
        limits = spec.resource_limits
        for key, qty in (("defaultCPU", limits.default_cpu), ("defaultMemory", limits.default_memory),
                         ("defaultStorage", limits.default_storage), ("maxCPU", limits.max_cpu),
                         ("maxMemory", limits.max_memory), ("maxStorage", limits.max_storage)):
            _quantity(f"{root}.resourceLimits.{key}", qty)
    if spec.xe is not None and spec.xe.networking.interface is not None:
        _interface(f"{root}.xe.networking.interface", spec.xe.networking.interface, spec, root)
    if spec.fake is not None:
        _fake(f"{root}.fake", spec.fake)


def _address(path: str, address: str) -> None:
    _nonempty(path, address)
    try:
        ipaddress.ip_address(address)
        return
    except ValueError:
        pass
    if not is_hostname(address):
        raise ConfigError(path, f"{address!r} is neither an IP address nor a host name; "
                          "write the device's management IP (e.g. 192.0.2.10) or DNS name" + _address_hint(address))


def _address_hint(address: str) -> str:
    """Where a scheme or a port written into ``address`` belongs instead."""
    scheme, sep, _rest = address.partition("://")
    if sep:
        return f" without {scheme}:// (set tls.enabled: true for HTTPS, port for the port)"
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit() and (is_hostname(host) or _is_ipv4(host)):
        return f"; the port goes in its own field: address: {host} and port: {port}"
    return ""


def _is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def _name(path: str, value: str) -> None:
    problem = dns_subdomain_problem(value)
    if problem:
        raise ConfigError(path, f"Secret name {problem}")


def _tls(spec: DeviceSpec, root: str) -> None:
    tls = spec.tls
    if (tls.cert_file is None) != (tls.key_file is None):
        missing = "keyFile" if tls.key_file is None else "certFile"
        raise ConfigError(f"{root}.tls.{missing}",
                          f"certFile and keyFile must be set together; add tls.{missing}")
    for key, ref in (("caSecretRef", tls.ca_secret_ref), ("clientCertSecretRef", tls.client_cert_secret_ref)):
        if ref is not None:
            _name(f"{root}.tls.{key}.name", ref.name)


def _ssh(spec: DeviceSpec, root: str) -> None:
    ssh = spec.ssh
    assert ssh is not None
    path = f"{root}.ssh"
    _range(f"{path}.port", ssh.port, PORT_RANGE)
    if ssh.known_hosts_file is not None:
        _nonempty(f"{path}.knownHostsFile", ssh.known_hosts_file)
    ref = ssh.known_hosts_secret_ref
    if ref is not None:
        _name(f"{path}.knownHostsSecretRef.name", ref.name)
        if not _SECRET_KEY.match(ref.key):
            raise ConfigError(f"{path}.knownHostsSecretRef.key",
                              f"{ref.key!r} is not a valid Secret key (letters, digits, '-', '_', '.')")
        if ssh.known_hosts_file is not None:
            raise ConfigError(f"{path}.knownHostsSecretRef",
                              "set either knownHostsFile or knownHostsSecretRef, not both (the controller "
                              "mounts the Secret and sets knownHostsFile itself)")
    if ssh.known_hosts_file is None and ref is None and not ssh.insecure_skip_host_key_check:
        raise ConfigError(f"{path}.knownHostsFile",
                          "SSH host keys must be verified: set knownHostsFile (a file with the device's "
                          "ssh-keyscan line), set knownHostsSecretRef or, for a lab, "
                          "insecureSkipHostKeyCheck: true")


def _pod_cidr(path: str, cidr: str) -> None:
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError as err:
        try:
            loose = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(path, f"{cidr!r} is not a CIDR ({err}); write e.g. 192.168.10.0/24") from None
        raise ConfigError(path, f"{cidr!r} has host bits set; did you mean {loose}?") from None
    if net.num_addresses < 4:
        raise ConfigError(path, f"{cidr} is too small for pods; use at least a /30 (IPv4) or /126 (IPv6)")


def _static_needs_cidr(path: str, dhcp_field: str, spec: DeviceSpec, root: str) -> None:
    if spec.pod_cidr is None:
        raise ConfigError(f"{root}.podCIDR",
                          f"static addressing ({path}.{dhcp_field}: false) needs podCIDR to allocate app "
                          "addresses from; add podCIDR (e.g. 192.168.10.0/24) or set dhcp: true")
    try:
        net = ipaddress.ip_network(spec.pod_cidr, strict=False)
    except ValueError:
        return  # reported by the podCIDR check itself
    smallest = 29 if net.version == 4 else 125
    if net.prefixlen > smallest:
        raise ConfigError(f"{root}.podCIDR",
                          f"{spec.pod_cidr} is too small for static app addresses ({path}.{dhcp_field}: false); "
                          f"use a /{smallest} or larger")


def _interface(path: str, iface: XEInterface, spec: DeviceSpec, root: str) -> None:
    blocks = {
        InterfaceType.VIRTUAL_PORT_GROUP: ("virtualPortGroup", iface.virtual_port_group),
        InterfaceType.APP_GIGABIT_ETHERNET: ("appGigabitEthernet", iface.app_gigabit_ethernet),
        InterfaceType.MANAGEMENT: ("management", iface.management),
    }
    present = [key for key, block in blocks.values() if block is not None]
    wanted = blocks[iface.type][0]
    if len(present) > 1:
        raise ConfigError(path, f"set exactly one of virtualPortGroup, appGigabitEthernet, management "
                          f"(found {', '.join(present)}); keep only {wanted} for type {iface.type}")
    if not present:
        raise ConfigError(f"{path}.{wanted}", f"type {iface.type} requires the {wanted} block; add it "
                          f"(e.g. {wanted}: {{dhcp: true}})")
    if present[0] != wanted:
        raise ConfigError(f"{path}.type", f"is {iface.type} but the block given is {present[0]}; "
                          f"make type match the block or rename the block to {wanted}")
    vpg, gig, mgmt = iface.virtual_port_group, iface.app_gigabit_ethernet, iface.management
    if vpg is not None:
        p = f"{path}.virtualPortGroup"
        if not vpg.interface.isdigit():
            raise ConfigError(f"{p}.interface", f"must be the VirtualPortGroup number, e.g. \"0\" for "
                              f"VirtualPortGroup0, got {vpg.interface!r}")
        _range(f"{p}.interface", int(vpg.interface), VPG_RANGE)
        _range(f"{p}.guestInterface", vpg.guest_interface, GUEST_INTERFACE_RANGE, " (eth0..eth3)")
        if not vpg.dhcp:
            _static_needs_cidr(p, "dhcp", spec, root)
    if gig is not None:
        p = f"{path}.appGigabitEthernet"
        _range(f"{p}.guestInterface", gig.guest_interface, GUEST_INTERFACE_RANGE, " (eth0..eth3)")
        vlan = gig.vlan_if
        if vlan is not None:
            _range(f"{p}.vlanIf.vlan", vlan.vlan, VLAN_RANGE)
            _range(f"{p}.vlanIf.guestInterface", vlan.guest_interface, GUEST_INTERFACE_RANGE, " (eth0..eth3)")
        if gig.mode == AppGigMode.TRUNK and (vlan is None or vlan.vlan == 0):
            raise ConfigError(f"{p}.vlanIf.vlan", "trunk mode needs a VLAN: set vlanIf.vlan between 1 and "
                              "4094, or use mode: access")
        if vlan is not None and vlan.vlan > 0:
            if not vlan.dhcp:
                _static_needs_cidr(f"{p}.vlanIf", "dhcp", spec, root)
        elif not gig.dhcp:
            _static_needs_cidr(p, "dhcp", spec, root)
    if mgmt is not None:
        p = f"{path}.management"
        _range(f"{p}.guestInterface", mgmt.guest_interface, GUEST_INTERFACE_RANGE, " (eth0..eth3)")
        if not mgmt.dhcp:
            _static_needs_cidr(p, "dhcp", spec, root)


def _fake(path: str, fake: FakeConfig) -> None:
    for key, value in (("installSeconds", fake.install_seconds), ("activateSeconds", fake.activate_seconds),
                       ("startSeconds", fake.start_seconds)):
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{path}.{key}", f"must be a number of seconds >= 0, got {value}")
    for key, value, low in (("logIntervalSeconds", fake.log_interval_seconds, 0.1),
                            ("restartBackoffSeconds", fake.restart_backoff_seconds, 0.01)):
        if not math.isfinite(value) or value < low:
            raise ConfigError(f"{path}.{key}", f"must be a number of seconds >= {low:g}, got {value}")
    for key, qty in (("cpu", fake.cpu), ("memory", fake.memory), ("storage", fake.storage)):
        _quantity(f"{path}.{key}", qty)
    if fake.state_file is not None:
        _nonempty(f"{path}.stateFile", fake.state_file)
