"""The device filesystem as gNOI File sees it: paths, permissions and times on top of ``DeviceState.files``.

``DeviceState.files`` holds the bytes (keyed ``bootflash:/path``); this module adds what gNOI Stat
reports (mode, modification time) and the rules IOS-XE applies to paths.
"""

from __future__ import annotations

import dataclasses
import time
import weakref

from hack.iosxe_sim.state import DeviceState, normalise_file

READ_FS = ("bootflash:", "flash:", "harddisk:", "usbflash0:", "usbflash1:", "crashinfo:", "nvram:", "webui:")
WRITE_FS = READ_FS[:5]
UMASK = 0o022


class PathError(Exception):
    """A path the device refuses (``code`` is the gRPC status name to answer with)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclasses.dataclass
class Meta:
    mode: int = 0o644
    mtime_ns: int = dataclasses.field(default_factory=time.time_ns)


_META: weakref.WeakKeyDictionary[DeviceState, dict[str, Meta]] = weakref.WeakKeyDictionary()


def _meta(state: DeviceState) -> dict[str, Meta]:
    return _META.setdefault(state, {})


def key(path: str, *, write: bool = False) -> str:
    """``bootflash:x`` -> ``bootflash:/x``; refuses other filesystems and ``..``."""
    allowed = WRITE_FS if write else READ_FS
    if not path.lower().startswith(allowed):
        raise PathError("INVALID_ARGUMENT", f"{path}: not a filesystem this device serves over gNOI")
    if ".." in path.split(":", 1)[1].split("/"):
        raise PathError("INVALID_ARGUMENT", f"{path}: '..' is not allowed")
    try:
        return normalise_file(path)
    except ValueError as e:
        raise PathError("INVALID_ARGUMENT", str(e)) from e


def mode_from_put(permissions: int) -> int:
    """Put's ``permissions`` in either form (Decision D8): mode bits (0o644 = 420, as gnoic sends) or the
    octal digits written as a decimal (644). A value above 0o777 made only of octal digits is read as digits."""
    digits = str(permissions)
    if permissions > 0o777 and all(c in "01234567" for c in digits):
        return int(digits, 8) & 0o7777
    if permissions <= 0o7777:
        return permissions
    raise PathError("INVALID_ARGUMENT", f"permissions {permissions} are neither mode bits nor octal digits")


def read(state: DeviceState, path: str) -> bytes:
    k = key(path)
    with state.lock:
        data = state.files.get(k)
    if data is None:
        if any(f.startswith(k.rstrip("/") + "/") for f in list(state.files)):
            raise PathError("INVALID_ARGUMENT", f"{path} is a directory")
        raise PathError("NOT_FOUND", f"{path}: no such file")
    return data


def write(state: DeviceState, path: str, data: bytes, mode: int) -> str:
    k = key(path, write=True)
    if k.endswith("/"):
        raise PathError("INVALID_ARGUMENT", f"{path} names a directory")
    state.add_file(k, data)
    with state.lock:
        _meta(state)[k] = Meta(mode=mode)
    return k


def remove(state: DeviceState, path: str) -> None:
    k = key(path, write=True)
    with state.lock:
        if k not in state.files and any(f.startswith(k.rstrip("/") + "/") for f in state.files):
            raise PathError("INVALID_ARGUMENT", f"{path} is a directory")
    if not state.delete_file(k):
        raise PathError("NOT_FOUND", f"{path}: no such file")
    with state.lock:
        _meta(state).pop(k, None)


def stat(state: DeviceState, path: str) -> list[tuple[str, int, int, int]]:
    """(path, mtime_ns, mode, size) for a file, or for every file directly under a directory."""
    k = key(path)
    with state.lock:
        meta = _meta(state)
        if k in state.files:
            m = meta.get(k, Meta())
            return [(k, m.mtime_ns, m.mode, len(state.files[k]))]
        prefix = k.rstrip("/") + "/"
        out = []
        for f, data in sorted(state.files.items()):
            if f.startswith(prefix) and "/" not in f[len(prefix):]:
                m = meta.get(f, Meta())
                out.append((f, m.mtime_ns, m.mode, len(data)))
    if not out and not k.endswith(":/"):
        raise PathError("NOT_FOUND", f"{path}: no such file or directory")
    return out


def octal_digits(mode: int) -> int:
    """0o755 -> 755: how gNOI StatInfo carries permissions."""
    return int(f"{mode:o}")
