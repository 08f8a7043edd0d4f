"""App IDs and run-opts labels: how a pod's containers are named on the device and found again.

App ID (YANG ``application-name``: 1..40 characters of ``[0-9a-zA-Z_]``)::

    cvk_<readable>_<hash>

``readable`` is the pod name with everything outside ``[0-9a-zA-Z]`` dropped, cut so the whole ID
fits 40 characters; ``hash`` is 16 hex digits of sha256(pod UID, container name). The ID is
deterministic (the same pod and container always give the same ID, so creation is idempotent and
resumes after a restart), unique per pod and container, and readable in ``show app-hosting list``.

Labels (YANG ``run-opts``: up to 30 lines of 0..235 characters each) carry the pod's identity as
docker ``--label key=value`` tokens::

    io.kubernetes.pod.namespace, io.kubernetes.pod.name, io.kubernetes.pod.uid,
    io.kubernetes.container.name

A value too long for one token is split over ``key.0``, ``key.1``, ... tokens; tokens are packed
into as few lines as fit. Parsing joins them back, so any pod name maps back to its pod. An app is
ours when its labels carry a UID and a container name and its ID is the one computed from them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

APP_ID_MAX = 40
APP_ID_PREFIX = "cvk_"
HASH_LEN = 16
RUN_OPTS_LINE_MAX = 235
RUN_OPTS_LINES_MAX = 30
VALUE_CHUNK = 180

LABEL_NAMESPACE = "io.kubernetes.pod.namespace"
LABEL_NAME = "io.kubernetes.pod.name"
LABEL_UID = "io.kubernetes.pod.uid"
LABEL_CONTAINER = "io.kubernetes.container.name"
_LABEL_KEYS = (LABEL_NAMESPACE, LABEL_NAME, LABEL_UID, LABEL_CONTAINER)

_NOT_ALNUM = re.compile(r"[^0-9a-zA-Z]")
_APP_ID_RE = re.compile(r"^[0-9a-zA-Z_]{1,40}$")
_CHUNK_KEY = re.compile(r"^(?P<key>.+)\.(?P<idx>\d+)$")


@dataclasses.dataclass(frozen=True)
class AppIdentity:
    """Which pod container an app belongs to, as recovered from its labels."""

    namespace: str
    name: str
    uid: str
    container: str

    @property
    def app_id(self) -> str:
        return app_id(self.name, self.uid, self.container)


def app_id(pod_name: str, pod_uid: str, container: str) -> str:
    """The device app ID of one container of a pod (≤40 chars of [0-9a-zA-Z_])."""
    digest = hashlib.sha256(f"{pod_uid}\x00{container}".encode()).hexdigest()[:HASH_LEN]
    room = APP_ID_MAX - len(APP_ID_PREFIX) - 1 - HASH_LEN
    readable = _NOT_ALNUM.sub("", pod_name)[:room] or "pod"
    return f"{APP_ID_PREFIX}{readable}_{digest}"


def is_valid_app_id(value: str) -> bool:
    return bool(_APP_ID_RE.match(value))


def label_tokens(namespace: str, name: str, uid: str, container: str) -> list[str]:
    """``--label key=value`` tokens for the pod identity, long values split into chunks."""
    tokens: list[str] = []
    for key, value in zip(_LABEL_KEYS, (namespace, name, uid, container), strict=True):
        if len(value) <= VALUE_CHUNK:
            tokens.append(f"--label {key}={value}")
            continue
        for i in range(0, len(value), VALUE_CHUNK):
            tokens.append(f"--label {key}.{i // VALUE_CHUNK}={value[i:i + VALUE_CHUNK]}")
    return tokens


def pack_lines(tokens: Iterable[str], *, first_index: int = 1) -> list[dict[str, Any]]:
    """Pack tokens into ``run-opts`` list entries of at most 235 characters each."""
    lines: list[str] = []
    for tok in tokens:
        if len(tok) > RUN_OPTS_LINE_MAX:
            raise ValueError(f"run-opts token longer than {RUN_OPTS_LINE_MAX} characters: {tok[:40]}...")
        if lines and len(lines[-1]) + 1 + len(tok) <= RUN_OPTS_LINE_MAX:
            lines[-1] = f"{lines[-1]} {tok}"
        else:
            lines.append(tok)
    if first_index - 1 + len(lines) > RUN_OPTS_LINES_MAX:
        raise ValueError(f"run-opts need {len(lines)} lines, the device allows {RUN_OPTS_LINES_MAX}")
    return [{"line-index": first_index + i, "line-run-opts": text} for i, text in enumerate(lines)]


def run_opts_text(app_cfg: Mapping[str, Any]) -> str:
    """All run-opts lines of an app config entry, joined in line-index order."""
    entries = (app_cfg.get("run-optss") or {}).get("run-opts") or []
    if isinstance(entries, dict):
        entries = [entries]
    ordered = sorted(
        (e for e in entries if isinstance(e, dict)), key=lambda e: int(e.get("line-index", 0) or 0)
    )
    return " ".join(str(e.get("line-run-opts", "")) for e in ordered)


def parse_labels(text: str) -> dict[str, str]:
    """``--label k=v`` (and ``--label=k=v``) tokens of a docker run-opts string; chunks joined.

    Split as a shell would (IOx parses run-opts so), so a quoted env value that contains
    ``--label ...`` stays part of that value and can never forge a pod identity."""
    try:
        words = shlex.split(text)
    except ValueError:  # unbalanced quotes in a foreign app's options
        words = text.split()
    raw: dict[str, str] = {}
    i = 0
    while i < len(words):
        w = words[i]
        pair: str | None = None
        if w in ("--label", "-l") and i + 1 < len(words):
            pair = words[i + 1]
            i += 1
        elif w.startswith("--label="):
            pair = w[len("--label="):]
        i += 1
        if pair and "=" in pair:
            k, v = pair.split("=", 1)
            raw[k] = v
    labels: dict[str, str] = {}
    chunks: dict[str, dict[int, str]] = {}
    for k, v in raw.items():
        m = _CHUNK_KEY.match(k)
        if m and m.group("key") in _LABEL_KEYS:
            chunks.setdefault(m.group("key"), {})[int(m.group("idx"))] = v
        else:
            labels[k] = v
    for k, parts in chunks.items():
        labels.setdefault(k, "".join(parts[i] for i in sorted(parts)))
    return labels


def identity_of(app_cfg: Mapping[str, Any]) -> AppIdentity | None:
    """The pod container an app config belongs to, or None when the app is not ours."""
    labels = parse_labels(run_opts_text(app_cfg))
    uid = labels.get(LABEL_UID, "")
    container = labels.get(LABEL_CONTAINER, "")
    name = labels.get(LABEL_NAME, "")
    namespace = labels.get(LABEL_NAMESPACE, "")
    if not (uid and container and name and namespace):
        return None
    ident = AppIdentity(namespace=namespace, name=name, uid=uid, container=container)
    if str(app_cfg.get("application-name", "")) != ident.app_id:
        return None
    return ident
