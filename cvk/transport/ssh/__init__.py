"""SSH CLI transport to IOS-XE devices (asyncssh): session reuse, prompts, paging off, host-key checks."""

from cvk.transport.ssh.client import SshCli
from cvk.transport.ssh.config import SshConfig
from cvk.transport.ssh.shell import CliOutput, CliShell, normalise_newlines

__all__ = ["CliOutput", "CliShell", "SshCli", "SshConfig", "normalise_newlines"]
