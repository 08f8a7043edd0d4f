"""Structured log lines: key=value text and JSON, context from ``extra``, secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from cvk.config.logsetup import setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def emit(fmt: str, level: str = "info") -> str:
    stream = io.StringIO()
    setup_logging(level, fmt, stream)
    log = logging.getLogger("cvk.test")
    log.debug("hidden at info")
    log.info("pod %s created", "web", extra={"pod": "default/web", "password": "hunter2", "count": 3})
    return stream.getvalue()


def test_text_lines(restore_logging: None) -> None:
    (line,) = emit("text").splitlines()
    assert " level=info logger=cvk.test " in line
    assert 'msg="pod web created"' in line
    assert "pod=default/web" in line and "count=3" in line
    assert "password=***" in line and "hunter2" not in line
    assert line.startswith("ts=")


def test_json_lines(restore_logging: None) -> None:
    (line,) = emit("json").splitlines()
    record = json.loads(line)
    assert record["msg"] == "pod web created" and record["pod"] == "default/web"
    assert record["level"] == "info" and record["password"] == "***"


def test_debug_level_and_bad_values(restore_logging: None) -> None:
    assert "hidden at info" in emit("text", "debug")
    with pytest.raises(ValueError, match="log level"):
        setup_logging("loud")
    with pytest.raises(ValueError, match="log format"):
        setup_logging("info", "xml")
