"""List and watch through the official client: resourceVersion, selectors, bookmarks, timeouts, 410."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException


@pytest.fixture
def core(kubeapi: Any) -> client.CoreV1Api:
    return client.CoreV1Api(kubeapi.client())


def _cm(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}}


def _stream(core: client.CoreV1Api, **kw: Any) -> list[tuple[str, str, str]]:
    w = watch.Watch()
    out = []
    for ev in w.stream(core.list_namespaced_config_map, "default", **kw):
        obj = ev["object"]
        out.append((ev["type"], obj.metadata.name, obj.metadata.resource_version))
    return out


def test_watch_from_resource_version_sees_only_newer_events(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", _cm("before"))
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", _cm("after"))
    core.patch_namespaced_config_map("after", "default", {"data": {"a": "1"}})
    core.delete_namespaced_config_map("after", "default")
    events = _stream(core, resource_version=rv, timeout_seconds=1)
    assert [(t, n) for t, n, _ in events] == [("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")]
    rvs = [int(r) for _, _, r in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_watch_without_resource_version_starts_with_current_state(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", _cm("one"))
    core.create_namespaced_config_map("default", _cm("two"))
    events = _stream(core, timeout_seconds=1)
    assert [(t, n) for t, n, _ in events] == [("ADDED", "one"), ("ADDED", "two")]


def test_watch_timeout_seconds_ends_the_stream(kubeapi: Any) -> None:
    r = kubeapi.request("GET", "/api/v1/namespaces/default/configmaps", params={"watch": "1", "timeoutSeconds": "1"})
    assert r.status_code == 200
    assert r.text == ""


def test_watch_selectors_translate_transitions(core: client.CoreV1Api) -> None:
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", _cm("x", {"app": "web"}))
    core.create_namespaced_config_map("default", _cm("y", {"app": "db"}))
    core.patch_namespaced_config_map("x", "default", {"metadata": {"labels": {"app": "other"}}})
    core.patch_namespaced_config_map("y", "default", {"metadata": {"labels": {"app": "web"}}})
    events = _stream(core, resource_version=rv, label_selector="app=web", timeout_seconds=1)
    # x leaves the selection (DELETED), y enters it (ADDED), as the real server reports them.
    assert [(t, n) for t, n, _ in events] == [("ADDED", "x"), ("DELETED", "x"), ("ADDED", "y")]
    by_field = _stream(core, resource_version=rv, field_selector="metadata.name=y", timeout_seconds=1)
    assert [(t, n) for t, n, _ in by_field] == [("ADDED", "y"), ("MODIFIED", "y")]


def test_bookmarks(kubeapi: Any, core: client.CoreV1Api) -> None:
    kubeapi.server.bookmark_interval = 0.2
    core.create_namespaced_config_map("default", _cm("a"))
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    r = kubeapi.request(
        "GET",
        "/api/v1/namespaces/default/configmaps",
        params={"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "1"},
    )
    events = [json.loads(line) for line in r.text.splitlines()]
    assert events and all(e["type"] == "BOOKMARK" for e in events)
    assert events[0]["object"] == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": rv}}


def test_send_initial_events_ends_with_annotated_bookmark(kubeapi: Any, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", _cm("a"))
    r = kubeapi.request(
        "GET",
        "/api/v1/namespaces/default/configmaps",
        params={
            "watch": "1",
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "1",
        },
    )
    events = [json.loads(line) for line in r.text.splitlines()]
    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "a"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_live_watch_receives_events_as_they_happen(core: client.CoreV1Api) -> None:
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    seen: list[tuple[str, str]] = []
    got_two = threading.Event()

    def run() -> None:
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=10):
            seen.append((ev["type"], ev["object"].metadata.name))
            if len(seen) == 2:
                got_two.set()
                w.stop()

    t = threading.Thread(target=run)
    t.start()
    core.create_namespaced_config_map("default", _cm("live"))
    core.delete_namespaced_config_map("live", "default")
    assert got_two.wait(10)
    t.join(10)
    assert seen == [("ADDED", "live"), ("DELETED", "live")]


def test_expired_resource_version_gives_410_and_relist_resumes(kubeapi: Any, core: client.CoreV1Api) -> None:
    kubeapi.server.set_watch_window(3)
    core.create_namespaced_config_map("default", _cm("first"))
    old_rv = core.list_namespaced_config_map("default").metadata.resource_version
    for i in range(5):
        core.create_namespaced_config_map("default", _cm(f"churn-{i}"))
    with pytest.raises(ApiException) as exc:
        _stream(core, resource_version=old_rv, timeout_seconds=1)
    assert exc.value.status == 410
    assert "Expired: too old resource version" in exc.value.reason
    # The client recovers the way informers do: relist, then watch from the list's version.
    listed = core.list_namespaced_config_map("default")
    assert len(listed.items) == 6
    core.create_namespaced_config_map("default", _cm("after-relist"))
    events = _stream(core, resource_version=listed.metadata.resource_version, timeout_seconds=1)
    assert [(t, n) for t, n, _ in events] == [("ADDED", "after-relist")]


def test_expired_continue_token_is_410(kubeapi: Any, core: client.CoreV1Api) -> None:
    for i in range(4):
        core.create_namespaced_config_map("default", _cm(f"c{i}"))
    page = core.list_namespaced_config_map("default", limit=2)
    core.create_namespaced_config_map("default", _cm("later"))
    kubeapi.server.compact()
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map("default", limit=2, _continue=page.metadata._continue)
    assert exc.value.status == 410
    assert json.loads(exc.value.body)["reason"] == "Expired"


def test_closed_watch_connections_release_their_watchers(kubeapi: Any) -> None:
    import requests

    from hack.kubeapi.fixtures import wait_for

    sessions = []
    for _ in range(3):
        s = requests.Session()
        r = s.get(
            kubeapi.url + "/api/v1/namespaces/default/configmaps",
            params={"watch": "1", "timeoutSeconds": "300"},
            headers={"Authorization": f"Bearer {kubeapi.token}"},
            verify=str(kubeapi.ca_file),
            stream=True,
            timeout=30,
        )
        assert r.status_code == 200
        sessions.append((s, r))
    wait_for(lambda: kubeapi.server.store.watcher_count() == 3, message="3 watchers")
    for s, r in sessions:
        r.close()
        s.close()
    wait_for(lambda: kubeapi.server.store.watcher_count() == 0, message="watchers released")
