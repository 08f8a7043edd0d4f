"""The few commands a FAKE container can exec: echo, env, hostname, cat, true, false, exit N,
and ``sh -c '<one of these>'``. ``cat`` without arguments copies stdin to stdout until EOF."""

from __future__ import annotations

import dataclasses
import shlex

from cvk.driver.base import AttachIO

SHELLS = {"sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash"}


@dataclasses.dataclass(frozen=True)
class Container:
    """What a command can see of its container."""

    hostname: str
    env: list[tuple[str, str]]
    pod_ip: str | None
    command: list[str]

    def files(self) -> dict[str, bytes]:
        env = self.environ()
        hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        if self.pod_ip:
            hosts += f"{self.pod_ip}\t{self.hostname}\n"
        return {
            "/etc/hostname": f"{self.hostname}\n".encode(),
            "/etc/hosts": hosts.encode(),
            "/proc/self/environ": b"".join(f"{k}={v}".encode() + b"\0" for k, v in env),
            "/proc/1/cmdline": b"".join(a.encode() + b"\0" for a in self.command),
        }

    def environ(self) -> list[tuple[str, str]]:
        return [("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                ("HOSTNAME", self.hostname), *self.env]


class _Out:
    def __init__(self, io: AttachIO) -> None:
        self.io = io

    async def out(self, data: bytes) -> None:
        if self.io.stdout is not None:
            await self.io.stdout(data.replace(b"\n", b"\r\n") if self.io.tty else data)

    async def err(self, data: bytes) -> None:
        if self.io.tty:
            await self.out(data)
        elif self.io.stderr is not None:
            await self.io.stderr(data)


async def run_command(ctr: Container, cmd: list[str], io: AttachIO) -> int:
    """Run ``cmd`` in ``ctr`` and return its exit code."""
    out = _Out(io)
    if not cmd:
        await out.err(b"exec: no command given\n")
        return 126
    if cmd[0] in SHELLS:
        if len(cmd) >= 3 and cmd[1] == "-c":
            try:
                inner = shlex.split(cmd[2])
            except ValueError as err:
                await out.err(f"{cmd[0]}: syntax error: {err}\n".encode())
                return 2
            return await _builtin(ctr, inner, io, out) if inner else 0
        await out.err(f"{cmd[0]}: only '{cmd[0]} -c <command>' is supported by the FAKE device\n".encode())
        return 2
    return await _builtin(ctr, cmd, io, out)


async def _builtin(ctr: Container, cmd: list[str], io: AttachIO, out: _Out) -> int:
    name, args = cmd[0].rsplit("/", 1)[-1], cmd[1:]
    if name == "echo":
        newline = True
        if args and args[0] == "-n":
            newline, args = False, args[1:]
        await out.out((" ".join(args) + ("\n" if newline else "")).encode())
        return 0
    if name in ("env", "printenv"):
        env = ctr.environ()
        if name == "printenv" and args:
            values = dict(env)
            found = [values[a] for a in args if a in values]
            for v in found:
                await out.out(f"{v}\n".encode())
            return 0 if len(found) == len(args) else 1
        await out.out("".join(f"{k}={v}\n" for k, v in env).encode())
        return 0
    if name == "hostname":
        await out.out(f"{ctr.hostname}\n".encode())
        return 0
    if name == "true":
        return 0
    if name == "false":
        return 1
    if name == "exit":
        if not args:
            return 0
        try:
            return int(args[0]) & 0xFF
        except ValueError:
            await out.err(f"exit: {args[0]}: numeric argument required\n".encode())
            return 2
    if name == "cat":
        if not args:
            if io.stdin is not None:
                async for chunk in io.stdin:
                    await out.out(chunk)
            return 0
        files = ctr.files()
        code = 0
        for path in args:
            if path in files:
                await out.out(files[path])
            else:
                await out.err(f"cat: {path}: No such file or directory\n".encode())
                code = 1
        return code
    await out.err(f"exec: {cmd[0]!r}: executable file not found in $PATH (the FAKE device knows: "
                  f"echo, env, printenv, hostname, cat, true, false, exit, sh -c)\n".encode())
    return 127
