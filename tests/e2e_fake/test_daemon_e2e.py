"""cisco-vk with the FAKE driver against the API emulator, checked with real kubectl.

Most tests run the daemon in-process (``cvk.daemon.Daemon``, short ping and lease intervals);
the restart test runs ``cisco-vk run`` as a real process and SIGKILLs it mid-lifecycle.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cvk.daemon import run
from cvk.driver.fake import update_faults
from tests.e2e_fake.helpers import (
    CvkProcess,
    condition,
    daemon,
    eventually,
    fake_spec,
    fast_opts,
    get_json,
    kubectl,
    pod_manifest,
    write_device_file,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def phase(p: dict[str, Any] | None) -> str:
    return str(((p or {}).get("status") or {}).get("phase") or "")


async def events_for(kc: str, name: str, reason: str) -> list[dict[str, Any]]:
    out = json.loads(await kubectl(kc, "get", "events", "-o", "json"))
    return [
        e
        for e in out.get("items") or []
        if e.get("reason") == reason and (e.get("involvedObject") or {}).get("name") == name
    ]


async def test_node_ready_lease_renews_pod_runs_and_deletes(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    async with daemon(fake_spec(tmp_path / "fake.json"), fast_opts("sw1", kc)) as d:
        node = await get_json(kc, "node", "sw1")
        assert node is not None
        ready = condition(node, "Ready")
        assert ready is not None and ready["status"] == "True"
        assert (condition(node, "DeviceReachable") or {}).get("status") == "True"
        labels = node["metadata"]["labels"]
        assert labels["type"] == "virtual-kubelet" and labels["kubernetes.io/hostname"] == "sw1"
        assert {"key": "virtual-kubelet.io/provider", "value": "cisco", "effect": "NoSchedule"} in node["spec"][
            "taints"
        ]
        assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == d.kubelet.port  # type: ignore[union-attr]
        assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]
        assert node["status"]["capacity"]["pods"] == "16"
        assert "Ready" in await kubectl(kc, "get", "nodes")

        lease = await get_json(kc, "lease", "-n", "kube-node-lease", "sw1")
        assert lease is not None
        assert lease["spec"]["holderIdentity"] == "sw1" and lease["spec"]["leaseDurationSeconds"] == 40
        assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
        first = lease["spec"]["renewTime"]

        async def renewed() -> bool:
            now = await get_json(kc, "lease", "-n", "kube-node-lease", "sw1")
            return bool(now and now["spec"]["renewTime"] > first)

        await eventually(renewed, limit=10, what="lease renewal")

        await kubectl(kc, "apply", "-f", "-", stdin=pod_manifest("web", "sw1"))

        async def running() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "web")
            return p if phase(p) == "Running" and p and p["status"].get("podIP") else None

        p = await eventually(running, what="pod Running with an IP")
        assert p["status"]["containerStatuses"][0]["ready"] is True
        assert "Running" in await kubectl(kc, "get", "pods", "-o", "wide")
        created = await events_for(kc, "web", "ProviderCreateSuccess")
        assert created and created[0]["source"]["component"] == "sw1/pod-controller"
        assert [x["metadata"]["name"] for x in await d.driver.list_pods()] == ["web"]

        await kubectl(kc, "delete", "pod", "web", "--timeout=30s")
        assert await get_json(kc, "pod", "web") is None
        assert await d.driver.list_pods() == []
        assert await events_for(kc, "web", "ProviderDeleteSuccess")

        # cisco-vk's own metrics, through the API server's node proxy as Prometheus scrapes a kubelet.
        metrics = await kubectl(kc, "get", "--raw", "/api/v1/nodes/sw1/proxy/metrics")
        assert "cisco_vk_device_reachable 1.0" in metrics
        assert re.search(r'^cisco_vk_workqueue_items_total\{name="pod-sync",result="ok"\} [1-9]', metrics, re.M)
        assert re.search(r'^cisco_vk_workqueue_depth\{name="pod-status"\} \d', metrics, re.M)
        assert re.search(r'^cisco_vk_kube_api_requests_total\{code="201",resource="leases",verb="create"\} [1-9]',
                         metrics, re.M)
    # Shutdown leaves the Node and the Lease in place.
    assert await get_json(kc, "node", "sw1") is not None
    assert await get_json(kc, "lease", "-n", "kube-node-lease", "sw1") is not None


async def test_device_outage_keeps_pods_running_and_recovery_clears(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    state = tmp_path / "fake.json"
    async with daemon(fake_spec(state), fast_opts("sw2", kc)):
        await kubectl(kc, "apply", "-f", "-", stdin=pod_manifest("app", "sw2"))

        async def pod_running() -> bool:
            return phase(await get_json(kc, "pod", "app")) == "Running"

        await eventually(pod_running, what="pod Running")
        uid = (await get_json(kc, "pod", "app"))["metadata"]["uid"]  # type: ignore[index]

        update_faults(str(state), unreachable=True)

        async def node_cond_false() -> dict[str, Any] | None:
            c = condition(await get_json(kc, "node", "sw2"), "DeviceReachable")
            return c if c and c["status"] == "False" else None

        c = await eventually(node_cond_false, what="node DeviceReachable=False")
        assert c["reason"] == "DeviceUnreachable" and "unreachable" in c["message"]
        node = await get_json(kc, "node", "sw2")
        assert (condition(node, "Ready") or {}).get("status") == "True"

        async def outage_taint() -> bool:
            n = await get_json(kc, "node", "sw2")
            return any(
                t["key"] == "cisco-vk.io/device-unreachable" for t in (n or {}).get("spec", {}).get("taints", [])
            )

        await eventually(outage_taint, what="device-unreachable taint")

        async def pod_marked() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "app")
            pc = condition(p, "DeviceReachable")
            return p if pc and pc["status"] == "False" else None

        p = await eventually(pod_marked, what="pod DeviceReachable=False")
        assert phase(p) == "Running"
        assert (condition(p, "DeviceReachable") or {})["reason"] == "DeviceUnreachable"

        update_faults(str(state), unreachable=False)

        async def node_cond_true() -> bool:
            return (condition(await get_json(kc, "node", "sw2"), "DeviceReachable") or {}).get("status") == "True"

        await eventually(node_cond_true, what="node DeviceReachable=True")

        async def no_outage_taint() -> bool:
            return not await outage_taint()

        await eventually(no_outage_taint, what="device-unreachable taint removed")

        async def pod_cleared() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "app")
            return p if p and condition(p, "DeviceReachable") is None else None

        p = await eventually(pod_cleared, what="pod condition cleared")
        assert phase(p) == "Running" and p["metadata"]["uid"] == uid
        assert len(await events_for(kc, "app", "ProviderCreateSuccess")) == 1

        # Refused credentials are named as such.
        update_faults(str(state), auth_failure=True)
        c = await eventually(node_cond_false, what="node DeviceReachable=False (auth)")
        assert c["reason"] == "DeviceAuthFailed" and "credentials" in c["message"]
        p = await eventually(pod_marked, what="pod DeviceReachable=False (auth)")
        assert (condition(p, "DeviceReachable") or {})["reason"] == "DeviceAuthFailed" and phase(p) == "Running"
        update_faults(str(state), auth_failure=False)
        await eventually(node_cond_true, what="node DeviceReachable=True again")
        p = await eventually(pod_cleared, what="pod condition cleared again")
        assert phase(p) == "Running" and p["metadata"]["uid"] == uid


async def test_env_from_configmap_secret_and_downward_api(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    async with daemon(fake_spec(tmp_path / "fake.json"), fast_opts("sw3", kc)) as d:
        await kubectl(kc, "create", "configmap", "cfg", "--from-literal=MODE=prod", "--from-literal=LEVEL=3")
        # stringData: the API server stores it base64-encoded in data (what cisco-vk reads back).
        sec = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"}, "stringData": {"token": "s3cret"}}
        await kubectl(kc, "apply", "-f", "-", stdin=json.dumps(sec))
        env = [
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "token"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "URL", "value": "mode=$(MODE)"},
            {"name": "MISSING", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}},
        ]
        manifest = pod_manifest("envpod", "sw3", env=env, envFrom=[{"configMapRef": {"name": "cfg"}}])
        await kubectl(kc, "apply", "-f", "-", stdin=manifest)

        async def on_device() -> dict[str, Any] | None:
            pods = {p["metadata"]["name"]: p for p in await d.driver.list_pods()}
            return pods.get("envpod")

        p = await eventually(on_device, what="pod on the device")
        c = p["spec"]["containers"][0]
        got = {e["name"]: e["value"] for e in c["env"]}
        assert got["MODE"] == "prod" and got["LEVEL"] == "3"
        assert got["TOKEN"] == "s3cret"
        assert got["POD"] == "envpod" and got["NODE"] == "sw3"
        assert got["URL"] == "mode=prod"
        assert "MISSING" not in got and c["envFrom"] == []
        assert await events_for(kc, "envpod", "OptionalConfigMapNotFound")

        # A mandatory reference that is missing blocks the create until the object appears.
        bad_env = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "later", "key": "k"}}}]
        await kubectl(kc, "apply", "-f", "-", stdin=pod_manifest("waiter", "sw3", env=bad_env))

        async def mandatory_event() -> list[dict[str, Any]]:
            return await events_for(kc, "waiter", "MandatorySecretNotFound")

        await eventually(mandatory_event, what="MandatorySecretNotFound event")
        assert "waiter" not in {p["metadata"]["name"] for p in await d.driver.list_pods()}
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "later"}, "stringData": {"k": "v"}}
        await kubectl(kc, "apply", "-f", "-", stdin=json.dumps(secret))

        async def created() -> bool:
            return "waiter" in {p["metadata"]["name"] for p in await d.driver.list_pods()}

        await eventually(created, limit=30, what="pod created after the secret appeared")


async def test_kill_and_restart_neither_recreates_nor_deletes(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    state = tmp_path / "fake.json"
    config = write_device_file(tmp_path / "device.yaml", state)
    proc = CvkProcess(config, kc, "sw4", tmp_path / "cisco-vk.log")
    proc.start()
    try:

        async def node_ready() -> bool:
            return (condition(await get_json(kc, "node", "sw4"), "Ready") or {}).get("status") == "True"

        await eventually(node_ready, limit=30, what="node Ready")
        await kubectl(kc, "apply", "-f", "-", stdin=pod_manifest("steady", "sw4"))

        async def steady_running() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "steady")
            return p if phase(p) == "Running" else None

        before = await eventually(steady_running, what="steady Running")
        await kubectl(kc, "apply", "-f", "-", stdin=pod_manifest("young", "sw4"))

        def device_records() -> dict[str, float]:
            """pod name -> when the device created its record (a re-create changes it)."""
            doc = json.loads(state.read_text()) if state.exists() else {}
            return {r["pod"]["metadata"]["name"]: r["createdAt"] for r in doc.get("pods") or []}

        await eventually(lambda: "young" in device_records(), what="young handed to the device")
        records = device_records()
        proc.kill()  # mid-lifecycle: young is still installing
        assert not proc.alive()
        proc.start()

        async def young_running() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "young")
            return p if phase(p) == "Running" else None

        young = await eventually(young_running, limit=60, what="young Running after restart")
        after = await get_json(kc, "pod", "steady")
        assert after is not None and phase(after) == "Running"
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        cid = before["status"]["containerStatuses"][0]["containerID"]
        assert after["status"]["containerStatuses"][0]["containerID"] == cid
        assert after["status"]["containerStatuses"][0].get("restartCount", 0) == 0
        assert young["status"]["containerStatuses"][0].get("restartCount", 0) == 0
        assert device_records() == records  # neither re-created nor deleted on the device
        for name in ("steady", "young"):
            # The kill may lose young's event (Events are written in the background): at most one.
            assert len(await events_for(kc, name, "ProviderCreateSuccess")) <= 1, name
            assert await events_for(kc, name, "ProviderDeleteSuccess") == []
        assert len(await events_for(kc, "steady", "ProviderCreateSuccess")) == 1
        log = (tmp_path / "cisco-vk.log").read_text()
        assert log.count("pod adopted") >= 2
    finally:
        rc = proc.terminate()
    assert rc == 0


async def test_kubectl_logs_exec_top_through_the_node(kubeapi: Any, tmp_path: Path) -> None:
    """The API server reaches the kubelet API at the Node's InternalIP and daemonEndpoints port."""
    kc = str(kubeapi.kubeconfig)
    opts = fast_opts("sw5", kc, client_ca_file=str(kubeapi.client_ca_cert_file))
    async with daemon(fake_spec(tmp_path / "fake.json", log_interval_seconds=0.2), opts):
        await kubectl(kc, "apply", "-f", "-", stdin=pod_manifest("web", "sw5"))

        async def running() -> bool:
            return phase(await get_json(kc, "pod", "web")) == "Running"

        await eventually(running, what="pod Running")

        async def two_lines() -> str:
            out = await kubectl(kc, "logs", "web")
            return out if len(out.splitlines()) >= 3 else ""

        logs = await eventually(two_lines, what="container logs")
        assert "fake/app:1" in logs
        tail = await kubectl(kc, "logs", "web", "--tail=1")
        assert len(tail.splitlines()) == 1 and tail.startswith("heartbeat")
        assert (await kubectl(kc, "exec", "web", "--", "echo", "hi")).strip() == "hi"

        async def top() -> str:
            out = await kubectl(kc, "top", "pod", "web", check=False)
            return out if "web" in out else ""

        assert "MEMORY" in await eventually(top, what="kubectl top pod")


async def test_image_update_and_terminal_pods(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    async with daemon(fake_spec(tmp_path / "fake.json"), fast_opts("sw6", kc)) as d:
        await kubectl(kc, "apply", "-f", "-", stdin=pod_manifest("web", "sw6"))

        async def running() -> bool:
            return phase(await get_json(kc, "pod", "web")) == "Running"

        await eventually(running, what="web Running")
        await kubectl(kc, "set", "image", "pod/web", "app=fake/app:2")

        async def updated() -> list[dict[str, Any]]:
            return await events_for(kc, "web", "ProviderUpdateSuccess")

        await eventually(updated, what="ProviderUpdateSuccess")
        on_device = {p["metadata"]["name"]: p for p in await d.driver.list_pods()}["web"]
        assert on_device["spec"]["containers"][0]["image"] == "fake/app:2"

        async def new_image_running() -> bool:
            p = await get_json(kc, "pod", "web")
            statuses = ((p or {}).get("status") or {}).get("containerStatuses") or [{}]
            return phase(p) == "Running" and statuses[0].get("image") == "fake/app:2"

        await eventually(new_image_running, what="web Running the new image")

        # A container that exits 3 under restartPolicy Never: the pod ends Failed and stays so.
        job = json.loads(pod_manifest("job", "sw6", image="fake/crash:3"))
        job["spec"]["restartPolicy"] = "Never"
        await kubectl(kc, "apply", "-f", "-", stdin=json.dumps(job))

        async def failed() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "job")
            return p if phase(p) == "Failed" else None

        p = await eventually(failed, what="job Failed")
        term = p["status"]["containerStatuses"][0]["state"]["terminated"]
        assert term["exitCode"] == 3
        creates = len(await events_for(kc, "job", "ProviderCreateSuccess"))
        assert creates == 1

        # A force delete by a user (grace 0): gone from the API at once, then from the device.
        await kubectl(kc, "delete", "pod", "web", "--grace-period=0", "--force")

        async def web_gone_from_device() -> bool:
            return "web" not in {p["metadata"]["name"] for p in await d.driver.list_pods()}

        await eventually(web_gone_from_device, what="web removed from the device")


async def test_run_until_stop_leaves_node_lease_and_apps(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    state = tmp_path / "fake.json"
    stop = asyncio.Event()
    task = asyncio.create_task(run(fake_spec(state), fast_opts("sw7", kc), stop))

    async def ready() -> bool:
        return (condition(await get_json(kc, "node", "sw7"), "Ready") or {}).get("status") == "True"

    await eventually(ready, what="node Ready")
    await kubectl(kc, "apply", "-f", "-", stdin=pod_manifest("web", "sw7"))

    async def running() -> bool:
        return phase(await get_json(kc, "pod", "web")) == "Running"

    await eventually(running, what="web Running")
    stop.set()
    await asyncio.wait_for(task, 15)
    assert await get_json(kc, "node", "sw7") is not None
    assert await get_json(kc, "lease", "-n", "kube-node-lease", "sw7") is not None
    assert await get_json(kc, "pod", "web") is not None
    assert "web" in state.read_text()  # the app keeps running on the device


async def test_deleted_node_is_registered_again(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    async with daemon(fake_spec(tmp_path / "fake.json"), fast_opts("sw8", kc, node_status_seconds=1.0)):
        node = await get_json(kc, "node", "sw8")
        assert node is not None
        old_uid = node["metadata"]["uid"]
        await kubectl(kc, "delete", "node", "sw8", "--wait=false")

        async def back() -> dict[str, Any] | None:
            n = await get_json(kc, "node", "sw8")
            return n if n and n["metadata"]["uid"] != old_uid else None

        n = await eventually(back, limit=20, what="node registered again")
        assert (condition(n, "Ready") or {}).get("status") == "True"
        assert {"key": "virtual-kubelet.io/provider", "value": "cisco", "effect": "NoSchedule"} in n["spec"]["taints"]

        async def lease_owned() -> bool:
            lease = await get_json(kc, "lease", "-n", "kube-node-lease", "sw8")
            refs = ((lease or {}).get("metadata") or {}).get("ownerReferences") or []
            return any(r.get("uid") == n["metadata"]["uid"] for r in refs)

        await eventually(lease_owned, limit=20, what="lease owned by the new Node")
