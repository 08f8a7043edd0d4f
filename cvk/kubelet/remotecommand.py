"""Exec and attach, independent of the transport (SPDY/3.1 or WebSocket).

A transport parses the request into ``StreamOptions``, collects the client's channels into a
``Channels`` object and calls ``run_session``, which bridges them to the driver through an
``AttachIO`` and returns the outcome; ``status_message`` renders that outcome for the error
channel the way the kubelet does for the negotiated protocol version:

- v4 and v5: a JSON ``metav1.Status``: ``{"metadata":{},"status":"Success"}``, or
  ``reason: NonZeroExitCode`` with the cause ``ExitCode``, or an InternalError;
- v1 to v3: the error text, and nothing on success.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from cvk.driver.base import AttachIO, Driver, TermSize
from cvk.errors import InvalidInput
from cvk.kubelet.httperrors import message_for, status_for

log = logging.getLogger(__name__)

T = TypeVar("T")

_REASONS = {400: "BadRequest", 404: "NotFound", 501: "NotImplemented", 503: "ServiceUnavailable"}


@dataclasses.dataclass(frozen=True)
class StreamOptions:
    """What the client asked for (query parameters ``input``, ``output``, ``error``, ``tty``)."""

    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    command: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Target:
    kind: str  # "exec" or "attach"
    namespace: str
    pod: str
    container: str


def _flag(query: Mapping[str, str], name: str) -> bool:
    # The API server sends "1"; accept "true" too so hand-written clients are not silently ignored.
    return query.get(name, "").lower() in ("1", "true")


def parse_stream_options(query: Any, kind: str) -> StreamOptions:
    """Options from the query (a multidict); InvalidInput for the combinations the kubelet rejects."""
    opts = StreamOptions(
        stdin=_flag(query, "input"),
        stdout=_flag(query, "output"),
        stderr=_flag(query, "error"),
        tty=_flag(query, "tty"),
        command=tuple(query.getall("command", ())) if kind == "exec" else (),
    )
    if opts.tty and opts.stderr:
        raise InvalidInput("cannot exec with tty and stderr: with tty=1 stderr is merged into stdout, "
                           "drop error=1")
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise InvalidInput("you must specify at least one of stdin, stdout, stderr "
                           "(query parameters input=1, output=1, error=1)")
    return opts


def driver_supports(driver: Driver, kind: str) -> bool:
    """Whether the driver implements ``kind`` at all (exec, attach, portforward)."""
    method = {
        "exec": "run_in_container", "attach": "attach_to_container", "portforward": "port_forward",
    }[kind]
    return getattr(type(driver), method) is not getattr(Driver, method)


@dataclasses.dataclass
class Channels:
    """The client's side of a session as the transport provides it."""

    stdin: AsyncIterator[bytes] | None
    stdout: Callable[[bytes], Awaitable[None]] | None
    stderr: Callable[[bytes], Awaitable[None]] | None
    resize: AsyncIterator[TermSize] | None
    closed: asyncio.Event  # set by the transport when the client went away


@dataclasses.dataclass(frozen=True)
class Outcome:
    exit_code: int | None = None  # set when the command ran to completion
    error: BaseException | None = None  # set when the driver failed
    abandoned: bool = False  # the client went away first


async def run_session(driver: Driver, target: Target, opts: StreamOptions, ch: Channels) -> Outcome:
    io = AttachIO(stdin=ch.stdin, stdout=ch.stdout, stderr=ch.stderr, tty=opts.tty, resize=ch.resize)
    ctx = f"kind={target.kind} namespace={target.namespace} pod={target.pod} container={target.container}"
    if target.kind == "exec":
        call = driver.run_in_container(target.namespace, target.pod, target.container, list(opts.command), io)
    else:
        call = driver.attach_to_container(target.namespace, target.pod, target.container, io)
    task: asyncio.Task[int] = asyncio.ensure_future(call)
    closed = asyncio.ensure_future(ch.closed.wait())
    try:
        await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the server is stopping: the driver call must end too
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    finally:
        closed.cancel()
    if not task.done():
        log.info("remotecommand client went away, cancelling %s", ctx)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return Outcome(abandoned=True)
    err = task.exception()
    if err is not None:
        log.info("remotecommand failed %s error=%r", ctx, message_for(err))
        return Outcome(error=err)
    code = task.result()
    log.info("remotecommand finished %s exit_code=%d", ctx, code)
    return Outcome(exit_code=code)


def status_message(outcome: Outcome, version: int, target: Target, opts: StreamOptions) -> bytes | None:
    """What goes on the error channel for protocol ``version`` (None: nothing)."""
    if outcome.exit_code == 0:
        return _json({"metadata": {}, "status": "Success"}) if version >= 4 else None
    if outcome.exit_code is not None:
        code = outcome.exit_code
        message = (
            f"command terminated with non-zero exit code: error executing command "
            f"{shlex.join(opts.command) or '(attach)'}: exit status {code}"
        )
        if version < 4:
            return message.encode()
        exited: dict[str, Any] = {
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
        }
        return _json(exited)
    err = outcome.error or RuntimeError("session abandoned")
    what = "error executing command in container" if target.kind == "exec" else "error attaching to container"
    message = f"{what}: {message_for(err)}"
    if version < 4:
        return message.encode()
    code = status_for(err)
    failed: dict[str, Any] = {
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, "InternalError"),
        "details": {"causes": [{"message": message_for(err)}]},
        "code": code,
    }
    return _json(failed)


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()  # compact, as Go's encoding/json writes it


class ResizeDecoder:
    """Turns the resize channel's byte stream (concatenated JSON objects) into TermSizes."""

    def __init__(self) -> None:
        self._buf = ""
        self._decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> list[TermSize]:
        self._buf += data.decode("utf-8", errors="replace")
        sizes: list[TermSize] = []
        while True:
            text = self._buf.lstrip()
            if not text:
                self._buf = ""
                return sizes
            if not text.startswith("{"):
                self._buf = ""
                raise InvalidInput(f"resize channel: expected a JSON object like {{\"Width\":80,\"Height\":24}}, "
                                   f"got {text[:40]!r}")
            try:
                obj, end = self._decoder.raw_decode(text)
            except json.JSONDecodeError:
                self._buf = text
                if len(text) > 4096:  # garbage, not a partial object
                    raise InvalidInput("resize channel: not a JSON terminal size") from None
                return sizes
            self._buf = text[end:]
            if isinstance(obj, dict):
                lower = {str(k).lower(): v for k, v in obj.items()}
                try:
                    width, height = int(lower.get("width", 0)), int(lower.get("height", 0))
                    sizes.append(TermSize(width=width, height=height))
                except (TypeError, ValueError):
                    log.info("ignoring malformed terminal size %r", obj)


class ClosableQueue(Generic[T]):
    """An async iterator of items fed by a transport; ``close()`` ends it (after the items)."""

    def __init__(self) -> None:
        self._q: asyncio.Queue[T | None] = asyncio.Queue()
        self._closed = False
        self._ended = False

    def _push(self, item: T) -> None:
        if not self._closed:
            self._q.put_nowait(item)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._q.put_nowait(None)

    def _taken(self, item: T) -> None:
        """Hook: ``item`` was handed to the consumer."""

    def __aiter__(self) -> ClosableQueue[T]:
        return self

    async def __anext__(self) -> T:
        if self._ended:
            raise StopAsyncIteration
        item = await self._q.get()
        if item is None:
            self._ended = True
            raise StopAsyncIteration
        self._taken(item)
        return item


class ByteQueue(ClosableQueue[bytes]):
    """Byte chunks. ``buffered`` counts bytes not yet consumed; a transport that should stop reading
    while the consumer lags awaits ``wait_below(limit)``."""

    def __init__(self) -> None:
        super().__init__()
        self.buffered = 0
        self._consumed = asyncio.Event()

    def put(self, data: bytes) -> None:
        if data and not self._closed:
            self.buffered += len(data)
            self._push(data)

    def close(self) -> None:
        super().close()
        self._consumed.set()

    async def wait_below(self, limit: int) -> None:
        """Return once fewer than ``limit`` bytes are buffered (or the queue is closed)."""
        while self.buffered >= limit and not self._closed:
            self._consumed.clear()
            await self._consumed.wait()

    def _taken(self, item: bytes) -> None:
        self.buffered -= len(item)
        self._consumed.set()


class SizeQueue(ClosableQueue[TermSize]):
    """Terminal sizes (the resize stream)."""

    def put(self, size: TermSize) -> None:
        self._push(size)


__all__ = [
    "ByteQueue", "Channels", "Outcome", "ResizeDecoder", "SizeQueue", "StreamOptions",
    "Target", "driver_supports", "parse_stream_options", "run_session", "status_message",
]
