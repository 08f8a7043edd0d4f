"""A pod on the FAKE device: the pod object it was created from plus one IOx app per container."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from typing import Any

from cvk.config.quantity import parse_quantity
from cvk.driver.base import Pod
from cvk.driver.fake.apps import App, Behaviour, Timings
from cvk.errors import InvalidInput

CRASH_IMAGE = "fake/crash"
"""Image convention: ``fake/crash:<code>`` exits with <code> (default 1 s after start)."""
EXIT_CODE_ENV = "FAKE_EXIT_CODE"
EXIT_AFTER_ENV = "FAKE_EXIT_AFTER"
DEFAULT_EXIT_AFTER = 1.0


@dataclasses.dataclass
class PodRecord:
    pod: Pod  # metadata and spec as received (status stripped)
    created_at: float
    apps: list[App]
    pod_ip: str | None
    qos_class: str | None = None

    @property
    def namespace(self) -> str:
        return str(self.pod["metadata"].get("namespace", "default"))

    @property
    def name(self) -> str:
        return str(self.pod["metadata"]["name"])

    @property
    def uid(self) -> str:
        return str(self.pod["metadata"].get("uid", ""))

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def restart_policy(self) -> str:
        return str(self.pod.get("spec", {}).get("restartPolicy") or "Always")

    def app(self, container: str) -> App | None:
        return next((a for a in self.apps if a.name == container), None)

    def advance(self, now: float, timings: Timings, fail_installs: bool) -> bool:
        changed = False
        for app in self.apps:
            changed |= app.advance(now, timings, self.restart_policy, fail_installs)
        return changed

    def to_dict(self) -> dict[str, Any]:
        return {"pod": self.pod, "createdAt": self.created_at, "podIP": self.pod_ip,
                "qosClass": self.qos_class, "apps": [a.to_dict() for a in self.apps]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PodRecord:
        return cls(pod=d["pod"], created_at=float(d["createdAt"]), pod_ip=d.get("podIP"),
                   qos_class=d.get("qosClass"), apps=[App.from_dict(a) for a in d["apps"]])


def pod_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def stored_pod(pod: Pod) -> Pod:
    """The parts of a pod the device keeps: metadata (without managedFields) and spec."""
    meta = copy.deepcopy(pod.get("metadata") or {})
    meta.pop("managedFields", None)
    return {"apiVersion": pod.get("apiVersion", "v1"), "kind": pod.get("kind", "Pod"),
            "metadata": meta, "spec": copy.deepcopy(pod.get("spec") or {})}


def app_id(uid: str, index: int) -> str:
    """``cvk<index:04>_<uid hex>``: 40 characters, the IOx app-id limit."""
    hexuid = uid.replace("-", "") or hashlib.sha256(str(index).encode()).hexdigest()
    return f"cvk{index:04d}_{hexuid}"[:40]


def _env(container: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for item in container.get("env") or []:
        if isinstance(item, dict) and "name" in item and "valueFrom" not in item:
            out.append((str(item["name"]), str(item.get("value") or "")))
    return out


def behaviour_of(container: dict[str, Any], env: list[tuple[str, str]], field: str) -> Behaviour:
    """The exit convention: image ``fake/crash:<code>``, or env FAKE_EXIT_CODE / FAKE_EXIT_AFTER."""
    envd = dict(env)
    code: int | None = None
    after: float | None = None
    image = str(container.get("image") or "")
    repo, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if repo.removeprefix("docker.io/") == CRASH_IMAGE:
        try:
            code = int(tag or "1")
        except ValueError:
            raise InvalidInput(f"{field}.image: {image!r}: the tag of {CRASH_IMAGE} is the exit code, "
                               f"e.g. {CRASH_IMAGE}:3") from None
    if EXIT_CODE_ENV in envd:
        try:
            code = int(envd[EXIT_CODE_ENV])
        except ValueError:
            raise InvalidInput(f"{field}.env[{EXIT_CODE_ENV}]: must be an integer exit code, "
                               f"got {envd[EXIT_CODE_ENV]!r}") from None
    if EXIT_AFTER_ENV in envd:
        try:
            after = float(envd[EXIT_AFTER_ENV])
            if after < 0:
                raise ValueError
        except ValueError:
            raise InvalidInput(f"{field}.env[{EXIT_AFTER_ENV}]: must be seconds >= 0, "
                               f"got {envd[EXIT_AFTER_ENV]!r}") from None
    if code is not None and not 0 <= code <= 255:
        raise InvalidInput(f"{field}: exit code {code} is outside 0..255")
    if code is None and after is None:
        return Behaviour()
    return Behaviour(exit_code=code or 0, exit_after=DEFAULT_EXIT_AFTER if after is None else after)


def _request(container: dict[str, Any], resource: str) -> str | None:
    res = container.get("resources") or {}
    for section in ("requests", "limits"):
        value = (res.get(section) or {}).get(resource)
        if value is not None:
            return str(value)
    return None


def new_apps(pod: Pod, now: float) -> list[App]:
    """One app per container, validated; raises InvalidInput naming the offending field."""
    spec = pod.get("spec") or {}
    if spec.get("initContainers"):
        raise InvalidInput("spec.initContainers: init containers are not supported by IOx app-hosting; "
                           "run the step in the main container instead")
    containers = spec.get("containers") or []
    if not containers:
        raise InvalidInput("spec.containers: a pod needs at least one container")
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    apps = []
    for i, c in enumerate(containers):
        field = f"spec.containers[{i}]"
        if not c.get("name"):
            raise InvalidInput(f"{field}.name: required")
        if not c.get("image"):
            raise InvalidInput(f"{field}.image: required")
        env = _env(c)
        cpu = _request(c, "cpu")
        mem = _request(c, "memory")
        try:
            cpu_millis = int(parse_quantity(cpu) * 1000) if cpu else 100
            memory = int(parse_quantity(mem)) if mem else 64 * 1024 * 1024
        except ValueError as err:
            raise InvalidInput(f"{field}.resources: {err}") from None
        apps.append(App(
            name=str(c["name"]), app_id=app_id(uid, i), image=str(c["image"]),
            command=[str(x) for x in (c.get("command") or [])] + [str(x) for x in (c.get("args") or [])],
            env=env, behaviour=behaviour_of(c, env, field), created_at=now, state_since=now,
            cpu_millis=max(cpu_millis, 1), memory_bytes=max(memory, 1),
        ))
    return apps
