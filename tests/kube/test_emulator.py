"""cvk.kube against the project's API server emulator (hack/kubeapi): real TLS, token, semantics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.config import load_config
from cvk.kube.errors import AlreadyExistsError, ConflictError, GoneError, InvalidError, NotFoundError
from cvk.kube.events import EventRecorder
from cvk.kube.informer import Informer, object_key

from .fakeapi import pod
from .helpers import eventually


@pytest.fixture
async def client(kubeapi: Any) -> AsyncIterator[KubeClient]:
    c = KubeClient(load_config(str(kubeapi.kubeconfig)), max_retries=1, retry_base_delay=0.01)
    try:
        yield c
    finally:
        await c.close()


async def test_crud_and_error_mapping(client: KubeClient) -> None:
    created = await client.create(paths.pods("default"), pod("web"))
    uid = created["metadata"]["uid"]
    with pytest.raises(AlreadyExistsError):
        await client.create(paths.pods("default"), pod("web"))
    await client.patch(paths.pods("default", "web"), {"metadata": {"labels": {"a": "1"}}}, patch_type="merge")
    await client.patch(paths.pods("default", "web"), {"metadata": {"labels": {"b": "2"}}}, patch_type="strategic")
    await client.patch(
        paths.pods("default", "web"), [{"op": "add", "path": "/metadata/labels/c", "value": "3"}], patch_type="json"
    )
    applied = await client.patch(
        paths.pods("default", "web"),
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"d": "4"}}},
        patch_type="apply",
        field_manager="cvk-test",
        force=True,
    )
    assert applied["metadata"]["labels"] == {"a": "1", "b": "2", "c": "3", "d": "4"}

    current = await client.get(paths.pods("default", "web"))
    current["status"] = {"phase": "Running"}
    written = await client.replace(paths.pods("default", "web", "status"), current)
    assert written["status"]["phase"] == "Running"
    with pytest.raises(ConflictError):
        await client.replace(paths.pods("default", "web", "status"), current)  # stale resourceVersion

    with pytest.raises(InvalidError) as invalid:
        await client.create(
            paths.pods("default"), {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {}}
        )
    assert any(c.get("field") == "spec.containers" for c in invalid.value.causes)

    with pytest.raises(ConflictError):
        await client.delete(paths.pods("default", "web"), grace_period_seconds=0, preconditions_uid="not-the-uid")
    await client.delete(paths.pods("default", "web"), grace_period_seconds=0, preconditions_uid=uid)
    with pytest.raises(NotFoundError):
        await client.get(paths.pods("default", "web"))

    listed = await client.list(paths.pods("default"))
    with pytest.raises(GoneError):
        async for _ in client.watch(paths.pods(), resource_version="1"):
            pass
    assert listed["metadata"]["resourceVersion"]
    assert client.metrics[("patch", "pods")] == 4


async def test_informer_resumes_after_forced_410(kubeapi: Any, client: KubeClient) -> None:
    for name, node in (("a", "n1"), ("b", "n1"), ("c", "n2")):
        await client.create(paths.pods("default"), pod(name, node=node))
    inf = Informer(
        client,
        paths.pods(),
        field_selector="spec.nodeName=n1",
        name="pods",
        page_size=1,
        watch_timeout_seconds=1,
        backoff_base=0.01,
        backoff_max=0.1,
    )
    events: list[tuple[str, str]] = []
    inf.add_handler(
        lambda o: events.append(("add", object_key(o))),
        lambda old, new: events.append(("update", object_key(new))),
        lambda o: events.append(("delete", object_key(o))),
    )
    await inf.start()
    try:
        await inf.wait_synced(10)
        assert sorted(inf.keys()) == ["default/a", "default/b"]
        await client.create(paths.pods("default"), pod("d"))
        await eventually(lambda: inf.get("default/d") is not None, what="watch delivers the new pod")

        # Starve the informer of watches, change things behind its back, compact the history.
        kubeapi.server.deny("*:watch:pods")
        before = inf.watches
        await eventually(lambda: inf.watches >= before + 2, within=10, what="denied watch attempts")
        await client.delete(paths.pods("default", "b"), grace_period_seconds=0)
        await client.patch(paths.pods("default", "a"), {"metadata": {"labels": {"v": "2"}}}, patch_type="merge")
        await client.create(paths.pods("default"), pod("e"))
        kubeapi.server.compact()
        assert inf.lists == 1
        kubeapi.server.clear_deny()

        await eventually(lambda: inf.lists == 2, within=10, what="relist after 410")
        assert sorted(inf.keys()) == ["default/a", "default/d", "default/e"]
        assert ("delete", "default/b") in events
        assert events.count(("update", "default/a")) == 1
        assert ("add", "default/e") in events
        a = inf.get("default/a")
        assert a is not None and a["metadata"]["labels"] == {"v": "2"} and a["kind"] == "Pod"
    finally:
        await inf.stop()


async def test_events_are_aggregated(client: KubeClient) -> None:
    created = await client.create(paths.pods("default"), pod("web"))
    recorder = EventRecorder(client, "n1/pod-controller", "n1")
    for _ in range(3):
        recorder.event(created, "Warning", "ProviderCreateFailed", "device unreachable")
    await recorder.close()
    items = (await client.list(paths.events("default"))).get("items") or []
    mine = [e for e in items if e["involvedObject"].get("uid") == created["metadata"]["uid"]]
    assert len(mine) == 1
    assert mine[0]["count"] == 3
    assert mine[0]["source"] == {"component": "n1/pod-controller", "host": "n1"}
    assert mine[0]["involvedObject"]["kind"] == "Pod"
