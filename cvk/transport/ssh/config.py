"""How to reach a device's SSH CLI: address, credentials, host-key trust, limits."""

from __future__ import annotations

import dataclasses

import asyncssh

from cvk.errors import ConfigError

DEFAULT_MAX_OUTPUT = 8 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class SshConfig:
    """One device's SSH endpoint.

    ``known_hosts`` is the text of an OpenSSH known_hosts file (the ``known_hosts`` key of the device's
    Secret). Host keys are verified against it; only ``insecure_skip_host_key_check=True`` turns the check
    off, and then a warning is logged on every connect.
    """

    host: str
    username: str
    password: str = dataclasses.field(repr=False)
    port: int = 22
    known_hosts: str | None = dataclasses.field(default=None, repr=False)
    insecure_skip_host_key_check: bool = False
    connect_timeout: float = 15.0
    command_timeout: float = 30.0
    keepalive_interval: float = 30.0
    max_output: int = DEFAULT_MAX_OUTPUT  # bytes kept of one command's output

    def validate(self) -> None:
        if not self.host:
            raise ConfigError("ssh.host", "give the device address")
        if not 0 < self.port < 65536:
            raise ConfigError("ssh.port", f"port {self.port} is out of range 1..65535")
        if not self.username:
            raise ConfigError("ssh.username", "give the user name of the device's SSH login")
        if self.max_output <= 0:
            raise ConfigError("ssh.maxOutput", "must be a positive number of bytes")
        if self.insecure_skip_host_key_check:
            return
        if not self.known_hosts or not self.known_hosts.strip():
            raise ConfigError(
                "ssh.knownHosts",
                "no known_hosts entry for the device: put the device's host key line (ssh-keyscan output) in "
                "the Secret's known_hosts key, or set insecureSkipHostKeyCheck: true (lab use only)",
            )
        for n, line in enumerate(self.known_hosts.splitlines(), start=1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if fields[0].startswith("@"):
                fields = fields[1:]
            try:
                if len(fields) < 3:
                    raise ValueError("expected 'HOSTS KEYTYPE BASE64KEY'")
                asyncssh.import_public_key(f"{fields[1]} {fields[2]}")
            except (ValueError, asyncssh.KeyImportError) as e:
                raise ConfigError("ssh.knownHosts", f"line {n} is not a valid known_hosts entry: {e}") from e
