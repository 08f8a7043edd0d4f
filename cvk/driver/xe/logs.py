"""``kubectl logs`` for XE pods: get an app's log off the device and filter it like the kubelet does.

IOx keeps an app's console log on the device. To read it:

1. RESTCONF ``Cisco-IOS-XE-rpc:app-hosting`` ``move {appid, log {to: "bootflash:"}}`` copies the log to
   a file (the answer names it, e.g. ``bootflash:/iox_ID_log.txt``);
2. the file is read with gNOI ``File.Get`` where the device implements the File service, and with
   ``more FILE`` over the SSH CLI otherwise (the first UNIMPLEMENTED is cached by the gNOI client, so
   later reads go straight to SSH);
3. the copy is removed (``File.Remove`` or ``delete /force``), also when reading failed.

Lines that begin with an RFC 3339 timestamp (IOx stamps console lines) use it for ``since`` and
``timestamps``; the stamp is cut from the text unless timestamps are asked for, then it is printed in
the kubelet's RFC3339Nano form. ``tail``, ``since``, ``limit-bytes`` and ``follow`` (polling, with an
interval that grows from 1 s to at most 5 s while nothing new arrives) are honoured. ``previous`` is
not: IOx does not keep the log of an earlier run apart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from cvk.driver.base import LogOptions
from cvk.driver.fake.timefmt import rfc3339_nano
from cvk.errors import DeviceError, DeviceRejected, InvalidInput, NotFound, NotSupported
from cvk.transport.grpc import GnoiClient, ServiceUnsupported, validate_path
from cvk.transport.restconf import RestconfClient
from cvk.transport.ssh import SshCli

log = logging.getLogger("cvk.driver.xe.logs")

RPC_APP_HOSTING = "/restconf/operations/Cisco-IOS-XE-rpc:app-hosting"
MOVE_TO = "bootflash:"
MAX_LOG_BYTES = 16 * 1024 * 1024
_MOVED_PATH = re.compile(r"((?:bootflash|flash|harddisk):[^\s'\"]+)")
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))\s?")
_APP_ID = re.compile(r"^[A-Za-z0-9_]{1,40}$")
# One lock per app while a read of its log is under way (held by the readers; dropped afterwards).
_LOCKS: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()


class DeviceFiles:
    """Reads and removes device files: gNOI File when the device has it, the SSH CLI otherwise."""

    def __init__(self, gnoi: GnoiClient | None, ssh: SshCli | None, *, max_bytes: int = MAX_LOG_BYTES) -> None:
        if gnoi is None and ssh is None:
            raise ValueError("DeviceFiles needs a gNOI client or an SSH CLI")
        self.gnoi = gnoi
        self.ssh = ssh
        self.max_bytes = max_bytes
        self.via: str = ""  # how the last read was done: "gnoi" or "ssh" (for logs and tests)

    @staticmethod
    def _cli_path(path: str, *, write: bool = False) -> str:
        validate_path(path, write=write)
        if any(c.isspace() for c in path):
            raise InvalidInput(f"file path {path!r} contains spaces, which the IOS CLI cannot take")
        return path

    def _no_way(self, path: str) -> NotSupported:
        return NotSupported(
            f"cannot read {path}: the device does not implement gNOI File and no SSH access is configured "
            "(give the device SSH credentials and known_hosts)"
        )

    async def read(self, path: str) -> bytes:
        validate_path(path)
        if self.gnoi is not None:
            try:
                got = await self.gnoi.file_get(path, max_bytes=self.max_bytes)
            except ServiceUnsupported:
                if self.ssh is None:
                    raise self._no_way(path) from None
            else:
                self.via = "gnoi"
                return got.data
        if self.ssh is None:
            raise self._no_way(path)
        out = await self.ssh.run(f"more {self._cli_path(path)}", check=False)
        if out.text.lstrip().startswith("%Error") or out.text.lstrip().startswith("% "):
            msg = out.text.strip().splitlines()[0]
            if "No such file" in msg:
                raise NotFound(f"{path}: {msg}")
            raise DeviceRejected(f"reading {path} failed: {msg}", device_message=msg)
        self.via = "ssh"
        if out.truncated:
            log.warning("device file read over SSH was cut at the output bound path=%s bytes=%d", path,
                        len(out.text))
        return out.text.encode()

    async def remove(self, path: str) -> None:
        validate_path(path, write=True)
        if self.gnoi is not None:
            try:
                await self.gnoi.file_remove(path)
                return
            except ServiceUnsupported:
                if self.ssh is None:
                    raise self._no_way(path) from None
        if self.ssh is None:
            raise self._no_way(path)
        await self.ssh.run(f"delete /force {self._cli_path(path, write=True)}")


@dataclasses.dataclass(frozen=True)
class Line:
    at: datetime | None
    text: str


def parse_lines(data: bytes) -> list[Line]:
    out = []
    for raw in data.decode("utf-8", errors="replace").splitlines():
        m = _STAMP.match(raw)
        at = None
        if m:
            try:
                at = datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
            except ValueError:
                at = None
        out.append(Line(at, raw[m.end():] if at is not None and m else raw))
    return out


def _render(line: Line, timestamps: bool, seen_at: datetime) -> bytes:
    if not timestamps:
        return (line.text + "\n").encode()
    at = line.at or seen_at
    return f"{rfc3339_nano(at.timestamp())} {line.text}\n".encode()


def _since(opts: LogOptions, now: datetime) -> datetime | None:
    if opts.since_time is not None:
        t = opts.since_time
        return t if t.tzinfo else t.replace(tzinfo=UTC)
    if opts.since_seconds is not None:
        return datetime.fromtimestamp(now.timestamp() - opts.since_seconds, UTC)
    return None


async def move_log(restconf: RestconfClient, appid: str) -> str:
    """Ask IOx to copy the app's log to bootflash:; return the file it wrote."""
    body = {"Cisco-IOS-XE-rpc:input": {"move": {"appid": appid, "log": {"to": MOVE_TO}}}}
    out: Any = await restconf.rpc(RPC_APP_HOSTING, body)
    result = ""
    if isinstance(out, dict):
        output = out.get("Cisco-IOS-XE-rpc:output", out.get("output", {}))
        result = str(output.get("result", "")) if isinstance(output, dict) else ""
    text = result.strip()
    if text.startswith("%"):
        message = text.lstrip("%").strip()
        if message.lower().startswith("error:"):
            message = message[6:].strip()
        if "not installed" in message or "not found" in message.lower():
            raise NotFound(f"no logs for app {appid}: {message}")
        raise DeviceRejected(f"moving the log of app {appid} failed: {message}", status=200, device_message=message)
    paths = _MOVED_PATH.findall(text)
    return paths[-1] if paths else f"{MOVE_TO}iox_{appid}_log.txt"


async def fetch_log(restconf: RestconfClient, files: DeviceFiles, appid: str) -> bytes:
    """One snapshot of the app's log (move, read, remove the copy)."""
    key = (restconf.base_url, appid)
    lock = _LOCKS.get(key)
    if lock is None:
        lock = _LOCKS[key] = asyncio.Lock()
    async with lock:
        path = await move_log(restconf, appid)
        try:
            return await files.read(path)
        finally:
            try:
                await files.remove(path)
            except (NotFound, NotSupported, DeviceError) as e:
                # Best effort: a failed removal must not lose the log just read, nor mask a read error.
                log.warning("could not remove the log copy app=%s path=%s error=%s", appid, path, e)


async def read_app_logs(
    restconf: RestconfClient,
    files: DeviceFiles,
    appid: str,
    opts: LogOptions,
    *,
    poll_interval: float = 1.0,
    max_poll_interval: float = 5.0,
) -> AsyncIterator[bytes]:
    """Yield the app's log as the kubelet API would (see the module docstring)."""
    if not _APP_ID.match(appid):
        raise InvalidInput(f"app id {appid!r} is not an IOx app id")
    if opts.previous:
        raise NotSupported("IOx does not keep the log of a previous run of an app apart; drop --previous")
    budget = opts.limit_bytes
    now = datetime.now(UTC)
    lines = parse_lines(await fetch_log(restconf, files, appid))
    since = _since(opts, now)
    chosen = [ln for ln in lines if since is None or ln.at is None or ln.at >= since]
    if opts.tail_lines is not None:
        chosen = chosen[-opts.tail_lines:] if opts.tail_lines > 0 else []
    seen = len(lines)
    last = lines[-1] if lines else None
    for ln in chosen:
        chunk = _render(ln, opts.timestamps, now)
        if budget is not None:
            if budget <= 0:
                return
            chunk = chunk[:budget]
            budget -= len(chunk)
        yield chunk
    if not opts.follow:
        return
    interval = poll_interval
    while budget is None or budget > 0:
        await asyncio.sleep(interval)
        try:
            data = await fetch_log(restconf, files, appid)
        except NotFound:
            return  # the app is gone: the stream ends, as when a container's log ends
        now = datetime.now(UTC)
        current = parse_lines(data)
        if seen <= len(current) and (last is None or current[seen - 1] == last):
            new = current[seen:]
        else:  # the log was rotated or restarted: send what is newer than the last line sent
            cutoff = last.at if last is not None else None
            new = [ln for ln in current if cutoff is None or (ln.at is not None and ln.at > cutoff)]
        seen = len(current)
        last = current[-1] if current else None
        interval = poll_interval if new else min(interval * 2, max_poll_interval)
        for ln in new:
            chunk = _render(ln, opts.timestamps, now)
            if budget is not None:
                chunk = chunk[:budget]
                budget -= len(chunk)
            yield chunk
            if budget is not None and budget <= 0:
                return
