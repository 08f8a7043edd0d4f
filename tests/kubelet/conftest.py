"""Fixtures of the kubelet API tests: a KubeletServer on 127.0.0.1:0 with the TestDriver."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from cvk.kubelet import KubeletServer
from cvk.options import RunOptions
from hack.kubeapi.fixtures import kubeapi  # noqa: F401  (the API emulator, for test_e2e.py)
from tests.kubelet.fakes import FakeReviews, TestDriver, pod


@dataclass
class Kubelet:
    server: KubeletServer
    driver: TestDriver
    reviews: FakeReviews
    session: aiohttp.ClientSession
    api_pods: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"


def insecure_ssl() -> ssl.SSLContext:
    """A client context that accepts the server's self-signed certificate (loads no CA bundle)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


StartKubelet = Callable[..., Awaitable[Kubelet]]


@pytest.fixture
async def start_kubelet() -> AsyncIterator[StartKubelet]:
    started: list[Kubelet] = []

    async def start(*, ssl_context: ssl.SSLContext | None = None, **opts: Any) -> Kubelet:
        settings: dict[str, Any] = {
            "node_name": "node-a",
            "kubelet_address": "127.0.0.1",
            "kubelet_port": 0,
            "authentication_token_webhook": False,
            "authorization_webhook": False,
            "anonymous_auth": True,
        }
        settings.update(opts)
        driver = TestDriver()
        reviews = FakeReviews()
        api_pods = [pod("default", "p1"), pod("kube-system", "p2", uid="uid-2")]
        server = KubeletServer(driver, "node-a", RunOptions(**settings), reviews, lambda: api_pods)
        await server.start()
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context or insecure_ssl()))
        k = Kubelet(server, driver, reviews, session, api_pods)
        started.append(k)
        return k

    yield start
    for k in started:
        await k.session.close()
        await k.server.stop()


@pytest.fixture
async def kubelet(start_kubelet: StartKubelet) -> Kubelet:
    return await start_kubelet()
