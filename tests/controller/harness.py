"""Run the real controller Manager in-process against the hack/kubeapi emulator, and play the parts
of the cluster the controller does not own: the cisco-vk pod becoming ready and its Node."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from controller import render
from controller.crd import API_VERSION, KIND, crd_manifest
from controller.leader import LeadershipLost
from controller.manager import Manager, ManagerOptions
from controller.reconcile import ControllerOptions, device_path
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.config import load_config
from cvk.kube.errors import AlreadyExistsError, ConflictError, NotFoundError

Obj = dict[str, Any]
NS = "lab"
SYSTEM_NS = "cisco-vk-system"
SECRET = "sw-creds"
PASSWORD = "s3cr3t-Pa55"
WRITE_VERBS = ("create", "update", "patch", "delete")


async def eventually(cond: Callable[[], Any], within: float = 15.0, what: str = "condition") -> Any:
    """Poll ``cond`` (sync or async) until it returns something truthy; fail after ``within`` s."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = cond()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what} (last: {last!r})")
        await asyncio.sleep(0.02)


def fake_device(name: str, ns: str = NS, **spec: Any) -> Obj:
    body: Obj = {"driver": "FAKE", "address": "192.0.2.10", "username": "admin",
                 "credentialSecretRef": {"name": SECRET}}
    body.update(spec)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name, "namespace": ns}, "spec": body}


def condition(obj: Obj | None, ctype: str) -> Obj:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return {}


def api_writes(client: KubeClient, *, include_events: bool = False) -> dict[tuple[str, str], int]:
    """The write requests a client sent, by (verb, resource)."""
    return {k: v for k, v in client.metrics.items()
            if k[0] in WRITE_VERBS and (include_events or k[1] != "events")}


class Cluster:
    """The test's own API client plus helpers to set up namespaces and simulate cisco-vk."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client

    async def install(self, namespaces: tuple[str, ...] = (NS,)) -> None:
        with contextlib.suppress(AlreadyExistsError):
            await self.client.create(paths.api_group("apiextensions.k8s.io", "v1",
                                                     "customresourcedefinitions"), crd_manifest())
        for ns in (SYSTEM_NS, *namespaces):
            await self.namespace(ns)

    async def namespace(self, ns: str, service_account: bool = True) -> None:
        with contextlib.suppress(AlreadyExistsError):
            await self.client.create(paths.namespaces(), {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": ns}})
        if service_account:
            with contextlib.suppress(AlreadyExistsError):
                await self.client.create(paths.serviceaccounts(ns), {
                    "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "cisco-vk"}})

    async def secret(self, name: str = SECRET, ns: str = NS, password: str = PASSWORD,
                     key: str = "password") -> Obj:
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
                "type": "Opaque", "data": {key: base64.b64encode(password.encode()).decode()}}
        try:
            return await self.client.create(paths.secrets(ns), body)
        except AlreadyExistsError:
            live = await self.client.get(paths.secrets(ns, name))
            body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            return await self.client.replace(paths.secrets(ns, name), body)

    async def create_device(self, device: Obj) -> Obj:
        ns = device["metadata"]["namespace"]
        return await self.client.create(device_path(ns), device)

    async def update_device(self, name: str, mutate: Callable[[Obj], None], ns: str = NS) -> Obj:
        """Read, change and write back the device, retrying when the controller wrote in between."""
        for _ in range(20):
            device = await self.client.get(device_path(ns, name))
            mutate(device)
            try:
                return await self.client.replace(device_path(ns, name), device)
            except ConflictError:
                continue
        raise AssertionError(f"could not update CiscoDevice {ns}/{name}: conflicts")

    async def device(self, name: str, ns: str = NS) -> Obj | None:
        return await self.get(device_path(ns, name))

    async def get(self, path: str) -> Obj | None:
        try:
            return await self.client.get(path)
        except NotFoundError:
            return None

    async def deployment(self, name: str, ns: str = NS) -> Obj | None:
        return await self.get(paths.deployments(ns, f"{name}-vk"))

    async def vk_pods(self, name: str, ns: str = NS) -> list[Obj]:
        listed = await self.client.list(paths.pods(ns), label_selector=f"app.kubernetes.io/instance={name}")
        return [p for p in listed.get("items", []) if not p["metadata"].get("deletionTimestamp")]

    async def events(self, ns: str = NS, name: str | None = None) -> list[Obj]:
        items = (await self.client.list(paths.events(ns))).get("items", [])
        return [e for e in items if name is None or (e.get("involvedObject") or {}).get("name") == name]

    async def phase(self, name: str, ns: str = NS) -> str | None:
        device = await self.device(name, ns)
        return ((device or {}).get("status") or {}).get("phase")

    async def make_vk_pod_ready(self, name: str, ns: str = NS, host: str | None = None) -> None:
        """Play the scheduler and kubelet of the cisco-vk pod: the Deployment's current pod (bound
        to ``host`` if given) Running and Ready, which the emulator's ReplicaSet and Deployment
        controllers turn into a ready Deployment."""

        async def ready() -> bool:
            d = await self.deployment(name, ns)
            st = (d or {}).get("status") or {}
            if (d and int(st.get("readyReplicas") or 0) >= 1 and int(st.get("updatedReplicas") or 0) >= 1
                    and int(st.get("replicas") or 0) == 1
                    and int(st.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 0)):
                return True
            for pod in await self.vk_pods(name, ns):
                if condition(pod, "Ready").get("status") == "True":
                    continue
                if host and not pod["spec"].get("nodeName"):
                    with contextlib.suppress(NotFoundError, ConflictError):
                        await self.client.create(paths.pods(ns, pod["metadata"]["name"], "binding"), {
                            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod["metadata"]["name"]},
                            "target": {"apiVersion": "v1", "kind": "Node", "name": host}})
                    continue
                pod["status"] = {"phase": "Running", "podIP": "10.0.0.5", "conditions": [
                    {"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"}]}
                with contextlib.suppress(NotFoundError, ConflictError):  # replaced meanwhile: next round
                    await self.client.replace(paths.pods(ns, pod["metadata"]["name"], "status"), pod)
            return False
        await eventually(ready, what=f"Deployment {name}-vk ready")

    async def put_node(self, node: str, *, ready: bool = True, reachable: bool = True,
                       message: str = "", heartbeat: str | None = None) -> Obj:
        """Create or update the virtual Node as cisco-vk would register it."""
        now = heartbeat or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        conditions = [
            {"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady",
             "message": "ok", "lastHeartbeatTime": now, "lastTransitionTime": now},
            {"type": "DeviceReachable", "status": "True" if reachable else "False",
             "reason": "DeviceOK" if reachable else "DeviceUnreachable",
             "message": message or ("device answers" if reachable else "connection refused"),
             "lastHeartbeatTime": now, "lastTransitionTime": now},
        ]
        live = await self.get(paths.nodes(node))
        if live is None:
            live = await self.client.create(paths.nodes(), {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node, "labels": {"type": "virtual-kubelet", "cisco.vk/model": "FAKE-8000V"},
                             "annotations": {"cisco-vk.io/driver": "FAKE", "cisco.vk/serial-number": "FAKE123",
                                             "cisco.vk/software-version": "17.15.1"}},
                "spec": {}})
        live["status"] = {"conditions": conditions}
        return await self.client.replace(paths.nodes(node, "status"), live)

    async def put_lease(self, node: str) -> None:
        with contextlib.suppress(AlreadyExistsError):
            await self.client.create(paths.leases("kube-node-lease"), {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": node, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": node, "leaseDurationSeconds": 40}})


@dataclasses.dataclass
class RunningManager:
    manager: Manager
    task: asyncio.Task[None]
    stop: asyncio.Event

    @property
    def client(self) -> KubeClient:
        assert self.manager.client is not None
        return self.manager.client

    async def shutdown(self) -> None:
        self.stop.set()
        with contextlib.suppress(LeadershipLost):
            await asyncio.wait_for(self.task, 15)


def manager_options(kubeconfig: str, *, leader_elect: bool = False, **controller: Any) -> ManagerOptions:
    controller.setdefault("poll_seconds", 0.2)
    return ManagerOptions(kubeconfig=kubeconfig, namespace=SYSTEM_NS, leader_elect=leader_elect,
                          lease_seconds=3, renew_seconds=0.5, retry_seconds=0.2, health_port=-1,
                          workers=4, controller=ControllerOptions(**controller))


async def start_manager(opts: ManagerOptions, *, wait_ready: bool = True) -> RunningManager:
    manager = Manager(opts)
    stop = asyncio.Event()
    task = asyncio.create_task(manager.run(stop), name="manager")
    if wait_ready:
        await eventually(lambda: manager.ready or task.done(), what="the controller to start")
    else:
        await eventually(lambda: manager.client is not None or task.done(), what="the controller to run")
    if task.done():
        task.result()
    return RunningManager(manager, task, stop)


@contextlib.asynccontextmanager
async def controller_env(kubeapi: Any, **controller: Any) -> AsyncIterator[tuple[Cluster, RunningManager]]:
    """A prepared cluster (CRD, namespaces, ServiceAccount, Secret) and a running controller."""
    client = KubeClient(load_config(str(kubeapi.kubeconfig)), max_retries=1, retry_base_delay=0.01)
    cluster = Cluster(client)
    running: RunningManager | None = None
    try:
        await cluster.install()
        await cluster.secret()
        running = await start_manager(manager_options(str(kubeapi.kubeconfig), **controller))
        yield cluster, running
    finally:
        if running is not None:
            await running.shutdown()
        await client.close()


__all__ = ["NS", "PASSWORD", "SECRET", "Cluster", "RunningManager", "api_writes", "condition",
           "controller_env", "eventually", "fake_device", "manager_options", "render", "start_manager"]
