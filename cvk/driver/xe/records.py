"""The driver's memory of each pod and container: desired state, step bookkeeping, stable times.

Nothing here is the source of truth for what exists: the device is. Records hold what cannot be read
back from the device (the pod spec, restart counts, first-seen timestamps, the last error of a step).
``build_pod_record`` validates a pod completely before anything is sent to the device.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import shlex
from typing import Any

from cvk.config.spec import DeviceSpec
from cvk.driver.base import Pod
from cvk.driver.xe import naming, network, resources
from cvk.driver.xe.image import validate_image
from cvk.driver.xe.reconciler import Desired
from cvk.driver.xe.status import ConditionClock, now_rfc3339
from cvk.errors import InvalidInput

_ENV_BAD = frozenset(" \t\r\n\"'\\")  # never in a name
_ENV_CONTROL = frozenset(chr(c) for c in (*range(32), 127))  # never in a value (run-opts are lines)


@dataclasses.dataclass
class ContainerRecord:
    name: str
    index: int
    image: str
    app_id: str
    base_entry: dict[str, Any]  # app config without the network leaves (added per step)
    desired: Desired = Desired.RUNNING
    task: asyncio.Task[None] | None = None
    install_settled: asyncio.Event | None = None
    install_issued_at: float | None = None
    not_before: float = 0.0  # no step before this monotonic time (after a refused step)
    step_finished_at: float = 0.0  # decide again only from a read that began after this
    failures: int = 0
    error_reason: str = ""
    error_message: str = ""
    observed_state: str | None = None
    restart_count: int = 0
    next_restart_at: float | None = None
    backoff: float = 0.0
    last_terminated: dict[str, Any] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    arp_ip: str | None = None
    arp_checked_at: float | None = None  # last ARP lookup that found nothing (monotonic)
    crash_streak: int = 0  # restarts since the app last ran long enough to reset the back-off
    running_since: float | None = None  # monotonic time the app was last seen starting to run
    done: bool = False

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()


@dataclasses.dataclass
class PodRecord:
    uid: str
    namespace: str
    name: str
    pod: Pod
    containers: list[ContainerRecord]
    restart_policy: str
    start_time: str
    clock: ConditionClock = dataclasses.field(default_factory=ConditionClock)
    deleting: bool = False
    gone: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    last_status: dict[str, Any] | None = None
    final_phase: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _env_tokens(container: dict[str, Any], index: int) -> list[str]:
    tokens = []
    for j, env in enumerate(container.get("env") or []):
        name = str(env.get("name", ""))
        field = f"spec.containers[{index}].env[{j}]"
        if "valueFrom" in env and "value" not in env:
            raise InvalidInput(f"{field}.valueFrom: must be resolved before the pod reaches the driver")
        value = str(env.get("value", "") or "")
        if not name or any(c in _ENV_BAD or c == "=" for c in name):
            raise InvalidInput(f"{field}.name: {name!r} is not a valid environment variable name")
        if any(c in _ENV_CONTROL for c in value):
            raise InvalidInput(
                f"{field}.value: IOS-XE docker run options are single lines; remove the newline, carriage "
                f"return or other control character from the value of {name}"
            )
        # Shell-quoted as IOx parses run-opts (what the newest Go release does): spaces, quotes and
        # backslashes arrive intact, and a value can never read as another option or a label.
        tokens.append(f"-e {name}={shlex.quote(value)}")
    return tokens


def base_entry(spec: DeviceSpec, pod: Pod, container: dict[str, Any], index: int) -> dict[str, Any]:
    meta = pod["metadata"]
    app = naming.app_id(meta["name"], meta["uid"], container["name"])
    profile = resources.profile_for(container, index, spec.resource_limits)
    tokens = naming.label_tokens(meta["namespace"], meta["name"], meta["uid"], container["name"])
    tokens += _env_tokens(container, index)
    try:
        lines = naming.pack_lines(tokens)
    except ValueError as e:
        raise InvalidInput(f"spec.containers[{index}].env: {e}") from e
    return {
        "application-name": app,
        "application-resource-profile": profile.to_yang(),
        "run-optss": {"run-opts": lines},
        "prepend-pkg-opts": True,
        # The reconciler drives activate and start itself, one observed step at a time.
        "start": False,
    }


def build_pod_record(spec: DeviceSpec, pod: Pod, *, static_ready: bool) -> PodRecord:
    """Validate ``pod`` for this device and build its record; InvalidInput names the bad field."""
    meta = pod.get("metadata") or {}
    for key in ("namespace", "name", "uid"):
        if not meta.get(key):
            raise InvalidInput(f"metadata.{key}: required")
    pod_spec = pod.get("spec") or {}
    if pod_spec.get("initContainers"):
        raise InvalidInput(
            "spec.initContainers: not supported on IOS-XE app-hosting (each container is an app); "
            "remove them or run that work in the app itself"
        )
    containers = pod_spec.get("containers") or []
    if not containers:
        raise InvalidInput("spec.containers: at least one container is required")
    xe_iface = spec.xe.networking.interface if spec.xe else None
    network.validate_interface(xe_iface)
    if not network.uses_dhcp(xe_iface) and not static_ready:
        raise InvalidInput(
            "podCIDR: static addressing (dhcp: false) needs spec.podCIDR on the CiscoDevice "
            "(e.g. podCIDR: 192.168.10.0/24)"
        )
    seen: set[str] = set()
    records: list[ContainerRecord] = []
    for i, c in enumerate(containers):
        name = str(c.get("name", ""))
        if not name:
            raise InvalidInput(f"spec.containers[{i}].name: required")
        if name in seen:
            raise InvalidInput(f"spec.containers[{i}].name: duplicate container name {name!r}")
        seen.add(name)
        image = validate_image(str(c.get("image", "") or ""), f"spec.containers[{i}].image")
        entry = base_entry(spec, pod, c, i)
        records.append(
            ContainerRecord(name=name, index=i, image=image, app_id=entry["application-name"], base_entry=entry)
        )
    status = pod.get("status") or {}
    _adopt_status(records, status)
    clock = ConditionClock()
    for cond in status.get("conditions") or []:
        # Keep the transition times the API already shows, so an adopted pod causes no status write.
        if isinstance(cond, dict) and cond.get("type") and cond.get("lastTransitionTime"):
            clock.since[str(cond["type"])] = (str(cond.get("status")), str(cond["lastTransitionTime"]))
    return PodRecord(
        uid=meta["uid"],
        namespace=meta["namespace"],
        name=meta["name"],
        pod=copy.deepcopy(pod),
        containers=records,
        restart_policy=str(pod_spec.get("restartPolicy") or "Always"),
        start_time=str(status.get("startTime") or now_rfc3339()),
        clock=clock,
    )


def _adopt_status(records: list[ContainerRecord], status: dict[str, Any]) -> None:
    """Keep restart counts and start times the API already shows (after a restart of cisco-vk)."""
    by_name = {s.get("name"): s for s in status.get("containerStatuses") or [] if isinstance(s, dict)}
    for c in records:
        s = by_name.get(c.name)
        if not s:
            continue
        c.restart_count = int(s.get("restartCount", 0) or 0)
        running = (s.get("state") or {}).get("running") or {}
        if running.get("startedAt"):
            c.started_at = str(running["startedAt"])
        last = (s.get("lastState") or {}).get("terminated")
        if isinstance(last, dict):
            c.last_terminated = dict(last)


def skeleton_record(idents: list[naming.AppIdentity], images: dict[str, str]) -> PodRecord:
    """A record for apps found on the device with no pod spec (deletion of an orphan)."""
    first = idents[0]
    containers = [
        ContainerRecord(
            name=ident.container,
            index=i,
            image=images.get(ident.app_id, ""),
            app_id=ident.app_id,
            base_entry={},
        )
        for i, ident in enumerate(idents)
    ]
    pod: Pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": first.namespace, "name": first.name, "uid": first.uid},
        "spec": {"containers": [{"name": c.name, "image": c.image} for c in containers]},
    }
    return PodRecord(
        uid=first.uid,
        namespace=first.namespace,
        name=first.name,
        pod=pod,
        containers=containers,
        restart_policy="Always",
        start_time=now_rfc3339(),
    )
