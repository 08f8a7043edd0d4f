"""The RESTCONF client: TLS verification, auth, error mapping, retries only where safe."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from cvk.config.spec import TLSConfig
from cvk.driver.xe import paths
from cvk.errors import (
    ConfigError,
    DeviceAuthError,
    DeviceBusy,
    DeviceRejected,
    DeviceUnreachable,
    NotFound,
)
from cvk.transport.restconf import RestconfClient, parse_errors
from hack.iosxe_sim.fixtures import SimHandle


def _client(sim: SimHandle, **kw: object) -> RestconfClient:
    tls = kw.pop("tls", TLSConfig(enabled=True, ca_file=sim.ca_file))
    opts: dict[str, object] = {"retries": 2, "backoff_base": 0.01, "timeout": 5.0}
    opts.update(kw)
    return RestconfClient(
        sim.address,
        sim.port,
        str(opts.pop("username", sim.username)),
        str(opts.pop("password", sim.password)),
        tls=tls,  # type: ignore[arg-type]
        **opts,  # type: ignore[arg-type]
    )


def _count(sim: SimHandle, method: str, fragment: str) -> int:
    return sum(1 for r in sim.requests() if r["method"] == method and fragment in r["path"])


async def test_get_with_verified_tls_and_basic_auth(iosxe_sim: SimHandle) -> None:
    c = _client(iosxe_sim)
    try:
        doc = await c.get(paths.OPER)
        assert paths.member(doc, "app-hosting-oper-data") is not None
        await c.get(paths.HARDWARE)
        assert c.request_count == 2
        assert "authorization" not in {k.lower() for k in iosxe_sim.requests()[-1]["headers"]}
    finally:
        await c.close()


async def test_ca_from_pem_bytes(iosxe_sim: SimHandle) -> None:
    pem = iosxe_sim.server.credentials.ca_pem
    c = _client(iosxe_sim, tls=TLSConfig(enabled=True), ca_pem=pem)
    try:
        await c.get(paths.OPER_GLOBALS)
    finally:
        await c.close()


async def test_unknown_ca_is_refused_unless_verification_is_skipped(iosxe_sim: SimHandle) -> None:
    c = _client(iosxe_sim, tls=TLSConfig(enabled=True))
    try:
        with pytest.raises(DeviceUnreachable, match=r"certificate verification failed.*tls.caFile"):
            await c.get(paths.OPER_GLOBALS)
    finally:
        await c.close()
    c = _client(iosxe_sim, tls=TLSConfig(enabled=True, insecure_skip_verify=True))
    try:
        await c.get(paths.OPER_GLOBALS)
    finally:
        await c.close()


def test_bad_tls_files_name_the_field(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match=r"tls.caFile"):
        RestconfClient("h", 1, "u", "p", tls=TLSConfig(enabled=True, ca_file="/nonexistent/ca.pem"))
    with pytest.raises(ConfigError, match=r"tls.certFile"):
        RestconfClient(
            "h", 1, "u", "p", tls=TLSConfig(enabled=True, cert_file="/nonexistent/c.pem", key_file="/nonexistent/k")
        )


async def test_wrong_password_is_an_auth_error_and_not_retried(iosxe_sim: SimHandle) -> None:
    c = _client(iosxe_sim, password="wrong")
    try:
        with pytest.raises(DeviceAuthError, match="refused the credentials") as e:
            await c.get(paths.OPER_GLOBALS)
        assert "wrong" not in str(e.value)
        assert c.request_count == 1
    finally:
        await c.close()


async def test_404_is_not_found(iosxe_sim: SimHandle) -> None:
    c = _client(iosxe_sim)
    try:
        with pytest.raises(NotFound):
            await c.get(paths.cfg_app("no_such_app"))
    finally:
        await c.close()


async def test_5xx_is_retried_then_succeeds(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.fail(status=503, count=2, method="GET", path="app-globals")
    c = _client(iosxe_sim)
    try:
        await c.get(paths.OPER_GLOBALS)
        assert _count(iosxe_sim, "GET", "app-globals") == 3
        assert c.stats["retries"] == 2
    finally:
        await c.close()


async def test_5xx_beyond_retries_carries_the_device_message(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.fail(status=500, count=None, method="POST", message="internal boom")
    c = _client(iosxe_sim)
    try:
        with pytest.raises(DeviceRejected, match="internal boom") as e:
            await c.rpc(paths.RPC_APP_HOSTING, paths.rpc_body("start", "x"))
        assert e.value.status == 500 and e.value.device_message == "internal boom"
        assert _count(iosxe_sim, "POST", "app-hosting") == 3
    finally:
        await c.close()


async def test_4xx_is_never_retried(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.fail(status=400, count=None, method="PUT", message="bad value")
    c = _client(iosxe_sim)
    try:
        with pytest.raises(DeviceRejected, match="bad value") as e:
            await c.put(paths.cfg_app("a"), paths.app_body({"application-name": "a"}))
        assert not isinstance(e.value, DeviceBusy)
        assert _count(iosxe_sim, "PUT", "app=a") == 1
    finally:
        await c.close()


async def test_409_lock_denied_is_busy(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.lock_denied(count=1)
    c = _client(iosxe_sim)
    try:
        with pytest.raises(DeviceBusy, match="lock-denied") as e:
            await c.put(paths.cfg_app("a"), paths.app_body({"application-name": "a"}))
        assert e.value.status == 409
        assert _count(iosxe_sim, "PUT", "app=a") == 1
    finally:
        await c.close()


async def test_device_validation_error_message_is_surfaced(iosxe_sim: SimHandle) -> None:
    c = _client(iosxe_sim)
    try:
        body = paths.app_body({"application-name": "a", "application-resource-profile": {"cpu-units": 99999}})
        with pytest.raises(DeviceRejected) as e:
            await c.put(paths.cfg_app("a"), body)
        assert e.value.status == 400 and e.value.device_message
    finally:
        await c.close()


async def test_dropped_connections_are_unreachable_after_retries(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.drop(count=None, method="GET")
    c = _client(iosxe_sim)
    try:
        with pytest.raises(DeviceUnreachable, match="unreachable"):
            await c.get(paths.OPER)
        # 1 + 2 retries; aiohttp itself repeats an idempotent request once on a dropped keep-alive.
        assert 3 <= _count(iosxe_sim, "GET", "oper") <= 6
    finally:
        await c.close()


async def test_a_dropped_post_is_not_repeated(iosxe_sim: SimHandle) -> None:
    iosxe_sim.control.drop(count=None, method="POST")
    c = _client(iosxe_sim)
    try:
        with pytest.raises(DeviceUnreachable):
            await c.rpc(paths.RPC_APP_HOSTING, paths.rpc_body("start", "x"))
        assert _count(iosxe_sim, "POST", "app-hosting") == 1
    finally:
        await c.close()


async def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = RestconfClient("127.0.0.1", port, "u", "p", tls=TLSConfig(enabled=False), retries=1, backoff_base=0.01)
    try:
        with pytest.raises(DeviceUnreachable, match=rf"127\.0\.0\.1:{port} unreachable"):
            await c.get(paths.OPER)
    finally:
        await c.close()


async def test_a_blackholed_device_fails_each_attempt_at_the_connect_timeout() -> None:
    """A listener whose accept queue is full drops further SYNs, as a blackholed device does. Each
    attempt ends at the connect time-out (not the 30 s request time-out), counts as never having
    reached the device, so even a POST is tried again, and the error says what happened."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(3):  # fill the accept queue: the kernel now ignores new connection attempts
            f = socket.socket()
            f.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                f.connect(("127.0.0.1", port))
            fillers.append(f)
        c = RestconfClient(
            "127.0.0.1", port, "u", "p", tls=TLSConfig(enabled=False),
            timeout=30.0, connect_timeout=0.2, retries=2, backoff_base=0.01,
        )
        try:
            async with asyncio.timeout(20):
                with pytest.raises(DeviceUnreachable, match="Connection timeout"):
                    await c.post(paths.RPC_APP_HOSTING, {"x": 1})
            assert c.stats["retries"] == 2
        finally:
            await c.close()
            for f in fillers:
                f.close()


def test_parse_errors_json_and_xml() -> None:
    body = b'{"ietf-restconf:errors": {"error": [{"error-tag": "in-use", "error-message": "m1"}]}}'
    assert parse_errors(body) == ("in-use", "m1")
    xml = b"<errors><error><error-tag>lock-denied</error-tag><error-message>locked</error-message></error></errors>"
    assert parse_errors(xml) == ("lock-denied", "locked")
    assert parse_errors(b"") == ("", "")
