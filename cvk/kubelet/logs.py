"""GET /containerLogs/{namespace}/{pod}/{container}: query validation and streaming.

Every query parameter is validated like virtual-kubelet does (behaviour 45), each failure a 400
naming the parameter. The driver's log iterator is streamed with a flush per chunk, so ``follow``
keeps the response open for as long as the driver yields.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime

from aiohttp import web

from cvk.driver.base import Driver, LogOptions
from cvk.errors import InvalidInput
from cvk.kubelet.httperrors import error_response, message_for

log = logging.getLogger(__name__)

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_INT = re.compile(r"[+-]?[0-9]+")
_RFC3339 = re.compile(
    r"(?P<base>[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<frac>[0-9]+))?(?P<tz>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
# How long the first chunk may take before the 200 header is sent anyway (follow on an idle log).
FIRST_CHUNK_WAIT = 1.0


def _bool(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None:
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidInput(f'invalid query parameter {name}="{value}": must be a boolean (true or false)')


def _int(query: Mapping[str, str], name: str, minimum: int) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if not _INT.fullmatch(value):
        raise InvalidInput(f'invalid query parameter {name}="{value}": must be an integer >= {minimum}')
    number = int(value)
    if number < minimum:
        raise InvalidInput(f'invalid query parameter {name}="{value}": must be an integer >= {minimum}')
    return number


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (fractional seconds allowed, any precision); ValueError if not."""
    m = _RFC3339.fullmatch(value)
    if not m:
        raise ValueError(value)
    frac = m.group("frac") or ""
    tz = m.group("tz")
    tz = "+00:00" if tz in ("Z", "z") else tz
    text = m.group("base").replace("t", "T") + (f".{frac[:6].ljust(6, '0')}" if frac else "") + tz
    return datetime.fromisoformat(text)


def parse_log_options(query: Mapping[str, str]) -> LogOptions:
    """LogOptions from the query of a /containerLogs request; InvalidInput names the bad parameter."""
    tail = _int(query, "tailLines", 0)
    limit = _int(query, "limitBytes", 1)
    since_seconds = _int(query, "sinceSeconds", 1)
    since_time = None
    raw_since_time = query.get("sinceTime")
    if raw_since_time is not None:
        try:
            since_time = parse_rfc3339(raw_since_time)
        except ValueError:
            raise InvalidInput(
                f'invalid query parameter sinceTime="{raw_since_time}": must be an RFC 3339 timestamp '
                "such as 2024-05-01T12:00:00Z"
            ) from None
    if since_seconds is not None and since_time is not None:
        raise InvalidInput('both "sinceSeconds" and "sinceTime" are set: use only one of them')
    return LogOptions(
        tail_lines=tail,
        limit_bytes=limit,
        since_seconds=since_seconds,
        since_time=since_time,
        timestamps=_bool(query, "timestamps"),
        follow=_bool(query, "follow"),
        previous=_bool(query, "previous"),
    )


async def serve_container_logs(
    request: web.Request, driver: Driver, namespace: str, pod: str, container: str
) -> web.StreamResponse:
    try:
        opts = parse_log_options(request.query)
    except InvalidInput as e:
        return error_response(e)
    chunks: AsyncIterator[bytes] = driver.container_logs(namespace, pod, container, opts)
    ctx = {"namespace": namespace, "pod": pod, "container": container, "follow": opts.follow}
    first: asyncio.Task[bytes] = asyncio.ensure_future(anext(chunks))
    try:
        # Errors raised before the first chunk become proper status codes; a follow on a quiet
        # log must not hold back the response header, so only wait briefly.
        done, _ = await asyncio.wait({first}, timeout=FIRST_CHUNK_WAIT)
        if first in done and first.exception() is not None:
            err = first.exception()
            assert err is not None
            if isinstance(err, StopAsyncIteration):
                return web.Response(status=200, content_type="text/plain")
            log.info("container logs failed %s error=%r", _kv(ctx), str(err))
            return error_response(err, "error getting container logs")
        resp = web.StreamResponse(status=200)
        resp.content_type = "text/plain"
        await resp.prepare(request)
        try:
            chunk = await first
            while True:
                if chunk:
                    await resp.write(chunk)  # aiohttp writes straight to the transport: one flush each
                chunk = await anext(chunks)
        except StopAsyncIteration:
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            log.debug("container logs client went away %s", _kv(ctx))
            raise
        except Exception as e:
            # The status line is gone: end the chunked body without its terminator so that the
            # client sees a broken stream rather than a complete log.
            log.warning("container logs stream failed %s error=%r", _kv(ctx), message_for(e))
            if request.transport is not None:
                request.transport.close()
        return resp
    finally:
        if not first.done():
            first.cancel()
            with contextlib.suppress(BaseException):
                await first
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def _kv(ctx: Mapping[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in ctx.items())
