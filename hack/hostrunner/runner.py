"""A host node for the sandbox: registers Node ``sandbox-host``, schedules pending pods, and runs
the pods bound to it as local processes, the way a real node's kubelet runs our controller and
cisco-vk pods in a cluster.

What it does, kubelet-style: Node with Ready condition and a Lease renewed every 10 s; pods start
from their spec (hack/hostrunner/pods.py), each gets its own loopback address (127.0.0.N) as pod
IP so several cisco-vk kubelet APIs can all listen on 10250; restartPolicy with backoff; readiness
from the container's httpGet readinessProbe; graceful deletion (SIGTERM, grace period, SIGKILL,
then DELETE with gracePeriodSeconds=0 and a UID precondition); container logs at
/containerLogs so ``kubectl logs`` works through the API server's proxy.

And scheduler-style: a pod with no nodeName is bound (pods/NAME/binding) to the first Ready node
whose labels match its nodeSelector and whose NoSchedule/NoExecute taints it tolerates.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import signal
import socket
import ssl
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError
from cvk.kube.informer import Informer
from hack.hostrunner.pods import PodSpecError, build

log = logging.getLogger("hostrunner")

Obj = dict[str, Any]


def _child_setup() -> None:
    """In the child before exec: own process group (for group signals), and die with the runner, so a
    killed runner never leaves controller or cisco-vk processes behind."""
    import ctypes

    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _key(pod: Obj) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def tolerates(pod: Obj, taint: Obj) -> bool:
    if taint.get("effect") not in ("NoSchedule", "NoExecute"):
        return True
    for tol in (pod.get("spec") or {}).get("tolerations") or []:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol["key"] == taint.get("key")):
            return True
        if tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def fits(pod: Obj, node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    if not all(tolerates(pod, t) for t in (node.get("spec") or {}).get("taints") or []):
        return False
    conditions: list[Obj] = (node.get("status") or {}).get("conditions") or []
    ready: Obj = next((c for c in conditions if c.get("type") == "Ready"), {})
    return bool(ready.get("status") == "True")


@dataclasses.dataclass
class Container:
    name: str
    process: asyncio.subprocess.Process | None = None
    log_path: Path | None = None
    restarts: int = 0
    started_at: str | None = None
    last_state: Obj | None = None
    ready: bool = False
    waiting_reason: str | None = None
    waiting_message: str | None = None


@dataclasses.dataclass
class RunningPod:
    pod: Obj
    ip: str
    containers: dict[str, Container]
    tasks: list[asyncio.Task[None]] = dataclasses.field(default_factory=list)
    stopping: bool = False
    phase: str = "Pending"
    last_status: Obj | None = None


class HostRunner:
    def __init__(self, client: KubeClient, *, node_name: str = "sandbox-host", root: Path | None = None,
                 base_env: dict[str, str] | None = None, schedule: bool = True) -> None:
        self.client = client
        self.node_name = node_name
        self.root = root or Path(tempfile.mkdtemp(prefix="hostrunner-"))
        self.base_env = base_env if base_env is not None else dict(os.environ)
        self.schedule = schedule
        self.pods: dict[str, RunningPod] = {}
        # Pod IPs from a random loopback /24, so several sandboxes on one machine never collide.
        net = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}"
        self._ips = {f"{net}.{n}" for n in range(10, 250)}
        self._port = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None

    # ---- node ------------------------------------------------------------------------------
    def _node_status(self) -> Obj:
        now = _now()
        return {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "sandbox host runner is posting ready status",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": socket.gethostname()}],
            "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "110"},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self._port}},
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "osImage": "sandbox",
                         "kubeletVersion": "v1.30.0-sandbox", "containerRuntimeVersion": "process://"},
        }

    async def _register(self) -> None:
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node_name,
                             "labels": {"kubernetes.io/hostname": self.node_name, "kubernetes.io/os": "linux",
                                        "node-role.kubernetes.io/sandbox": ""}},
                "status": self._node_status()}
        with contextlib.suppress(AlreadyExistsError):
            await self.client.create(paths.nodes(), node)
        await self._patch_node_status()

    async def _patch_node_status(self) -> None:
        await self.client.patch(paths.nodes(self.node_name, "status"), {"status": self._node_status()},
                                patch_type="merge")

    async def _heartbeat(self) -> None:
        lease_path = paths.leases("kube-node-lease", self.node_name)
        while True:
            try:
                try:
                    lease = await self.client.get(lease_path)
                    lease["spec"]["renewTime"] = _micro()
                    await self.client.replace(lease_path, lease)
                except NotFoundError:
                    await self.client.create(paths.leases("kube-node-lease"), {
                        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": self.node_name, "namespace": "kube-node-lease"},
                        "spec": {"holderIdentity": self.node_name, "leaseDurationSeconds": 40,
                                 "renewTime": _micro()}})
                await self._patch_node_status()
            except ApiError as err:
                log.warning("heartbeat failed: %s", err)
            await asyncio.sleep(10)

    # ---- scheduler -------------------------------------------------------------------------
    async def _schedule_loop(self, pods: Informer, nodes: Informer) -> None:
        while True:
            for pod in pods.list():
                spec = pod.get("spec") or {}
                if spec.get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                    continue
                candidates = sorted((n for n in nodes.list() if fits(pod, n)),
                                    key=lambda n: (n["metadata"]["name"] != self.node_name, n["metadata"]["name"]))
                if not candidates:
                    continue
                target = candidates[0]["metadata"]["name"]
                body = {"apiVersion": "v1", "kind": "Binding",
                        "metadata": {"name": pod["metadata"]["name"]},
                        "target": {"apiVersion": "v1", "kind": "Node", "name": target}}
                try:
                    await self.client.create(
                        paths.pods(pod["metadata"]["namespace"], pod["metadata"]["name"], "binding"), body)
                    log.info("scheduled pod=%s node=%s", _key(pod), target)
                except ApiError as err:
                    log.debug("binding %s failed: %s", _key(pod), err)
            await asyncio.sleep(0.5)

    # ---- kubelet ---------------------------------------------------------------------------
    def _on_pod(self, pod: Obj) -> None:
        key = _key(pod)
        running = self.pods.get(key)
        if running and running.pod["metadata"]["uid"] != pod["metadata"]["uid"]:
            running = None
        if pod["metadata"].get("deletionTimestamp"):
            if running and not running.stopping:
                running.stopping = True
                running.tasks.append(asyncio.create_task(self._terminate(running, pod)))
            elif not running:
                self._tasks.append(asyncio.create_task(self._force_delete(pod)))
            return
        if running is None and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            ip = min(self._ips)
            self._ips.discard(ip)
            running = RunningPod(pod=pod, ip=ip, containers={
                c["name"]: Container(c["name"]) for c in pod["spec"]["containers"]})
            self.pods[key] = running
            for c in pod["spec"]["containers"]:
                running.tasks.append(asyncio.create_task(self._run_container(running, c)))
            running.tasks.append(asyncio.create_task(self._probe_loop(running)))
        elif running is not None:
            running.pod = pod

    def _on_pod_deleted(self, pod: Obj) -> None:
        running = self.pods.get(_key(pod))
        if running and running.pod["metadata"]["uid"] == pod["metadata"]["uid"] and not running.stopping:
            running.stopping = True
            running.tasks.append(asyncio.create_task(self._terminate(running, pod, delete=False)))

    async def _run_container(self, rp: RunningPod, spec: Obj) -> None:
        c = rp.containers[spec["name"]]
        backoff = 1.0
        policy = rp.pod["spec"].get("restartPolicy", "Always")
        while not rp.stopping:
            try:
                proc_spec = await build(self.client, rp.pod, spec, self.root, rp.ip, self.base_env)
            except (PodSpecError, ApiError) as err:
                c.waiting_reason, c.waiting_message = "CreateContainerConfigError", str(err)
                await self._write_status(rp)
                await asyncio.sleep(2)
                continue
            c.log_path = proc_spec.workdir / f"{c.name}.log"
            logf = open(c.log_path, "ab")  # noqa: SIM115 - handed to the child process
            try:
                c.process = await asyncio.create_subprocess_exec(
                    *proc_spec.argv, env=proc_spec.env, stdout=logf, stderr=asyncio.subprocess.STDOUT,
                    cwd=str(proc_spec.workdir), preexec_fn=_child_setup)
            except OSError as err:
                logf.close()
                c.waiting_reason, c.waiting_message = "RunContainerError", str(err)
                await self._write_status(rp)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30)
                continue
            logf.close()
            c.started_at, c.waiting_reason, c.waiting_message = _now(), None, None
            rp.phase = "Running"
            log.info("started pod=%s container=%s pid=%d ip=%s", _key(rp.pod), c.name, c.process.pid, rp.ip)
            await self._write_status(rp)
            code = await c.process.wait()
            c.ready = False
            c.last_state = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                           "startedAt": c.started_at, "finishedAt": _now()}}
            if rp.stopping:
                return
            log.info("exited pod=%s container=%s code=%d", _key(rp.pod), c.name, code)
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                rp.phase = "Succeeded" if code == 0 else "Failed"
                await self._write_status(rp)
                return
            c.restarts += 1
            c.waiting_reason = "CrashLoopBackOff"
            await self._write_status(rp)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30)

    async def _probe_loop(self, rp: RunningPod) -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        async with aiohttp.ClientSession() as session:
            while not rp.stopping:
                changed = False
                for spec in rp.pod["spec"]["containers"]:
                    c = rp.containers[spec["name"]]
                    alive = c.process is not None and c.process.returncode is None
                    ready = alive and await self._probe(session, ctx, rp.ip, spec)
                    if ready != c.ready:
                        c.ready, changed = ready, True
                if changed:
                    await self._write_status(rp)
                await asyncio.sleep(1)

    async def _probe(self, session: aiohttp.ClientSession, ctx: ssl.SSLContext, ip: str,
                     container: Obj) -> bool:
        probe = container.get("readinessProbe")
        if not probe or "httpGet" not in probe:
            return True
        get = probe["httpGet"]
        port = get["port"]
        if isinstance(port, str) and not port.isdigit():  # a named container port
            named = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
            if port not in named:
                return False
            port = named[port]
        scheme = str(get.get("scheme", "HTTP")).lower()
        url = f"{scheme}://{ip}:{port}{get.get('path', '/')}"
        try:
            async with session.get(url, ssl=ctx if scheme == "https" else False,
                                   timeout=aiohttp.ClientTimeout(total=2)) as resp:
                return 200 <= resp.status < 400
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    def _status(self, rp: RunningPod) -> Obj:
        statuses = []
        for spec in rp.pod["spec"]["containers"]:
            c = rp.containers[spec["name"]]
            st: Obj = {"name": c.name, "image": spec.get("image", ""), "imageID": "",
                       "containerID": f"process://{c.process.pid}" if c.process else "",
                       "restartCount": c.restarts, "ready": c.ready, "started": c.process is not None}
            if c.process is not None and c.process.returncode is None:
                st["state"] = {"running": {"startedAt": c.started_at}}
            elif c.waiting_reason or c.last_state is None:
                st["state"] = {"waiting": {"reason": c.waiting_reason or "ContainerCreating",
                                           **({"message": c.waiting_message} if c.waiting_message else {})}}
            else:
                st["state"] = c.last_state
            if c.last_state and "running" in st["state"]:
                st["lastState"] = c.last_state
            statuses.append(st)
        all_ready = all(s["ready"] for s in statuses)
        old = {c["type"]: c for c in (rp.last_status or {}).get("conditions") or []}

        def cond(t: str, ok: bool) -> Obj:
            status = "True" if ok else "False"
            prev = old.get(t)
            ts = prev["lastTransitionTime"] if prev and prev["status"] == status else _now()
            return {"type": t, "status": status, "lastTransitionTime": ts}

        return {
            "phase": rp.phase,
            "hostIP": "127.0.0.1",
            "podIP": rp.ip,
            "podIPs": [{"ip": rp.ip}],
            "startTime": (rp.last_status or {}).get("startTime") or _now(),
            "conditions": [cond("PodScheduled", True), cond("Initialized", True),
                           cond("ContainersReady", all_ready), cond("Ready", all_ready)],
            "containerStatuses": statuses,
        }

    async def _write_status(self, rp: RunningPod) -> None:
        status = self._status(rp)
        if status == rp.last_status:
            return
        meta = rp.pod["metadata"]
        for _ in range(5):
            try:
                live = await self.client.get(paths.pods(meta["namespace"], meta["name"]))
                if live["metadata"]["uid"] != meta["uid"]:
                    return
                live["status"] = status
                await self.client.replace(paths.pods(meta["namespace"], meta["name"], "status"), live)
                rp.last_status = status
                return
            except ConflictError:
                continue
            except NotFoundError:
                return

    async def _terminate(self, rp: RunningPod, pod: Obj, delete: bool = True, grace: int | None = None) -> None:
        if grace is None:
            grace = int(pod["metadata"].get("deletionGracePeriodSeconds")
                        or pod["spec"].get("terminationGracePeriodSeconds") or 30)
        procs = [c.process for c in rp.containers.values() if c.process and c.process.returncode is None]
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), timeout=grace)
        except TimeoutError:
            for p in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
            await asyncio.gather(*(p.wait() for p in procs))
        self._ips.add(rp.ip)
        self.pods.pop(_key(pod), None)
        if delete:
            await self._force_delete(pod)

    async def _force_delete(self, pod: Obj) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(NotFoundError, ConflictError):
            await self.client.delete(paths.pods(meta["namespace"], meta["name"]), grace_period_seconds=0,
                                     preconditions_uid=meta["uid"])

    # ---- kubelet API (logs only) -----------------------------------------------------------
    async def _serve_logs(self) -> None:
        from cvk.kubelet.tls import self_signed_certificate  # the same helper cisco-vk uses

        async def logs(request: web.Request) -> web.StreamResponse:
            key = f"{request.match_info['ns']}/{request.match_info['pod']}"
            rp = self.pods.get(key)
            c = rp.containers.get(request.match_info["container"]) if rp else None
            if c is None or c.log_path is None:
                return web.Response(status=404, text=f"container not found ({key})")
            data = c.log_path.read_bytes()
            tail = request.query.get("tailLines")
            if tail is not None:
                lines = data.splitlines(keepends=True)
                data = b"".join(lines[-int(tail):]) if int(tail) > 0 else b""
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await resp.prepare(request)
            await resp.write(data)
            if request.query.get("follow") in ("true", "1"):
                pos = c.log_path.stat().st_size
                while rp and not rp.stopping:
                    await asyncio.sleep(0.5)
                    size = c.log_path.stat().st_size
                    if size > pos:
                        with open(c.log_path, "rb") as f:
                            f.seek(pos)
                            await resp.write(f.read(size - pos))
                        pos = size
            await resp.write_eof()
            return resp

        app = web.Application()
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", logs)
        cert, key = self_signed_certificate(self.node_name, ["127.0.0.1"])
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certdir = Path(tempfile.mkdtemp(prefix="hostrunner-tls-"))
        (certdir / "tls.crt").write_bytes(cert)
        (certdir / "tls.key").write_bytes(key)
        ctx.load_cert_chain(certdir / "tls.crt", certdir / "tls.key")
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        self._port = int(sockets[0].getsockname()[1]) if sockets else 0

    # ---- run -------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        await self._serve_logs()
        await self._register()
        self._tasks.append(asyncio.create_task(self._heartbeat()))
        mine = Informer(self.client, paths.pods(), field_selector=f"spec.nodeName={self.node_name}",
                        name="hostrunner-pods")
        mine.add_handler(self._on_pod, lambda _old, new: self._on_pod(new), self._on_pod_deleted)
        informers = [mine]
        if self.schedule:
            pending = Informer(self.client, paths.pods(), field_selector="spec.nodeName=", name="pending")
            nodes = Informer(self.client, paths.nodes(), name="nodes")
            informers += [pending, nodes]
        for inf in informers:
            await inf.start()
        if self.schedule:
            self._tasks.append(asyncio.create_task(self._schedule_loop(pending, nodes)))
        try:
            await stop.wait()
        finally:
            for t in self._tasks:
                t.cancel()
            running = list(self.pods.values())
            for rp in running:
                rp.stopping = True
            # The host is going away: its pods get a short grace, all at once.
            await asyncio.gather(*(self._terminate(rp, rp.pod, delete=False, grace=5) for rp in running))
            for inf in informers:
                await inf.stop()
            if self._runner:
                await self._runner.cleanup()
