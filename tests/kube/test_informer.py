"""Informer: paginated list, watch from the list's resourceVersion, bookmarks, resume, 410 relist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.config import KubeConfig
from cvk.kube.informer import Informer, object_key

from .fakeapi import FakeApi, pod, serve
from .helpers import eventually


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []  # (kind, key, resourceVersion)
        self.updates: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def add(self, obj: dict[str, Any]) -> None:
        self.events.append(("add", object_key(obj), obj["metadata"]["resourceVersion"]))

    def update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.updates.append((old, new))
        self.events.append(("update", object_key(new), new["metadata"]["resourceVersion"]))

    def delete(self, obj: dict[str, Any]) -> None:
        self.events.append(("delete", object_key(obj), obj["metadata"]["resourceVersion"]))

    def kinds(self, key: str) -> list[str]:
        return [k for k, kk, _ in self.events if kk == key]


@asynccontextmanager
async def fake_cluster() -> AsyncIterator[tuple[FakeApi, KubeClient]]:
    api = FakeApi()
    async with serve(api.app) as url:
        client = KubeClient(KubeConfig(server=url), max_retries=0)
        try:
            yield api, client
        finally:
            await client.close()


def informer_for(client: KubeClient, **kw: Any) -> Informer:
    kw.setdefault("field_selector", "spec.nodeName=n1")
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.05)
    return Informer(client, paths.pods(), name="pods", page_size=2, watch_timeout_seconds=60, **kw)


async def test_list_paginates_then_watch_delivers_events() -> None:
    async with fake_cluster() as (api, client):
        for i in range(5):
            api.add("pods", pod(f"p{i}"))
        api.add("pods", pod("elsewhere", node="n2"))
        inf = informer_for(client)
        log = Log()
        inf.add_handler(log.add, log.update, log.delete)
        await inf.start()
        try:
            assert await inf.wait_synced(5)
            assert inf.has_synced
            assert sorted(inf.keys()) == [f"default/p{i}" for i in range(5)]
            assert [e[0] for e in log.events] == ["add"] * 5
            lists = api.calls("GET", "pods", watch=False)
            assert [r.query.get("continue") for r in lists] == [None, "2", "4"]
            assert all(r.query["limit"] == "2" and r.query["fieldSelector"] == "spec.nodeName=n1" for r in lists)
            # List items get kind/apiVersion back.
            p0 = inf.get("default/p0")
            assert p0 is not None and p0["kind"] == "Pod" and p0["apiVersion"] == "v1"
            list_rv = inf.last_resource_version
            await eventually(lambda: len(api.calls("GET", "pods", watch=True)) == 1)
            watch = api.calls("GET", "pods", watch=True)[0]
            assert watch.query["resourceVersion"] == list_rv
            assert watch.query["allowWatchBookmarks"] == "true"

            api.add("pods", pod("new"))
            api.modify("pods", "default", "p1", {"metadata": {"labels": {"x": "1"}}})
            api.remove("pods", "default", "p2")
            api.add("pods", pod("other-node", node="n2"))
            await eventually(lambda: len(log.events) == 8)
            assert log.events[5:] == [
                ("add", "default/new", str(api.rv - 3)),
                ("update", "default/p1", str(api.rv - 2)),
                ("delete", "default/p2", str(api.rv - 1)),
            ]
            assert log.updates[0][0]["metadata"].get("labels") is None
            assert log.updates[0][1]["metadata"]["labels"] == {"x": "1"}
            assert inf.get("default/p2") is None
            p1 = inf.get("default/p1")
            assert p1 is not None and p1["metadata"]["labels"] == {"x": "1"}
            assert inf.last_resource_version == str(api.rv - 1)
        finally:
            await inf.stop()


async def test_bookmarks_advance_the_resource_version() -> None:
    async with fake_cluster() as (api, client):
        api.add("pods", pod("a"))
        inf = informer_for(client)
        log = Log()
        inf.add_handler(log.add, log.update, log.delete)
        await inf.start()
        try:
            await inf.wait_synced(5)
            await eventually(lambda: len(api.watchers) == 1)
            rv = api.bookmark()
            await eventually(lambda: inf.last_resource_version == rv)
            assert log.kinds("default/a") == ["add"]
            # The next watch resumes from the bookmark's version.
            api.end_watches()
            await eventually(lambda: len(api.calls("GET", "pods", watch=True)) == 2)
            assert api.calls("GET", "pods", watch=True)[1].query["resourceVersion"] == rv
            assert inf.lists == 1
        finally:
            await inf.stop()


async def test_stream_end_resumes_watch_without_losing_events() -> None:
    async with fake_cluster() as (api, client):
        api.add("pods", pod("a"))
        inf = informer_for(client)
        log = Log()
        inf.add_handler(log.add, log.update, log.delete)
        await inf.start()
        try:
            await inf.wait_synced(5)
            await eventually(lambda: len(api.watchers) == 1)
            api.end_watches()
            api.add("pods", pod("b"))  # happens while no watch is open
            await eventually(lambda: inf.get("default/b") is not None)
            assert inf.lists == 1  # resumed, not relisted
            assert log.kinds("default/b") == ["add"]
        finally:
            await inf.stop()


async def test_forced_410_relists_and_synthesizes_deletes_and_updates() -> None:
    async with fake_cluster() as (api, client):
        for name in ("keep", "change", "vanish"):
            api.add("pods", pod(name))
        inf = informer_for(client)
        log = Log()
        inf.add_handler(log.add, log.update, log.delete)
        await inf.start()
        try:
            await inf.wait_synced(5)
            await eventually(lambda: len(api.watchers) == 1)
            old_rv = inf.last_resource_version
            # Changes the informer never sees as events, then history is compacted.
            api.remove("pods", "default", "vanish", notify=False)
            api.modify("pods", "default", "change", {"metadata": {"labels": {"v": "2"}}}, notify=False)
            api.add("pods", pod("appeared"), notify=False)
            api.expire_watches()
            await eventually(lambda: inf.lists == 2, what="relist after 410")
            assert log.kinds("default/vanish") == ["add", "delete"]
            assert log.kinds("default/change") == ["add", "update"]
            assert log.kinds("default/appeared") == ["add"]
            assert log.kinds("default/keep") == ["add"]  # unchanged: no event
            assert sorted(inf.keys()) == ["default/appeared", "default/change", "default/keep"]
            assert inf.last_resource_version == str(api.rv)
            watches = api.calls("GET", "pods", watch=True)
            assert watches[1].query["resourceVersion"] == old_rv  # tried to resume, got 410
            await eventually(lambda: len(api.calls("GET", "pods", watch=True)) == 3)
            assert api.calls("GET", "pods", watch=True)[2].query["resourceVersion"] == str(api.rv)
            # And the new watch works.
            api.remove("pods", "default", "keep")
            await eventually(lambda: log.kinds("default/keep") == ["add", "delete"])
        finally:
            await inf.stop()


async def test_error_event_triggers_relist() -> None:
    async with fake_cluster() as (api, client):
        api.add("pods", pod("a"))
        inf = informer_for(client)
        await inf.start()
        try:
            await inf.wait_synced(5)
            await eventually(lambda: len(api.watchers) == 1)
            api.send_error_event(500, "InternalError", "etcd hiccup")
            await eventually(lambda: inf.lists == 2)
        finally:
            await inf.stop()


async def test_list_errors_are_retried_with_backoff() -> None:
    failures = 2
    lists = 0
    api = FakeApi()

    @web.middleware
    async def flaky(request: web.Request, handler: Any) -> web.StreamResponse:
        nonlocal failures, lists
        if request.query.get("watch") != "true":
            lists += 1
        if request.query.get("watch") != "true" and failures > 0:
            failures -= 1
            return web.json_response(
                {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "no"}, status=403
            )
        return await handler(request)

    api.app.middlewares.append(flaky)
    api.add("pods", pod("a"))
    async with serve(api.app) as url:
        client = KubeClient(KubeConfig(server=url), max_retries=0)
        inf = informer_for(client)
        await inf.start()
        try:
            await inf.wait_synced(5)
            assert inf.keys() == ["default/a"]
            assert lists == 3
        finally:
            await inf.stop()
            await client.close()


async def test_late_handler_gets_replayed_adds_and_handler_errors_are_contained() -> None:
    async with fake_cluster() as (api, client):
        api.add("pods", pod("a"))
        api.add("pods", pod("b"))
        inf = informer_for(client)

        def broken(obj: dict[str, Any]) -> None:
            raise RuntimeError("handler bug")

        inf.add_handler(on_add=broken)
        await inf.start()
        try:
            await inf.wait_synced(5)
            log = Log()
            inf.add_handler(log.add, log.update, log.delete)
            assert sorted(k for _, k, _ in log.events) == ["default/a", "default/b"]
            api.add("pods", pod("c"))
            await eventually(lambda: log.kinds("default/c") == ["add"])
        finally:
            await inf.stop()


async def test_resync_replays_updates() -> None:
    async with fake_cluster() as (api, client):
        api.add("pods", pod("a"))
        inf = informer_for(client, resync_seconds=0.02)
        log = Log()
        inf.add_handler(log.add, log.update, log.delete)
        await inf.start()
        try:
            await eventually(lambda: log.kinds("default/a")[:3] == ["add", "update", "update"])
            old, new = log.updates[0]
            assert old is new
        finally:
            await inf.stop()


async def test_cluster_scoped_keys_and_wait_synced_timeout() -> None:
    async with fake_cluster() as (api, client):
        api.add("nodes", {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1"}})
        inf = Informer(client, paths.nodes(), name="nodes")
        await inf.start()
        try:
            await inf.wait_synced(5)
            assert inf.keys() == ["n1"]
            assert inf.list()[0]["metadata"]["name"] == "n1"
        finally:
            await inf.stop()
    unreachable = KubeClient(KubeConfig(server="http://127.0.0.1:9"), max_retries=0)
    inf = Informer(unreachable, paths.pods(), backoff_base=0.01)
    await inf.start()
    try:
        with pytest.raises(TimeoutError):
            await inf.wait_synced(0.2)
        assert not inf.has_synced
    finally:
        await inf.stop()
        await unreachable.close()


async def test_expired_continue_token_restarts_the_list() -> None:
    expired_once = False
    api = FakeApi()

    @web.middleware
    async def expire_continue(request: web.Request, handler: Any) -> web.StreamResponse:
        nonlocal expired_once
        if request.query.get("continue") and not expired_once:
            expired_once = True
            status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "continue token expired"}
            return web.json_response(status, status=410)
        return await handler(request)

    api.app.middlewares.append(expire_continue)
    for i in range(3):
        api.add("pods", pod(f"p{i}"))
    async with serve(api.app) as url:
        client = KubeClient(KubeConfig(server=url), max_retries=0)
        inf = informer_for(client)
        log = Log()
        inf.add_handler(log.add, log.update, log.delete)
        await inf.start()
        try:
            await inf.wait_synced(5)
            assert sorted(inf.keys()) == ["default/p0", "default/p1", "default/p2"]
            assert [e[0] for e in log.events] == ["add"] * 3  # no duplicates from the aborted pages
            assert inf.lists == 1
            assert [r.query.get("continue") for r in api.calls("GET", "pods", watch=False)] == [None, None, "2"]
        finally:
            await inf.stop()
            await client.close()


async def test_watch_http_errors_retry_the_watch_without_relisting() -> None:
    failures = 2
    api = FakeApi()

    @web.middleware
    async def flaky_watch(request: web.Request, handler: Any) -> web.StreamResponse:
        nonlocal failures
        if request.query.get("watch") == "true" and failures > 0:
            failures -= 1
            status = {"kind": "Status", "code": 500, "reason": "InternalError", "message": "etcd down"}
            return web.json_response(status, status=500)
        return await handler(request)

    api.app.middlewares.append(flaky_watch)
    api.add("pods", pod("a"))
    async with serve(api.app) as url:
        client = KubeClient(KubeConfig(server=url), max_retries=0)
        inf = informer_for(client)
        await inf.start()
        try:
            await inf.wait_synced(5)
            rv = inf.last_resource_version
            await eventually(lambda: len(api.watchers) == 1)
            assert inf.watches == 3
            assert inf.lists == 1
            assert api.calls("GET", "pods", watch=True)[0].query["resourceVersion"] == rv
            api.add("pods", pod("b"))
            await eventually(lambda: inf.get("default/b") is not None)
        finally:
            await inf.stop()
            await client.close()
