"""IOS-XE file paths for gNOI File/OS calls, checked before any RPC is sent (ops-telemetry 1.2)."""

from __future__ import annotations

from cvk.errors import InvalidInput

WRITE_PREFIXES = ("flash:", "bootflash:", "harddisk:", "usbflash0:", "usbflash1:")
READ_PREFIXES = (*WRITE_PREFIXES, "crashinfo:", "nvram:", "webui:")
MAX_LEN = 128


def validate_path(path: str, *, write: bool = False) -> str:
    """Return ``path`` when it is a device file path cisco-vk may use; raise InvalidInput naming the fix.

    Reads allow flash:, bootflash:, harddisk:, usbflash0:, usbflash1:, crashinfo:, nvram:, webui:;
    writes and removes only the first five. ``..``, control characters and paths over 128 characters
    are refused. On IOS-XE the prefix is the root, so ``bootflash:x`` and ``bootflash:/x`` are the same.
    """
    allowed = WRITE_PREFIXES if write else READ_PREFIXES
    if not isinstance(path, str) or not path:
        raise InvalidInput("file path is empty; give a device path such as bootflash:/file.txt")
    if len(path) > MAX_LEN:
        raise InvalidInput(f"file path is {len(path)} characters long; IOS-XE paths are at most {MAX_LEN}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise InvalidInput(f"file path {path!r} contains control characters")
    if not path.lower().startswith(allowed):
        kind = "written or removed" if write else "read"
        raise InvalidInput(
            f"file path {path!r} is not on a device filesystem that may be {kind}; "
            f"use one of {', '.join(allowed)}"
        )
    rest = path.split(":", 1)[1]
    if ".." in rest.split("/"):
        raise InvalidInput(f"file path {path!r} contains '..'; give the path from the filesystem root")
    if write and not rest.strip("/"):
        raise InvalidInput(f"file path {path!r} names a filesystem, not a file")
    return path
