"""Transport-independent pieces of exec/attach: options, resize decoding, error-channel status."""

from __future__ import annotations

import json

import pytest
from multidict import MultiDict

from cvk.driver.base import TermSize
from cvk.errors import DeviceUnreachable, InvalidInput, NotFound
from cvk.kubelet.remotecommand import (
    Outcome,
    ResizeDecoder,
    StreamOptions,
    Target,
    parse_stream_options,
    status_message,
)

EXEC = Target("exec", "default", "p1", "app")
OPTS = StreamOptions(stdin=False, stdout=True, stderr=True, tty=False, command=("sh", "-c", "exit 3"))


def test_stream_options() -> None:
    q = MultiDict([("command", "ls"), ("command", "-l"), ("output", "1"), ("input", "true"), ("tty", "0")])
    assert parse_stream_options(q, "exec") == StreamOptions(True, True, False, False, ("ls", "-l"))
    assert parse_stream_options(q, "attach").command == ()
    with pytest.raises(InvalidInput, match="tty and stderr"):
        parse_stream_options(MultiDict([("output", "1"), ("error", "1"), ("tty", "1")]), "exec")
    with pytest.raises(InvalidInput, match="at least one of stdin, stdout, stderr"):
        parse_stream_options(MultiDict([("command", "ls"), ("output", "yes")]), "exec")


def test_resize_decoder() -> None:
    d = ResizeDecoder()
    assert d.feed(b'{"Width":80,') == []
    assert d.feed(b'"Height":24}{"width":1,"height":2}\n') == [TermSize(80, 24), TermSize(1, 2)]
    assert d.feed(b'{"Width":"x"}') == []  # malformed values are skipped
    with pytest.raises(InvalidInput, match="expected a JSON object"):
        d.feed(b"80x24")
    assert d.feed(b'{"Width":5,"Height":6}') == [TermSize(5, 6)]


def test_status_messages() -> None:
    assert status_message(Outcome(exit_code=0), 4, EXEC, OPTS) == b'{"metadata":{},"status":"Success"}'
    assert status_message(Outcome(exit_code=0), 3, EXEC, OPTS) is None
    failed = json.loads(status_message(Outcome(exit_code=3), 5, EXEC, OPTS) or b"")
    assert failed["status"] == "Failure" and failed["reason"] == "NonZeroExitCode"
    assert failed["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert "exit status 3" in failed["message"]
    assert b"exit status 3" in (status_message(Outcome(exit_code=3), 2, EXEC, OPTS) or b"")
    gone = json.loads(status_message(Outcome(error=DeviceUnreachable("no route")), 4, EXEC, OPTS) or b"")
    assert (gone["code"], gone["reason"]) == (503, "ServiceUnavailable")
    assert gone["message"] == "error executing command in container: no route"
    attach = Target("attach", "default", "p1", "app")
    missing = json.loads(status_message(Outcome(error=NotFound("no app")), 4, attach, OPTS) or b"")
    assert (missing["code"], missing["message"]) == (404, "error attaching to container: no app")
