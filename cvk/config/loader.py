"""Read and validate the device configuration of ``cisco-vk run``.

The file is either ``device: <CiscoDevice spec>`` (the Go original's format) or a whole CiscoDevice
manifest (``apiVersion: cisco.vk/v1alpha1``, ``kind: CiscoDevice``, ``spec``). Validation is strict
and happens before anything starts; every problem is a ``ConfigError`` whose ``field`` is the
dotted path (``device.xe.networking.interface.type``) and whose message says how to fix it.

The password comes from the file, else env ``CVK_DEVICE_PASSWORD``, else the file named by
``passwordFile`` or env ``CVK_DEVICE_PASSWORD_FILE`` (a mounted Secret). It never appears in
``repr`` (DeviceSpec hides it) or in logs. The known_hosts file of ``ssh`` is read and checked by
``read_known_hosts``, which the XE driver calls in ``connect()``: a wrong path stops ``cisco-vk run``
at start, while the file itself may only exist where cisco-vk runs (a mounted Secret).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml

from cvk.config.names import DNS1123_SUBDOMAIN
from cvk.config.schema import fields_of, hint, parse_dataclass, to_data
from cvk.config.spec import DeviceSpec, DriverName
from cvk.config.validate import validate_spec
from cvk.errors import ConfigError

API_VERSION = "cisco.vk/v1alpha1"
KIND = "CiscoDevice"
PASSWORD_ENV = "CVK_DEVICE_PASSWORD"
PASSWORD_FILE_ENV = "CVK_DEVICE_PASSWORD_FILE"
_MANIFEST_KEYS = ("apiVersion", "kind", "metadata", "spec", "status")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise ConfigError("", f"line {mark.line + 1}: key {key!r} appears twice; keep one")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str, source: str = "<config>") -> Any:
    try:
        docs = [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except ConfigError as err:
        raise ConfigError("", f"{source}: {err.message}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError("", f"{source}: not valid YAML{where}: {problem}") from None
    if not docs:
        raise ConfigError("", f"{source}: the file is empty; it needs `device:` with at least driver, "
                          "address and username")
    if len(docs) > 1:
        raise ConfigError("", f"{source}: holds {len(docs)} YAML documents; put one device per file")
    return docs[0]


def parse_device_spec(data: Any, root: str = "device") -> DeviceSpec:
    """Build and validate a DeviceSpec from its JSON shape (camelCase keys). ``root`` prefixes the
    field paths in errors: "device" for config files, "spec" for CiscoDevice objects. Pure: reads
    no environment and no files."""
    spec = parse_dataclass(DeviceSpec, data, root)
    assert isinstance(spec, DeviceSpec)
    validate_spec(spec, root)
    return spec


def spec_to_dict(spec: DeviceSpec, include_secrets: bool = False) -> dict[str, Any]:
    """The camelCase JSON shape of ``spec`` (for the controller's ConfigMap); round-trips through
    ``parse_device_spec``. ``password`` is left out unless ``include_secrets``; with it, a password
    replaces the ``passwordFile`` or ``credentialSecretRef`` it was resolved from (the spec would
    be ambiguous with both)."""
    if not include_secrets:
        skip = frozenset({"password"})
    elif spec.password is not None:
        skip = frozenset({"password_file", "credential_secret_ref"})
    else:
        skip = frozenset()
    data = to_data(spec, skip)
    assert isinstance(data, dict)
    return data


def document_to_spec(doc: Any, source: str = "<config>") -> DeviceSpec:
    """A parsed config document (``device:`` form or CiscoDevice manifest) as a DeviceSpec."""
    if not isinstance(doc, dict):
        raise ConfigError("", f"{source}: expected a mapping with `device:` or a CiscoDevice manifest")
    if "device" in doc:
        extra = [k for k in doc if k != "device"]
        if extra:
            raise ConfigError(str(extra[0]), "unknown top-level key; the file holds only `device:`"
                              " (or is a whole CiscoDevice manifest)")
        return parse_device_spec(doc["device"], "device")
    if "kind" in doc or "apiVersion" in doc or "spec" in doc:
        return _manifest_to_spec(doc)
    keys = ", ".join(str(k) for k in doc) or "nothing"
    if any(str(k) in fields_of(DeviceSpec) for k in doc):
        raise ConfigError("device", f"{source}: missing; the file must start with `device:`: add that line and "
                          f"indent the device's fields ({keys}) under `device:` by two spaces "
                          "(or write a whole CiscoDevice manifest)")
    close = next((h for k in doc if (h := hint(str(k), ["device"]))), "")
    raise ConfigError("device", f"{source}: missing; the file must start with `device:` (found {keys}{close}) "
                      "or be a CiscoDevice manifest")


def _manifest_to_spec(doc: dict[str, Any]) -> DeviceSpec:
    if doc.get("apiVersion") != API_VERSION:
        raise ConfigError("apiVersion", f"must be {API_VERSION}, got {doc.get('apiVersion')!r}")
    if doc.get("kind") != KIND:
        raise ConfigError("kind", f"must be {KIND}, got {doc.get('kind')!r}")
    for key in doc:
        if key not in _MANIFEST_KEYS:
            raise ConfigError(str(key), "unknown top-level key of a CiscoDevice manifest"
                              + hint(str(key), list(_MANIFEST_KEYS)) + f" (allowed: {', '.join(_MANIFEST_KEYS)})")
    if doc.get("spec") is None:
        raise ConfigError("spec", "required; a CiscoDevice needs spec with driver, address and username")
    spec = parse_device_spec(doc["spec"], "spec")
    meta = doc.get("metadata") or {}
    name = meta.get("name") if isinstance(meta, dict) else None
    if spec.node_name is None and isinstance(name, str) and len(name) <= 63 and DNS1123_SUBDOMAIN.match(name):
        spec.node_name = name  # like the controller: the node is named after the CiscoDevice
    return spec


def resolve_password(spec: DeviceSpec, env: Mapping[str, str], root: str = "device") -> None:
    """Fill ``spec.password`` from the environment or a password file (see module docstring).
    Requires a password for XE (RESTCONF uses HTTP basic authentication)."""
    if spec.password is None:
        from_env = env.get(PASSWORD_ENV)
        if from_env:
            spec.password = from_env
        else:
            path = spec.password_file or env.get(PASSWORD_FILE_ENV) or None
            if path:
                field = f"{root}.passwordFile" if spec.password_file else PASSWORD_FILE_ENV
                try:
                    with open(path, encoding="utf-8") as f:
                        spec.password = f.read().rstrip("\r\n")
                except OSError as err:
                    raise ConfigError(field, f"cannot read password file {path}: "
                                      f"{err.strerror or err}") from None
                if not spec.password:
                    raise ConfigError(field, f"password file {path} is empty")
    if spec.driver == DriverName.XE and not spec.password:
        raise ConfigError(f"{root}.password", f"driver XE needs the device password: set password or "
                          f"passwordFile in the file, or env {PASSWORD_ENV} or {PASSWORD_FILE_ENV}")


def read_known_hosts(spec: DeviceSpec, root: str = "device") -> str | None:
    """The known_hosts text for ``spec.ssh`` (None without ``ssh`` or when the host key check is off),
    checked line by line. ``knownHostsSecretRef`` alone is refused: only the controller can mount a
    Secret (it then sets ``knownHostsFile``)."""
    ssh = spec.ssh
    if ssh is None or ssh.insecure_skip_host_key_check:
        return None
    field = f"{root}.ssh.knownHostsFile"
    if ssh.known_hosts_file is None:
        raise ConfigError(field, "knownHostsSecretRef is mounted by the controller only; for cisco-vk run set "
                          "knownHostsFile to a file holding the device's known_hosts line (ssh-keyscan output)")
    path = ssh.known_hosts_file
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConfigError(field, f"cannot read known_hosts file {path}: {reason}") from None
    from cvk.transport.ssh import SshConfig  # lazily: FAKE users need no SSH

    try:
        SshConfig(host=spec.address, username=spec.username, password="", port=ssh.port,
                  known_hosts=text).validate()
    except ConfigError as err:
        raise ConfigError(field, f"{path}: {err.message}") from None
    return text


def load_device_file(path: str, env: Mapping[str, str] | None = None) -> DeviceSpec:
    """Read, validate and complete (password) the device file of ``cisco-vk run``."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise ConfigError("", f"cannot read config file {path}: {err.strerror or err}; "
                          "pass an existing file with --config") from None
    doc = parse_yaml(text, path)
    spec = document_to_spec(doc, path)
    root = "device" if isinstance(doc, dict) and "device" in doc else "spec"
    resolve_password(spec, os.environ if env is None else env, root)
    return spec
