"""Process-wide logging: one line per record, ``key=value`` text or JSON.

Text: ``ts=2026-11-21T08:25:14.123Z level=info logger=cvk.node msg="node registered" node=n1``.
JSON: ``{"ts": "...", "level": "info", "logger": "cvk.node", "msg": "node registered", "node": "n1"}``.
Context passed with ``extra={...}`` becomes fields. Values that look like secrets (keys containing
password, token or secret) are masked, as a last line of defence.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any, TextIO

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
          "warning": logging.WARNING, "error": logging.ERROR}
FORMATS = ("text", "json")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_SECRET_WORDS = ("password", "token", "secret")


def _level_name(levelno: int) -> str:
    return {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn",
            logging.ERROR: "error", logging.CRITICAL: "error"}.get(levelno, str(levelno))


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    ts = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    out: dict[str, Any] = {
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
        "level": _level_name(record.levelno),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_"):
            continue
        out[key] = "***" if any(w in key.lower() for w in _SECRET_WORDS) else value
    if record.exc_info:
        out["error"] = logging.Formatter().formatException(record.exc_info)
    return out


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text)
    return text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_text_value(v)}" for k, v in _fields(record).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


def setup_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger (replacing earlier handlers). ``level``: debug, info, warn
    (warning), error. Chatty libraries stay at warning unless ``level`` is debug."""
    if level not in LEVELS:
        raise ValueError(f"log level must be one of debug, info, warn, error; got {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"log format must be text or json; got {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    quiet = logging.DEBUG if level == "debug" else logging.WARNING
    for name in ("asyncio", "urllib3", "kubernetes", "aiohttp.access", "asyncssh", "ncclient"):
        logging.getLogger(name).setLevel(max(quiet, LEVELS[level]))
