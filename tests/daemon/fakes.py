"""In-test fakes for the daemon's unit tests: an in-memory API client and a small driver."""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Callable
from typing import Any

from cvk.driver.base import Driver, NodeResources, Pod, PodCallback, PodStatus
from cvk.errors import DeviceUnreachable, NotFound
from cvk.kube.errors import AlreadyExistsError, ConflictError, NotFoundError


async def until(cond: Callable[[], Any], limit: float = 5.0) -> None:
    """Wait until ``cond()`` is true; fail after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)


def pod(
    name: str = "web",
    ns: str = "default",
    *,
    uid: str = "uid-1",
    rv: str = "10",
    phase: str | None = None,
    containers: list[dict[str, Any]] | None = None,
    restart_policy: str = "Always",
    **spec: Any,
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": rv},
        "spec": {
            "nodeName": "n1",
            "restartPolicy": restart_policy,
            "containers": containers if containers is not None else [{"name": "c", "image": "fake/app:1"}],
            **spec,
        },
        "status": {},
    }
    if phase:
        p["status"]["phase"] = phase
    return p


class FakeClient:
    """Objects by path; resourceVersion bumps on every write; every call is recorded."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self._rv = itertools.count(100)
        self.conflicts: dict[str, int] = {}  # path -> number of PUTs to answer 409
        self.fail_get: dict[str, Exception] = {}

    def put_object(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(next(self._rv))
        obj["metadata"].setdefault("uid", f"uid-{path}")
        self.objects[path] = obj
        return copy.deepcopy(obj)

    async def get(self, path: str, params: Any = None) -> dict[str, Any]:
        self.calls.append(("GET", path, None))
        if path in self.fail_get:
            raise self.fail_get[path]
        if path not in self.objects:
            raise NotFoundError(404, "NotFound", f"{path} not found")
        return copy.deepcopy(self.objects[path])

    async def list(self, path: str, **kw: Any) -> dict[str, Any]:
        self.calls.append(("LIST", path, kw))
        items = [copy.deepcopy(o) for p, o in self.objects.items() if p.startswith(path + "/")]
        fs = kw.get("field_selector")
        if fs and fs.startswith("metadata.name="):
            items = [i for i in items if i["metadata"]["name"] == fs.split("=", 1)[1]]
        return {"items": items}

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("POST", path, copy.deepcopy(body)))
        target = f"{path}/{body['metadata']['name']}"
        if target in self.objects:
            raise AlreadyExistsError(409, "AlreadyExists", "exists")
        return self.put_object(target, body)

    async def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("PUT", path, copy.deepcopy(body)))
        target = path[: -len("/status")] if path.endswith("/status") else path
        if target not in self.objects:
            raise NotFoundError(404, "NotFound", "not found")
        if self.conflicts.get(path, 0) > 0:
            self.conflicts[path] -= 1
            raise ConflictError(409, "Conflict", "the object has been modified")
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != self.objects[target]["metadata"]["resourceVersion"]:
            raise ConflictError(409, "Conflict", "stale resourceVersion")
        obj = copy.deepcopy(self.objects[target])
        if path.endswith("/status"):
            obj["status"] = copy.deepcopy(body.get("status") or {})
        else:
            obj = copy.deepcopy(body)
            obj["metadata"]["uid"] = self.objects[target]["metadata"].get("uid")
        return self.put_object(target, obj)

    async def patch(self, path: str, body: Any, *, patch_type: str, **kw: Any) -> dict[str, Any]:
        self.calls.append(("PATCH", path, copy.deepcopy(body)))
        target = path[: -len("/status")] if path.endswith("/status") else path
        if target not in self.objects:
            raise NotFoundError(404, "NotFound", "not found")
        obj = copy.deepcopy(self.objects[target])
        _strategic(obj, body)
        return self.put_object(target, obj)

    async def delete(self, path: str, **kw: Any) -> dict[str, Any]:
        self.calls.append(("DELETE", path, kw))
        if path not in self.objects:
            raise NotFoundError(404, "NotFound", "not found")
        uid = kw.get("preconditions_uid")
        if uid and self.objects[path]["metadata"].get("uid") != uid:
            raise ConflictError(409, "Conflict", "Precondition failed: UID in precondition")
        return self.objects.pop(path)

    def verbs(self, verb: str, path_part: str = "") -> list[tuple[str, str, Any]]:
        return [c for c in self.calls if c[0] == verb and path_part in c[1]]


_MERGE_KEYS = {"conditions": "type", "addresses": "type"}


def _strategic(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Just enough strategic merge for node status patches (maps merge, keyed lists merge by type)."""
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif k in _MERGE_KEYS and isinstance(v, list):
            key = _MERGE_KEYS[k]
            current = {e[key]: e for e in target.get(k) or []}
            order = [e[key] for e in target.get(k) or []]
            for e in v:
                if e.get("$patch") == "delete":
                    current.pop(e[key], None)
                    continue
                if e[key] not in current:
                    order.append(e[key])
                current[e[key]] = {**current.get(e[key], {}), **e}
            target[k] = [current[t] for t in order if t in current]
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _strategic(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


class SmallDriver(Driver):
    """A tiny in-memory driver: records calls, statuses set by the test, optional outage."""

    def __init__(self, *, notify: bool = True) -> None:
        self.pods: dict[str, Pod] = {}
        self.calls: list[tuple[str, str]] = []
        self.down = False
        self.list_error: Exception | None = None
        self.create_error: Exception | None = None
        self.callback: PodCallback | None = None
        self._notify = notify

    def _check(self) -> None:
        if self.down:
            raise DeviceUnreachable("connect to 192.0.2.1:443: connection refused")

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        self._check()

    async def node_resources(self) -> NodeResources:
        self._check()
        return NodeResources(capacity={"cpu": "8", "memory": "16Gi"}, allocatable={"cpu": "7", "memory": "15Gi"})

    async def create_pod(self, pod: Pod) -> None:
        self._check()
        self.calls.append(("create", _key(pod)))
        if self.create_error is not None:
            raise self.create_error
        p = copy.deepcopy(pod)
        p["status"] = {"phase": "Pending"}
        self.pods[_key(pod)] = p

    async def update_pod(self, pod: Pod) -> None:
        self._check()
        self.calls.append(("update", _key(pod)))
        status = self.pods[_key(pod)].get("status")
        self.pods[_key(pod)] = {**copy.deepcopy(pod), "status": status}

    async def delete_pod(self, pod: Pod) -> None:
        self._check()
        self.calls.append(("delete", _key(pod)))
        if _key(pod) not in self.pods:
            raise NotFound(_key(pod))
        del self.pods[_key(pod)]

    async def get_pod(self, namespace: str, name: str) -> Pod:
        self._check()
        key = f"{namespace}/{name}"
        if key not in self.pods:
            raise NotFound(key)
        return copy.deepcopy(self.pods[key])

    async def get_pod_status(self, namespace: str, name: str) -> PodStatus:
        return dict((await self.get_pod(namespace, name)).get("status") or {})

    async def list_pods(self) -> list[Pod]:
        self._check()
        if self.list_error is not None:
            raise self.list_error
        return [copy.deepcopy(p) for p in self.pods.values()]

    def notify_pods(self, callback: PodCallback) -> None:
        self.callback = callback

    @property
    def supports_notify(self) -> bool:
        return self._notify

    def set_status(self, key: str, status: dict[str, Any]) -> None:
        self.pods[key]["status"] = copy.deepcopy(status)
        if self.callback is not None:
            self.callback(copy.deepcopy(self.pods[key]))


def _key(pod: Pod) -> str:
    return f"{pod['metadata'].get('namespace') or 'default'}/{pod['metadata']['name']}"
