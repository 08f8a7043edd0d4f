"""EventRecorder: background writes, client-go-style aggregation of repeats, never raising."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from cvk.kube.client import KubeClient
from cvk.kube.config import KubeConfig
from cvk.kube.events import EventRecorder

from .fakeapi import FakeApi, pod, serve
from .helpers import eventually


@asynccontextmanager
async def recorder(**kw: Any) -> AsyncIterator[tuple[FakeApi, EventRecorder]]:
    api = FakeApi()
    async with serve(api.app) as url:
        client = KubeClient(KubeConfig(server=url), max_retries=0)
        rec = EventRecorder(client, "n1/pod-controller", "n1", **kw)
        try:
            yield api, rec
        finally:
            await rec.close()
            await client.close()


def stored_events(api: FakeApi) -> list[dict[str, Any]]:
    return sorted(api.store.get("events", {}).values(), key=lambda e: e["metadata"]["name"])


async def test_event_is_written_with_involved_object_and_source() -> None:
    async with recorder() as (api, rec):
        p = pod("web", ns="shop", uid="u-1")
        rec.event(p, "Normal", "ProviderCreateSuccess", "Create pod in provider successfully")
        await rec.close()
        [ev] = stored_events(api)
    assert ev["metadata"]["namespace"] == "shop"
    assert ev["metadata"]["name"].startswith("web.")
    assert ev["involvedObject"] == {
        "kind": "Pod",
        "apiVersion": "v1",
        "namespace": "shop",
        "name": "web",
        "uid": "u-1",
    }
    assert ev["source"] == {"component": "n1/pod-controller", "host": "n1"}
    assert ev["type"] == "Normal"
    assert ev["reason"] == "ProviderCreateSuccess"
    assert ev["message"] == "Create pod in provider successfully"
    assert ev["count"] == 1
    assert ev["firstTimestamp"] == ev["lastTimestamp"]
    assert ev["firstTimestamp"].endswith("Z")


async def test_repeats_are_aggregated_into_patches() -> None:
    async with recorder() as (api, rec):
        p = pod("web", uid="u-1")
        for _ in range(3):
            rec.event(p, "Warning", "ProviderCreateFailed", "device unreachable")
        rec.event(p, "Warning", "ProviderCreateFailed", "install failed")
        rec.event(pod("web", uid="u-2"), "Warning", "ProviderCreateFailed", "device unreachable")
        await eventually(lambda: rec.created + rec.patched == 5)
        events = stored_events(api)
        assert len(api.calls("POST", "events")) == 3
        patches = api.calls("PATCH", "events")
        assert len(patches) == 2
        assert patches[0].headers["Content-Type"] == "application/merge-patch+json"
        assert set(patches[0].body) == {"count", "lastTimestamp", "message"}
    counts = sorted((e["message"], e["involvedObject"]["uid"], e["count"]) for e in events)
    assert counts == [
        ("device unreachable", "u-1", 3),
        ("device unreachable", "u-2", 1),
        ("install failed", "u-1", 1),
    ]


async def test_expired_event_is_created_again() -> None:
    async with recorder() as (api, rec):
        p = pod("web", uid="u-1")
        rec.event(p, "Normal", "Started", "started")
        await eventually(lambda: rec.created == 1)
        [ev] = stored_events(api)
        api.remove("events", "default", ev["metadata"]["name"])  # the API's event TTL
        rec.event(p, "Normal", "Started", "started")
        await eventually(lambda: rec.created == 2)
        [again] = stored_events(api)
    assert again["count"] == 1
    assert again["metadata"]["name"] != ev["metadata"]["name"]


async def test_cluster_scoped_objects_get_events_in_default() -> None:
    async with recorder() as (api, rec):
        node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1", "uid": "node-uid"}}
        rec.event(node, "Warning", "DeviceUnreachable", "no answer from 10.0.0.1:443")
        await rec.close()
        [ev] = stored_events(api)
    assert ev["metadata"]["namespace"] == "default"
    assert ev["involvedObject"] == {"kind": "Node", "apiVersion": "v1", "name": "n1", "uid": "node-uid"}


async def test_spam_filter_and_truncation() -> None:
    async with recorder(burst=3, refill_seconds=3600) as (api, rec):
        p = pod("web", uid="u-1")
        for i in range(5):
            rec.event(p, "Warning", "Flapping", f"message {i}" + "x" * 2000)
        await rec.close()
        events = stored_events(api)
    assert len(events) == 3
    assert rec.dropped == 2
    assert all(len(e["message"]) == 1024 and e["message"].endswith("...") for e in events)


async def test_never_raises() -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"kind": "Status", "code": 403, "reason": "Forbidden", "message": "no"}, status=403)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", broken)
    async with serve(app) as url:
        client = KubeClient(KubeConfig(server=url), max_retries=0)
        rec = EventRecorder(client, "c", "h")
        rec.event(pod("web"), "Normal", "R", "m")
        rec.event({}, "Normal", "R", "object without metadata")
        rec.event({"metadata": "garbage"}, "Normal", "R", "m")
        rec.event(pod("web"), "Info", "R", "not a valid event type")
        await rec.close()
        await client.close()
    assert rec.failed == 1  # the 403 (not retried)
    assert rec.dropped == 3  # no name, malformed object, invalid type
    assert rec.created == 0
    rec.event(pod("web"), "Normal", "R", "after close")  # dropped quietly


def test_event_outside_an_event_loop_does_not_raise() -> None:
    rec = EventRecorder(KubeClient(KubeConfig(server="http://127.0.0.1:9")), "c", "h")
    rec.event(pod("web"), "Normal", "R", "m")
    assert rec.dropped == 1
