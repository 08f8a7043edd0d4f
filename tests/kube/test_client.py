"""KubeClient against small aiohttp servers: requests, error mapping, retry rules, watch, TLS."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cvk import __version__
from cvk.kube import paths
from cvk.kube.client import KubeClient, WatchEvent, classify
from cvk.kube.config import KubeConfig
from cvk.kube.errors import (
    AlreadyExistsError,
    ApiError,
    ApiUnavailable,
    ConflictError,
    ForbiddenError,
    GoneError,
    InvalidError,
    NotFoundError,
    UnauthorizedError,
)

from .fakeapi import serve
from .helpers import make_pki

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def client_for(handler: Handler, **kw: Any) -> AsyncIterator[KubeClient]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    async with serve(app) as url:
        kw.setdefault("retry_base_delay", 0.001)
        client = KubeClient(KubeConfig(server=url, token="sekret"), **kw)
        try:
            yield client
        finally:
            await client.close()


def status(code: int, reason: str, message: str, **extra: Any) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        **extra,
    }
    return web.json_response(body, status=code)


async def test_get_sends_auth_and_user_agent_and_decodes_json() -> None:
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response({"kind": "Pod", "metadata": {"name": "web"}})

    async with client_for(handler) as client:
        obj = await client.get(paths.pods("default", "web"))
    assert obj["metadata"]["name"] == "web"
    assert seen[0].path == "/api/v1/namespaces/default/pods/web"
    assert seen[0].headers["Authorization"] == "Bearer sekret"
    assert seen[0].headers["User-Agent"] == f"cisco-vk/{__version__}"
    assert client.metrics == {("get", "pods"): 1}


@pytest.mark.parametrize(
    ("code", "reason", "cls"),
    [
        (404, "NotFound", NotFoundError),
        (409, "Conflict", ConflictError),
        (409, "AlreadyExists", AlreadyExistsError),
        (410, "Expired", GoneError),
        (401, "Unauthorized", UnauthorizedError),
        (403, "Forbidden", ForbiddenError),
        (400, "BadRequest", ApiError),
    ],
)
async def test_error_mapping_carries_the_server_message(code: int, reason: str, cls: type[ApiError]) -> None:
    async def handler(request: web.Request) -> web.Response:
        return status(code, reason, f"server says {reason}")

    async with client_for(handler) as client:
        with pytest.raises(cls) as err:
            await client.create(paths.pods("default"), {"metadata": {"name": "x"}})
    assert type(err.value) is cls
    assert err.value.status == code
    assert err.value.reason == reason
    assert err.value.message == f"server says {reason}"
    assert f"server says {reason}" in str(err.value)
    assert isinstance(err.value.body, dict)


async def test_invalid_error_has_causes() -> None:
    causes = [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers"}]

    async def handler(request: web.Request) -> web.Response:
        return status(422, "Invalid", 'Pod "x" is invalid', details={"causes": causes})

    async with client_for(handler) as client:
        with pytest.raises(InvalidError) as err:
            await client.replace(paths.pods("default", "x"), {"metadata": {"name": "x"}})
    assert err.value.causes == causes


async def test_non_json_error_body_becomes_the_message() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=502, text="bad gateway from proxy")

    async with client_for(handler, max_retries=0) as client:
        with pytest.raises(ApiError) as err:
            await client.get("/api/v1/nodes")
    assert err.value.status == 502
    assert err.value.message == "bad gateway from proxy"


async def test_get_retries_5xx_and_429_then_succeeds() -> None:
    answers = [
        status(503, "ServiceUnavailable", "busy"),
        status(429, "TooManyRequests", "slow down"),
        status(500, "InternalError", "oops"),
    ]

    async def handler(request: web.Request) -> web.Response:
        return answers.pop(0) if answers else web.json_response({"items": [], "metadata": {}})

    async with client_for(handler) as client:
        result = await client.list(paths.pods())
    assert result["items"] == []
    assert client.metrics == {("list", "pods"): 4}


async def test_retry_after_is_honoured() -> None:
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            resp = status(429, "TooManyRequests", "slow down")
            resp.headers["Retry-After"] = "0"
            return resp
        return web.json_response({"ok": True})

    # Our own backoff would wait an hour; Retry-After: 0 must win.
    async with client_for(handler, retry_base_delay=3600, retry_max_delay=3600) as client:
        assert await asyncio.wait_for(client.get("/api/v1/nodes/n1"), 10) == {"ok": True}
    assert calls == 2


async def test_get_gives_up_after_max_retries() -> None:
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        return status(503, "ServiceUnavailable", "still busy")

    async with client_for(handler, max_retries=3) as client:
        with pytest.raises(ApiError) as err:
            await client.get("/api/v1/nodes/n1")
    assert err.value.status == 503 and err.value.message == "still busy"
    assert calls == 4


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_writes_are_never_retried(method: str) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        return status(503, "ServiceUnavailable", "busy")

    async with client_for(handler) as client:
        with pytest.raises(ApiError):
            if method == "POST":
                await client.create(paths.pods("ns"), {"metadata": {"name": "a"}})
            elif method == "PUT":
                await client.replace(paths.pods("ns", "a", "status"), {"metadata": {"name": "a"}})
            elif method == "PATCH":
                await client.patch(paths.nodes("n1", "status"), {"status": {}}, patch_type="strategic")
            else:
                await client.delete(paths.pods("ns", "a"))
    assert calls == 1


async def test_4xx_is_never_retried_on_get() -> None:
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        return status(404, "NotFound", 'pods "a" not found')

    async with client_for(handler) as client:
        with pytest.raises(NotFoundError):
            await client.get(paths.pods("ns", "a"))
    assert calls == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_is_api_unavailable_and_get_retries() -> None:
    client = KubeClient(KubeConfig(server=f"http://127.0.0.1:{free_port()}"), max_retries=2, retry_base_delay=0.001)
    try:
        with pytest.raises(ApiUnavailable) as err:
            await client.get("/api/v1/nodes/n1")
        assert err.value.status == 0
        assert client.metrics == {("get", "nodes"): 3}
        with pytest.raises(ApiUnavailable):
            await client.create("/api/v1/nodes", {"metadata": {"name": "n1"}})
        assert client.metrics[("create", "nodes")] == 1
    finally:
        await client.close()
    with pytest.raises(ApiUnavailable, match="closed"):
        await client.get("/api/v1/nodes/n1")


async def test_timeout_is_api_unavailable() -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.json_response({})

    async with client_for(handler, timeout=0.2, max_retries=0) as client:
        with pytest.raises(ApiUnavailable):
            await client.get("/api/v1/nodes/n1")


async def test_list_params_patch_types_and_delete_options() -> None:
    seen: list[tuple[str, str, dict[str, str], str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        raw = await request.read()
        seen.append(
            (
                request.method,
                request.path,
                dict(request.query),
                request.content_type,
                json.loads(raw) if raw else None,
            )
        )
        return web.json_response({"kind": "Thing"})

    async with client_for(handler) as client:
        await client.list(
            paths.pods(),
            label_selector="app=web",
            field_selector="spec.nodeName=n1",
            limit=50,
            continue_="tok",
            resource_version="0",
        )
        await client.patch(paths.pods("ns", "a"), {"metadata": {"labels": {"x": "1"}}}, patch_type="merge")
        await client.patch(paths.pods("ns", "a"), [{"op": "remove", "path": "/metadata/labels/x"}], patch_type="json")
        await client.patch(paths.nodes("n1", "status"), {"status": {}}, patch_type="strategic")
        await client.patch(
            paths.leases("kube-node-lease", "n1"),
            {"spec": {}},
            patch_type="apply",
            field_manager="cisco-vk",
            force=True,
        )
        await client.delete(
            paths.pods("ns", "a"),
            grace_period_seconds=0,
            preconditions_uid="u-1",
            propagation_policy="Background",
        )
        with pytest.raises(ValueError, match="field_manager"):
            await client.patch(paths.pods("ns", "a"), {}, patch_type="apply")
        with pytest.raises(ValueError, match="list of operations"):
            await client.patch(paths.pods("ns", "a"), {}, patch_type="json")

    assert seen[0][2] == {
        "labelSelector": "app=web",
        "fieldSelector": "spec.nodeName=n1",
        "limit": "50",
        "continue": "tok",
        "resourceVersion": "0",
    }
    assert [s[3] for s in seen[1:5]] == [
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ]
    assert seen[2][4] == [{"op": "remove", "path": "/metadata/labels/x"}]
    assert seen[4][2] == {"fieldManager": "cisco-vk", "force": "true"}
    assert seen[5][0] == "DELETE"
    assert seen[5][4] == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u-1"},
        "propagationPolicy": "Background",
    }
    assert client.metrics == {
        ("list", "pods"): 1,
        ("patch", "pods"): 2,
        ("patch", "nodes/status"): 1,
        ("patch", "leases"): 1,
        ("delete", "pods"): 1,
    }


async def test_request_for_review_posts() -> None:
    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        body["status"] = {"authenticated": True, "user": {"username": "alice"}}
        return web.json_response(body, status=201)

    async with client_for(handler) as client:
        result = await client.request("POST", paths.token_reviews(), body={"spec": {"token": "t"}})
    assert result["status"]["user"]["username"] == "alice"
    assert client.metrics == {("create", "tokenreviews"): 1}


def watch_app(lines: list[bytes], status_code: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.query["watch"] == "true"
        if status_code != 200:
            return status(status_code, "Expired", "too old resource version: 1 (100)")
        resp = web.StreamResponse()
        await resp.prepare(request)
        for line in lines:
            # Split writes mid-line to exercise the line reassembly.
            for i in range(0, len(line), 7000):
                await resp.write(line[i : i + 7000])
                await asyncio.sleep(0)
        return resp

    return handler


def ev(type_: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": type_, "object": obj}).encode() + b"\n"


async def test_watch_streams_events_including_long_lines() -> None:
    big = {"metadata": {"name": "big", "resourceVersion": "5", "annotations": {"x": "y" * 200_000}}}
    lines = [
        ev("ADDED", {"metadata": {"name": "a", "resourceVersion": "2"}}),
        b"\n",
        ev("MODIFIED", big),
        ev("BOOKMARK", {"metadata": {"resourceVersion": "9"}}),
        ev("DELETED", {"metadata": {"name": "a", "resourceVersion": "10"}}),
    ]
    async with client_for(watch_app(lines)) as client:
        events = [e async for e in client.watch(paths.pods(), resource_version="1", timeout_seconds=30)]
    assert [e.type for e in events] == ["ADDED", "MODIFIED", "BOOKMARK", "DELETED"]
    assert events[1].object["metadata"]["annotations"]["x"] == "y" * 200_000
    assert isinstance(events[0], WatchEvent)
    assert client.metrics == {("watch", "pods"): 1}


async def test_watch_410_error_event_raises_gone() -> None:
    lines = [
        ev("ADDED", {"metadata": {"name": "a", "resourceVersion": "2"}}),
        ev(
            "ERROR",
            {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"},
        ),
        ev("ADDED", {"metadata": {"name": "never", "resourceVersion": "3"}}),
    ]
    got: list[WatchEvent] = []
    async with client_for(watch_app(lines)) as client:
        with pytest.raises(GoneError) as err:
            async with aclosing(client.watch(paths.pods(), resource_version="1")) as stream:
                async for e in stream:
                    got.append(e)
    assert [e.object["metadata"]["name"] for e in got] == ["a"]
    assert err.value.message == "too old resource version"


async def test_watch_http_410_raises_gone_and_other_errors_are_yielded() -> None:
    async with client_for(watch_app([], status_code=410)) as client:
        with pytest.raises(GoneError):
            async for _ in client.watch(paths.pods(), resource_version="1"):
                pass
    lines = [ev("ERROR", {"kind": "Status", "code": 500, "reason": "InternalError", "message": "etcd hiccup"})]
    async with client_for(watch_app(lines)) as client:
        events = [e async for e in client.watch(paths.pods(), resource_version="1")]
    assert events == [
        WatchEvent("ERROR", {"kind": "Status", "code": 500, "reason": "InternalError", "message": "etcd hiccup"})
    ]


async def test_watch_malformed_line_is_api_unavailable() -> None:
    async with client_for(watch_app([b"{not json\n"])) as client:
        with pytest.raises(ApiUnavailable, match="malformed"):
            async for _ in client.watch(paths.pods(), resource_version="1"):
                pass


async def test_tls_with_ca_and_client_certificate(tmp_path: Path) -> None:
    pki = make_pki()
    for name, data in (
        ("ca.crt", pki.ca_pem),
        ("srv.crt", pki.server_cert_pem),
        ("srv.key", pki.server_key_pem),
    ):
        (tmp_path / name).write_bytes(data)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.crt"))
    server_ctx.load_cert_chain(str(tmp_path / "srv.crt"), str(tmp_path / "srv.key"))
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    peers: list[Any] = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peercert") if request.transport else None)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server = f"https://127.0.0.1:{port}"
    try:
        good = KubeClient(
            KubeConfig(
                server=server,
                ca_data=pki.ca_pem,
                client_cert_data=pki.client_cert_pem,
                client_key_data=pki.client_key_pem,
            )
        )
        assert await good.get("/version") == {"ok": True}
        await good.close()
        subject = dict(x[0] for x in peers[0]["subject"])
        assert subject["commonName"] == "cisco-vk"

        # tls-server-name: the certificate is for kube.test and 127.0.0.1; a wrong name must fail.
        wrong_name = KubeClient(
            KubeConfig(
                server=server,
                ca_data=pki.ca_pem,
                client_cert_data=pki.client_cert_pem,
                client_key_data=pki.client_key_pem,
                tls_server_name="other.test",
            ),
            max_retries=0,
        )
        with pytest.raises(ApiUnavailable):
            await wrong_name.get("/version")
        await wrong_name.close()

        other_ca = make_pki().ca_pem
        untrusted = KubeClient(
            KubeConfig(
                server=server,
                ca_data=other_ca,
                client_cert_data=pki.client_cert_pem,
                client_key_data=pki.client_key_pem,
            ),
            max_retries=0,
        )
        with pytest.raises(ApiUnavailable):
            await untrusted.get("/version")
        await untrusted.close()

        insecure = KubeClient(
            KubeConfig(
                server=server,
                insecure=True,
                client_cert_data=pki.client_cert_pem,
                client_key_data=pki.client_key_pem,
            )
        )
        assert await insecure.get("/version") == {"ok": True}
        await insecure.close()
    finally:
        await runner.cleanup()


def test_classify() -> None:
    assert classify("GET", "/api/v1/namespaces/ns/pods") == ("list", "pods")
    assert classify("GET", "/api/v1/pods", {"watch": "true"}) == ("watch", "pods")
    assert classify("GET", "/api/v1/namespaces/ns/pods/a/log") == ("get", "pods/log")
    assert classify("PUT", "/api/v1/namespaces/ns/pods/a/status") == ("update", "pods/status")
    assert classify("GET", "/api/v1/namespaces/kube-system") == ("get", "namespaces")
    assert classify("GET", "/api/v1/namespaces") == ("list", "namespaces")
    assert classify("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases") == (
        "create",
        "leases",
    )
    assert classify("DELETE", "/api/v1/namespaces/ns/pods") == ("deletecollection", "pods")
    assert classify("GET", "/version") == ("get", "/version")


def test_paths() -> None:
    assert paths.pods() == "/api/v1/pods"
    assert paths.pods("ns", "a b/c", "status") == "/api/v1/namespaces/ns/pods/a%20b%2Fc/status"
    assert paths.nodes("n1", "status") == "/api/v1/nodes/n1/status"
    assert paths.leases("kube-node-lease", "n1") == "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1"
    assert paths.events("ns", "e.1") == "/api/v1/namespaces/ns/events/e.1"
    assert paths.configmaps("ns") == "/api/v1/namespaces/ns/configmaps"
    assert paths.secrets("ns", "s") == "/api/v1/namespaces/ns/secrets/s"
    assert paths.services() == "/api/v1/services"
    assert paths.deployments("ns", "d") == "/apis/apps/v1/namespaces/ns/deployments/d"
    assert paths.custom("cisco.com", "v1alpha1", "ciscodevices", "ns", "sw1", "status") == (
        "/apis/cisco.com/v1alpha1/namespaces/ns/ciscodevices/sw1/status"
    )
    assert paths.custom("cisco.com", "v1alpha1", "ciscodevices") == "/apis/cisco.com/v1alpha1/ciscodevices"
    assert paths.token_reviews() == "/apis/authentication.k8s.io/v1/tokenreviews"
    assert paths.subject_access_reviews() == "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    with pytest.raises(ValueError):
        paths.pods("ns", "")
    with pytest.raises(ValueError):
        paths.pods("ns", None, "status")
