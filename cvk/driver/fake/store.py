"""The FAKE device's state file: atomic writes, a lock shared between processes, change detection.

The file is JSON: ``{"version": 1, "device": {...}, "faults": {...}, "pods": [...]}``. Writers hold
an exclusive ``flock`` on ``<file>.lock`` and replace the file atomically (temporary file, fsync,
rename), so a reader never sees half a file and a fault flip from another process is never lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cvk.driver.fake.faults import Faults

STATE_VERSION = 1

Document = dict[str, Any]


def default_state_file(address: str) -> str:
    """``$XDG_STATE_HOME/cisco-vk/fake-<address>.json`` (XDG default ``~/.local/state``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in address)
    return os.path.join(base, "cisco-vk", f"fake-{safe}.json")


class StateError(Exception):
    """The state file exists but cannot be used."""


class StateStore:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.lock_path = Path(path + ".lock")
        self._seen: tuple[int, int, int] | None = None

    # ---- locking and raw IO ---------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def changed_on_disk(self) -> bool:
        """True when someone else wrote the file since we last read or wrote it."""
        return self._stat() != self._seen

    def read(self) -> Document | None:
        """The document, or None when the file does not exist. Raises StateError when the content
        is unusable, OSError when the file cannot be read."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._seen = None
            return None
        self._seen = self._stat()
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise StateError(f"{self.path} is not valid JSON ({err})") from err
        if not isinstance(doc, dict):
            raise StateError(f"{self.path} must hold a JSON object")
        version = doc.get("version")
        if version != STATE_VERSION:
            raise StateError(
                f"{self.path} has state version {version!r}; this cisco-vk reads {STATE_VERSION}")
        return doc

    def _write(self, doc: Document) -> None:
        data = encode(doc)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.path)  # atomic: readers see the old or the new file, never half
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._seen = self._stat()

    # ---- operations ------------------------------------------------------------------------
    def read_faults(self) -> Faults:
        with self.locked():
            doc = self.read()
        return faults_of(doc, self.path)

    def save(self, build: Callable[[Faults], Document], known: Faults) -> Faults:
        """Write the document ``build(faults)`` where ``faults`` are the ones currently on disk (a
        concurrent edit of the faults is kept; ``known`` when nobody else wrote since our last
        read or write). Returns those faults."""
        with self.locked():
            faults = known
            if self.changed_on_disk():
                try:
                    faults = faults_of(self.read(), self.path)
                except StateError:
                    faults = known  # the bad document is replaced below
            new = build(faults)
            new["faults"] = faults.to_dict()
            new["version"] = STATE_VERSION
            self._write(new)
        return faults

    def write_faults(self, faults: Faults) -> None:
        with self.locked():
            doc = self.read() or {"version": STATE_VERSION, "pods": []}
            doc["faults"] = faults.to_dict()
            self._write(doc)


def encode(doc: Document) -> bytes:
    """Compact JSON (the C encoder: fast) with one line per section and per pod, so the faults line
    is easy to find and edit by hand."""
    lines = []
    for key in ("version", "faults", "device"):
        if key in doc:
            lines.append(f" {json.dumps(key)}: {json.dumps(doc[key], sort_keys=True)}")
    pods = ",\n  ".join(json.dumps(p, sort_keys=True) for p in doc.get("pods", []))
    lines.append(f' "pods": [\n  {pods}\n ]' if pods else ' "pods": []')
    for key in sorted(set(doc) - {"version", "faults", "device", "pods"}):
        lines.append(f" {json.dumps(key)}: {json.dumps(doc[key], sort_keys=True)}")
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("utf-8")


def faults_of(doc: Document | None, path: Path) -> Faults:
    if doc is None:
        return Faults()
    try:
        return Faults.from_dict(doc.get("faults"))
    except ValueError as err:
        raise StateError(f"{path}: {err}") from err


def update_faults(path: str, **changes: Any) -> Faults:
    """Change fault switches in a FAKE state file (safe while cisco-vk uses it). Keys are the Python
    names of ``Faults`` fields. Returns the new faults."""
    store = StateStore(path)
    with store.locked():
        doc = store.read() or {"version": STATE_VERSION, "pods": []}
        faults = faults_of(doc, store.path).replace(**changes)
        doc["faults"] = faults.to_dict()
        store._write(doc)
    return faults
