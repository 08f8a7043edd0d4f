"""The CiscoDevice CustomResourceDefinition, generated from code.

This module is the one source of the CRD: ``hack/gen_manifests.py`` writes it to deploy/crds/ and
the Helm chart, and tests fail when those files differ from what this module renders. A further
test checks that every property here is a field of ``cvk.config.spec.DeviceSpec`` (and back), so the
CRD, the config file loader and the drivers cannot drift apart.
"""

from __future__ import annotations

from typing import Any

GROUP = "cisco.vk"
VERSION = "v1alpha1"
KIND = "CiscoDevice"
PLURAL = "ciscodevices"
SINGULAR = "ciscodevice"
SHORT_NAMES = ["cvk"]
API_VERSION = f"{GROUP}/{VERSION}"

RESERVED_DRIVERS = ["XR", "NXOS", "OPENCONFIG"]
IMPLEMENTED_DRIVERS = ["XE", "FAKE"]

PHASES = ["Pending", "Provisioning", "Ready", "Error", "Deleting"]
CONDITION_TYPES = ["Ready", "Reconciled", "DeviceReachable"]

Schema = dict[str, Any]


def _str(description: str, **kw: Any) -> Schema:
    return {"type": "string", "description": description, **kw}


def _int(description: str, minimum: int, maximum: int, **kw: Any) -> Schema:
    return {"type": "integer", "description": description, "minimum": minimum, "maximum": maximum, **kw}


def _bool(description: str, **kw: Any) -> Schema:
    return {"type": "boolean", "description": description, **kw}


def _obj(description: str, properties: dict[str, Schema], required: list[str] | None = None,
         *, rules: list[dict[str, str]] | None = None, atomic: bool = False) -> Schema:
    out: Schema = {"type": "object", "description": description, "properties": properties}
    if atomic:
        out["x-kubernetes-map-type"] = "atomic"
    if required:
        out["required"] = required
    if rules:
        out["x-kubernetes-validations"] = rules
    return out


GUEST_IF = _int("Guest interface number inside the app (eth0..eth3).", 0, 3)
_NUMBER = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
QUANTITY = {"x-kubernetes-int-or-string": True,
            "pattern": rf"^(\+|-)?{_NUMBER}(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?{_NUMBER}))?$"}


def _quantity(description: str) -> Schema:
    return {"description": description, **QUANTITY}


def interface_schema() -> Schema:
    vpg = _obj(
        "App network on a VirtualPortGroup (routed through the device, e.g. Catalyst 8000V).",
        {
            "dhcp": _bool("Address from the device's DHCP pool; false uses a static address from podCIDR.",
                          default=True),
            "interface": _str("VirtualPortGroup number, e.g. \"0\" for VirtualPortGroup0.",
                              pattern=r"^[0-9]{1,3}$", default="0"),
            "guestInterface": {**GUEST_IF, "default": 0},
        },
    )
    vlan_if = _obj(
        "VLAN rule for the app's AppGigabitEthernet interface.",
        {
            "dhcp": _bool("Address by DHCP on this VLAN; false uses podCIDR.", default=True),
            "vlan": _int("VLAN ID; 0 means no VLAN rule.", 0, 4094, default=0),
            "guestInterface": GUEST_IF,
            "macForwardingEnabled": _bool("Enable MAC forwarding for the VLAN rule.", default=False),
            "multicastEnabled": _bool("Enable multicast for the VLAN rule.", default=False),
            "mirrorEnabled": _bool("Enable mirroring for the VLAN rule.", default=False),
        },
    )
    appgig = _obj(
        "App network on the front-panel AppGigabitEthernet port (Catalyst 9000, IE, IR).",
        {
            "mode": _str("Port mode of the app interface.", enum=["access", "trunk"]),
            "dhcp": _bool("Address by DHCP (access mode without VLAN).", default=True),
            "guestInterface": {**GUEST_IF, "default": 0},
            "vlanIf": vlan_if,
        },
        required=["mode"],
        rules=[
            {"rule": "self.mode != 'trunk' || (has(self.vlanIf) && self.vlanIf.vlan > 0)",
             "message": "trunk mode needs vlanIf.vlan between 1 and 4094",
             "fieldPath": ".vlanIf"},
        ],
    )
    mgmt = _obj(
        "App network on the management interface.",
        {
            "dhcp": _bool("Address by DHCP on the management network; false uses podCIDR.", default=True),
            "guestInterface": {**GUEST_IF, "default": 0},
        },
    )
    return _obj(
        "How apps attach to the network: exactly one block, matching type; default (no interface): "
        "VirtualPortGroup 0 with DHCP.",
        {
            "type": _str("Interface kind.", enum=["VirtualPortGroup", "AppGigabitEthernet", "Management"]),
            "virtualPortGroup": vpg,
            "appGigabitEthernet": appgig,
            "management": mgmt,
        },
        required=["type"],
        rules=[
            {"rule": "[has(self.virtualPortGroup), has(self.appGigabitEthernet), has(self.management)]"
                     ".filter(x, x).size() == 1",
             "message": "set exactly one of virtualPortGroup, appGigabitEthernet, management"},
            {"rule": "self.type != 'VirtualPortGroup' || has(self.virtualPortGroup)",
             "message": "type VirtualPortGroup requires the virtualPortGroup block"},
            {"rule": "self.type != 'AppGigabitEthernet' || has(self.appGigabitEthernet)",
             "message": "type AppGigabitEthernet requires the appGigabitEthernet block"},
            {"rule": "self.type != 'Management' || has(self.management)",
             "message": "type Management requires the management block"},
        ],
    )


def spec_schema() -> Schema:
    taint = _obj(
        "A taint added to the Node.",
        {
            "key": _str("Taint key.", maxLength=316),
            "value": _str("Taint value.", maxLength=63),
            "effect": _str("Taint effect.", enum=["NoSchedule", "PreferNoSchedule", "NoExecute"]),
        },
        required=["key", "effect"],
    )
    return _obj(
        "Desired state of a Cisco device managed as a Kubernetes node.",
        {
            "driver": _str(
                "Device driver. XE and FAKE are implemented; XR, NXOS and OPENCONFIG are reserved.",
                enum=IMPLEMENTED_DRIVERS + RESERVED_DRIVERS,
            ),
            "address": _str("Management IP address or host name of the device.", minLength=1, maxLength=253),
            "port": _int("RESTCONF port; default 443 with TLS, 80 without.", 1, 65535),
            "username": _str("Device user name.", minLength=1, maxLength=64),
            "password": _str("Device password in clear text. Discouraged: use credentialSecretRef.",
                             maxLength=256),
            "passwordFile": _str("Path of a file holding the password (standalone `cisco-vk run`)."),
            "credentialSecretRef": _obj(
                "Secret in the same namespace holding the device password.",
                {
                    "name": _str("Secret name.", minLength=1, maxLength=253),
                    "key": _str("Key of the password in the Secret.", default="password", minLength=1),
                },
                required=["name"],
                atomic=True,
            ),
            "nodeName": _str(
                "Kubernetes Node name; default: the CiscoDevice name (a `device:` file for `cisco-vk run`: "
                "`cisco-vk-<address>`). Immutable.",
                maxLength=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
            ),
            "tls": _obj(
                "RESTCONF transport security.",
                {
                    "enabled": _bool("Use HTTPS (default); false sends the credentials unencrypted.", default=True),
                    "insecureSkipVerify": _bool("Do not verify the device certificate (lab use only).",
                                                default=False),
                    "certFile": _str("Client certificate path inside the cisco-vk pod."),
                    "keyFile": _str("Client key path inside the cisco-vk pod."),
                    "caFile": _str("CA bundle path inside the cisco-vk pod."),
                    "caSecretRef": _obj("Secret with the CA bundle under key ca.crt, mounted for you.",
                                        {"name": _str("Secret name.", minLength=1)}, required=["name"]),
                    "clientCertSecretRef": _obj(
                        "kubernetes.io/tls Secret with the client certificate, mounted for you.",
                        {"name": _str("Secret name.", minLength=1)}, required=["name"]),
                },
                rules=[
                    {"rule": "has(self.certFile) == has(self.keyFile)",
                     "message": "certFile and keyFile must be set together"},
                ],
            ),
            "gnoi": _obj(
                "gNOI/gNMI transport.",
                {
                    "port": _int("gRPC port; default 9339 with TLS, 50052 plaintext.", 1, 65535),
                    "transportSecurity": _str("auto, tls or plaintext.", enum=["auto", "tls", "plaintext"],
                                              default="auto"),
                },
            ),
            "ssh": _obj(
                "SSH CLI access for kubectl exec/attach, and for kubectl logs where gNOI File is missing. "
                "The login is username and the device password.",
                {
                    "port": _int("SSH port of the device.", 1, 65535, default=22),
                    "knownHostsFile": _str("known_hosts path inside the cisco-vk pod (standalone cisco-vk run).",
                                           minLength=1),
                    "knownHostsSecretRef": _obj(
                        "Secret with the device's known_hosts line (ssh-keyscan output), mounted for you.",
                        {
                            "name": _str("Secret name.", minLength=1, maxLength=253),
                            "key": _str("Key of the known_hosts text in the Secret.", default="known_hosts",
                                        minLength=1),
                        },
                        required=["name"],
                        atomic=True,
                    ),
                    "insecureSkipHostKeyCheck": _bool("Do not verify the device's SSH host key (lab use only).",
                                                      default=False),
                },
                rules=[
                    {"rule": "has(self.knownHostsFile) || has(self.knownHostsSecretRef) || "
                             "(has(self.insecureSkipHostKeyCheck) && self.insecureSkipHostKeyCheck)",
                     "message": "set knownHostsSecretRef or, for a lab, insecureSkipHostKeyCheck: true",
                     "fieldPath": ".knownHostsSecretRef"},
                    {"rule": "!(has(self.knownHostsFile) && has(self.knownHostsSecretRef))",
                     "message": "set either knownHostsFile or knownHostsSecretRef, not both"},
                ],
            ),
            "podCIDR": _str("Pod address range, e.g. 192.168.1.0/24 or fd00:10::/64: the Node's spec.podCIDR, the "
                            "pool of static app addresses when DHCP is off (XE; IPv4 /29 or IPv6 /125 at least, "
                            "the first host being the gateway unless the device's own address in the range is "
                            "found in ARP), and of pod IPs on FAKE (default `10.244.<x>.0/24`).",
                            pattern=r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"),
            "labels": {"type": "object", "description": "Labels added to the Node.",
                       "additionalProperties": {"type": "string"}},
            "taints": {"type": "array", "description": "Taints added to the Node.", "items": taint,
                       "maxItems": 32},
            "maxPods": _int("Pods the node accepts.", 1, 110, default=16),
            "region": _str("topology.kubernetes.io/region label of the Node."),
            "zone": _str("topology.kubernetes.io/zone label of the Node."),
            "logLevel": _str("cisco-vk log level.", enum=["debug", "info", "warn", "error"], default="info"),
            "resourceLimits": _obj(
                "Defaults for pods that set no requests, and caps.",
                {
                    "defaultCPU": _quantity("CPU for a container without a request."),
                    "defaultMemory": _quantity("Memory for a container without a request."),
                    "defaultStorage": _quantity("Disk for a container without a request."),
                    "maxCPU": _quantity("Largest CPU a container may ask for."),
                    "maxMemory": _quantity("Largest memory a container may ask for."),
                    "maxStorage": _quantity("Largest disk a container may ask for."),
                    "others": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "Driver-specific limits."},
                },
            ),
            "allowUnsignedApps": _bool("Allow unsigned app packages (device must allow it too).",
                                       default=False),
            "xe": _obj("IOS-XE settings.", {
                "networking": _obj("App networking.", {"interface": interface_schema()}),
            }),
            "fake": _obj("FAKE driver settings (development and tests).", {
                "stateFile": _str("File holding the simulated device's state; default "
                                  "`$XDG_STATE_HOME/cisco-vk/fake-<address>.json` "
                                  "(`~/.local/state` without XDG_STATE_HOME)."),
                "installSeconds": {"type": "number", "minimum": 0, "default": 0.5,
                                   "description": "Seconds an app spends installing."},
                "activateSeconds": {"type": "number", "minimum": 0, "default": 0.3,
                                    "description": "Seconds an app spends activating."},
                "startSeconds": {"type": "number", "minimum": 0, "default": 0.2,
                                 "description": "Seconds an app takes to start running."},
                "logIntervalSeconds": {"type": "number", "minimum": 0.1, "default": 5.0,
                                       "description": "Seconds between the heartbeat log lines of a running "
                                                      "container."},
                "restartBackoffSeconds": {"type": "number", "minimum": 0.01, "default": 1.0,
                                          "description": "First restart delay of an exited container; doubles "
                                                         "per restart, at most 30 times this."},
                "cpu": _quantity("CPU capacity reported by the fake device; default 8."),
                "memory": _quantity("Memory capacity reported by the fake device; default 16Gi."),
                "storage": _quantity("Storage capacity reported by the fake device; default 100Gi."),
            }),
        },
        required=["driver", "address", "username"],
        rules=[
            {"rule": "!(self.driver in ['XR', 'NXOS', 'OPENCONFIG'])",
             "message": "driver is reserved and not implemented; use XE or FAKE", "fieldPath": ".driver"},
            {"rule": "!has(self.password) || !has(self.credentialSecretRef)",
             "message": "set either password or credentialSecretRef, not both"},
            {"rule": "!has(oldSelf.nodeName) || (has(self.nodeName) && self.nodeName == oldSelf.nodeName)",
             "message": "nodeName is immutable", "fieldPath": ".nodeName"},
        ],
    )


def status_schema() -> Schema:
    condition = _obj(
        "Condition in metav1.Condition form.",
        {
            "type": _str("Condition type.", maxLength=316),
            "status": _str("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
            "lastTransitionTime": _str("When the status last changed.", format="date-time"),
            "reason": _str("CamelCase reason.", maxLength=1024),
            "message": _str("Human-readable detail.", maxLength=32768),
        },
        required=["type", "status", "lastTransitionTime", "reason", "message"],
    )
    return _obj(
        "Observed state, written by the controller.",
        {
            "phase": _str("Lifecycle phase.", enum=PHASES),
            "observedGeneration": {"type": "integer", "format": "int64"},
            "nodeName": _str("Name of the Node that represents the device."),
            "message": _str("Summary of the Ready condition."),
            "conditions": {
                "type": "array", "items": condition, "maxItems": 64,
                "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
            },
            "device": _obj("Facts reported by the device.", {
                "model": _str("Product ID."),
                "serialNumber": _str("Serial number."),
                "softwareVersion": _str("IOS-XE version."),
                "hostname": _str("Device host name."),
            }),
        },
    )


def crd_manifest() -> dict[str, Any]:
    """The CiscoDevice CRD as a dict ready to be dumped to YAML or POSTed."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": KIND, "listKind": f"{KIND}List", "plural": PLURAL, "singular": SINGULAR,
                      "shortNames": SHORT_NAMES},
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Driver", "type": "string", "jsonPath": ".spec.driver"},
                    {"name": "Address", "type": "string", "jsonPath": ".spec.address"},
                    {"name": "Node", "type": "string", "jsonPath": ".status.nodeName"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {"name": "Ready", "type": "string",
                     "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": "A Cisco device managed as a Kubernetes node by cisco-vk.",
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": spec_schema(),
                        "status": status_schema(),
                    },
                    "required": ["spec"],
                }},
            }],
        },
    }
