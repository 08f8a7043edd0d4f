"""Real kubectl against the emulator (generated kubeconfig, plain `kubectl apply` with validation),
on /usr/bin/kubectl, kubectl 1.27 and the newest versioned kubectl available."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from hack.kubeapi.fixtures import kubectl_binaries, wait_for

from .crd_fixtures import CRD_YAML
from .kubelet_stub import StubKubelet

BINARIES = kubectl_binaries()
pytestmark = pytest.mark.skipif(not BINARIES, reason="no kubectl binary on this machine")


def _version(binary: str, env: dict[str, str]) -> tuple[int, int]:
    out = subprocess.run(
        [binary, "version", "--client", "-o", "json"], capture_output=True, text=True, env=env, timeout=30
    )
    info = json.loads(out.stdout)["clientVersion"]
    return int(info["major"]), int(re.match(r"\d+", info["minor"]).group())  # type: ignore[union-attr]


@pytest.fixture(params=BINARIES or ["kubectl"], ids=lambda p: os.path.basename(p))
def kube(request: pytest.FixtureRequest, kubeapi: Any) -> Any:
    """The kubeapi handle with .kubectl() bound to one kubectl binary."""
    if not os.path.exists(request.param):
        pytest.skip(f"{request.param} not present")
    kubeapi.kubectl_path = request.param
    return kubeapi


@pytest.fixture
def kubelet(kube: Any, tmp_path: Path) -> Iterator[StubKubelet]:
    stub = StubKubelet(kube.client_ca_cert_file, tmp_path).start()
    try:
        yield stub
    finally:
        stub.stop()


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: web}}
spec:
  {node}
  containers:
  - name: c
    image: busybox:1.36
    command: [sleep, "3600"]
"""


def _pod_yaml(name: str, node: str | None = None) -> str:
    return POD.format(name=name, node=f"nodeName: {node}" if node else "restartPolicy: Always")


def test_namespaces(kube: Any) -> None:
    assert kube.kubectl("create", "namespace", "team-a").stdout.strip() == "namespace/team-a created"
    out = kube.kubectl("get", "namespaces").stdout
    assert re.search(r"^team-a\s+Active\s+\d+s$", out, re.M), out
    err = kube.kubectl("create", "namespace", "team-a", check=False)
    assert err.returncode == 1 and 'namespaces "team-a" already exists' in err.stderr
    kube.kubectl("delete", "namespace", "team-a", "--timeout=20s")
    gone = kube.kubectl("get", "namespace", "team-a", check=False)
    assert gone.returncode == 1 and 'namespaces "team-a" not found' in gone.stderr


def test_apply_get_describe_patch_wait_delete_pod(kube: Any) -> None:
    assert kube.kubectl("apply", "-f", "-", input=_pod_yaml("p1", "n1")).stdout.strip() == "pod/p1 created"
    assert kube.kubectl("apply", "-f", "-", input=_pod_yaml("p1", "n1")).stdout.strip() == "pod/p1 unchanged"
    out = kube.kubectl("get", "pods", "-o", "wide").stdout
    assert re.search(r"^p1\s+0/1\s+Pending\s+0\s+\S+\s+<none>\s+n1\s", out, re.M), out
    desc = kube.kubectl("describe", "pod", "p1").stdout
    assert re.search(r"^Node:\s+n1", desc, re.M) and "busybox:1.36" in desc
    kube.kubectl(
        "patch",
        "pod",
        "p1",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}',
    )
    kube.kubectl("wait", "--for=condition=Ready", "pod/p1", "--timeout=20s")
    assert kube.kubectl("get", "pod", "p1", "-o", "jsonpath={.status.phase}").stdout == "Running"
    # Graceful deletion: the bound pod stays Terminating until its kubelet deletes it with grace 0.
    kube.kubectl("delete", "pod", "p1", "--wait=false")
    out = kube.kubectl("get", "pod", "p1").stdout
    assert re.search(r"^p1\s+\S+\s+Terminating\s", out, re.M), out
    kube.kubectl("delete", "pod", "p1", "--grace-period=0", "--force", "--timeout=20s")
    assert kube.kubectl("get", "pod", "p1", check=False).returncode == 1


def test_validation_rejects_unknown_fields(kube: Any) -> None:
    bad = _pod_yaml("p2").replace("    image: busybox:1.36\n", "    image: busybox:1.36\n    imagePolicy: x\n")
    out = kube.kubectl("apply", "-f", "-", input=bad, check=False)
    assert out.returncode == 1
    assert 'unknown field "spec.containers[0].imagePolicy"' in out.stderr


def test_deployment_gets_its_pod_back(kube: Any) -> None:
    kube.kubectl(
        "apply",
        "-f",
        "-",
        input=textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: c, image: nginx:1.25}]
        """),
    )

    def pod_names() -> list[str]:
        out = kube.kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}").stdout
        return out.split()

    first = wait_for(pod_names, message="deployment pod")
    assert len(first) == 1 and first[0].startswith("web-")
    kube.kubectl("delete", "pod", first[0], "--timeout=20s")
    second = wait_for(lambda: [n for n in pod_names() if n != first[0]], message="replacement pod")
    assert len(second) == 1
    out = kube.kubectl("get", "deployment", "web").stdout
    assert re.search(r"^web\s+0/1\s+1\s+0\s", out, re.M), out


def test_crd_printer_columns_and_schema_errors(kube: Any) -> None:
    kube.kubectl("apply", "-f", "-", input=CRD_YAML)
    kube.kubectl("wait", "--for=condition=Established", "crd/ciscodevices.cisco.vk", "--timeout=20s")
    device = "apiVersion: cisco.vk/v1alpha1\nkind: CiscoDevice\nmetadata: {name: sw1}\n"
    device += "spec: {driver: XE, address: 10.0.0.1}\n"
    assert kube.kubectl("apply", "-f", "-", input=device).stdout.strip() == "ciscodevice.cisco.vk/sw1 created"
    kube.kubectl("patch", "cdev", "sw1", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Ready"}}')
    out = kube.kubectl("get", "cdev").stdout
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == ["NAME", "DRIVER", "PORT", "PHASE"], out
    assert re.split(r"\s{2,}", lines[1].strip()) == ["sw1", "XE", "830", "Ready"], out
    bad = "apiVersion: cisco.vk/v1alpha1\nkind: CiscoDevice\nmetadata: {name: sw2}\nspec: {driver: BAD, port: 70000}\n"
    res = kube.kubectl("apply", "-f", "-", input=bad, check=False)
    assert res.returncode == 1
    assert 'The CiscoDevice "sw2" is invalid' in res.stderr
    assert 'spec.driver: Unsupported value: "BAD": supported values: "XE", "FAKE"' in res.stderr
    assert "spec.port: Invalid value: 70000" in res.stderr
    unknown = device.replace("address: 10.0.0.1", "address: 10.0.0.1, color: red")
    res = kube.kubectl("apply", "-f", "-", input=unknown, check=False)
    assert res.returncode == 1 and 'unknown field "spec.color"' in res.stderr


def test_stale_replace_is_a_conflict(kube: Any, tmp_path: Path) -> None:
    kube.kubectl("create", "configmap", "cfg", "--from-literal=a=1")
    stale = kube.kubectl("get", "configmap", "cfg", "-o", "json").stdout
    kube.kubectl("patch", "configmap", "cfg", "--type=merge", "-p", '{"data":{"a":"2"}}')
    path = tmp_path / "stale.json"
    path.write_text(stale.replace('"a": "1"', '"a": "3"'))
    res = kube.kubectl("replace", "-f", str(path), check=False)
    assert res.returncode == 1
    assert 'Operation cannot be fulfilled on configmaps "cfg": the object has been modified' in res.stderr


def test_selectors(kube: Any) -> None:
    kube.kubectl("apply", "-f", "-", input=_pod_yaml("a", "n1"))
    kube.kubectl("apply", "-f", "-", input=_pod_yaml("b", "n2"))
    kube.kubectl("label", "pod", "b", "tier=db")
    assert kube.kubectl("get", "pods", "--field-selector", "spec.nodeName=n1", "-o", "name").stdout.split() == ["pod/a"]
    assert kube.kubectl("get", "pods", "-l", "tier=db", "-o", "name").stdout.split() == ["pod/b"]
    assert kube.kubectl("get", "pods", "-l", "app=web,!tier", "-o", "name").stdout.split() == ["pod/a"]
    res = kube.kubectl("get", "pods", "--field-selector", "spec.bogus=1", check=False)
    assert res.returncode == 1 and "field label not supported: spec.bogus" in res.stderr


def test_server_side_apply(kube: Any) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1'}\n"
    assert (
        kube.kubectl("apply", "--server-side", "-f", "-", input=cm).stdout.strip() == "configmap/ssa serverside-applied"
    )
    other = cm.replace("'1'", "'2'")
    res = kube.kubectl("apply", "--server-side", "--field-manager=other", "-f", "-", input=other, check=False)
    assert res.returncode == 1 and "conflict" in res.stderr.lower()
    kube.kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", input=other)
    assert kube.kubectl("get", "configmap", "ssa", "-o", "jsonpath={.data.a}").stdout == "2"


def _running_pod_on(kube: Any, kubelet: StubKubelet) -> None:
    kube.server.create_object(kubelet.node("vk-node"))
    kube.kubectl("apply", "-f", "-", input=_pod_yaml("p1", "vk-node"))
    kube.kubectl("patch", "pod", "p1", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Running"}}')


def test_logs_through_the_kubelet_proxy(kube: Any, kubelet: StubKubelet) -> None:
    _running_pod_on(kube, kubelet)
    assert kube.kubectl("logs", "p1").stdout == "p1/c line 1\np1/c line 2\np1/c line 3\n"
    assert kube.kubectl("logs", "p1", "-c", "c", "--tail=1").stdout == "p1/c line 3\n"
    followed = kube.kubectl("logs", "-f", "p1", "--timestamps").stdout
    assert followed.endswith("followed 0\nfollowed 1\nfollowed 2\n")
    seen = [r for r in kubelet.requests if r.path == "/containerLogs/default/p1/c"]
    assert ("tailLines", "1") in seen[1].query
    assert ("follow", "true") in seen[2].query and ("timestamps", "true") in seen[2].query
    assert all(r.client_cn == "kube-apiserver-kubelet-client" for r in seen)
    res = kube.kubectl("logs", "p1", "-c", "nope", check=False)
    assert res.returncode == 1 and "container nope is not valid for pod p1" in res.stderr


def test_exec_through_the_kubelet_proxy(kube: Any, kubelet: StubKubelet) -> None:
    _running_pod_on(kube, kubelet)
    version = _version(kube.kubectl_path, kube.env())
    res = kube.kubectl("exec", "p1", "--", "echo", "hi", check=False)
    exec_requests = [r for r in kubelet.requests if r.path == "/exec/default/p1/c"]
    assert exec_requests, res.stderr
    first = exec_requests[0]
    assert first.client_cn == "kube-apiserver-kubelet-client"
    assert ("command", "echo") in first.query and ("command", "hi") in first.query and ("output", "1") in first.query
    assert "authorization" not in {k.lower() for k in first.headers}
    if first.headers.get("Upgrade", "").lower() == "websocket":
        # WebSocket exec (kubectl >= 1.30) passes through to the stub kubelet end to end.
        assert res.returncode == 0, res.stderr
        assert res.stdout == "echo hi\n"
        failed = kube.kubectl("exec", "p1", "--", "exit", "3", check=False)
        assert failed.returncode == 3, failed.stderr
    else:
        # SPDY: the upgrade reached the kubelet unchanged (this stub does not speak SPDY).
        assert version < (1, 30)
        assert first.headers["Upgrade"].upper().startswith("SPDY/3.1")
        assert "X-Stream-Protocol-Version" in first.headers
        assert res.returncode != 0


def test_top_reads_kubelet_resource_metrics(kube: Any, kubelet: StubKubelet) -> None:
    _running_pod_on(kube, kubelet)
    kube.server.metrics.second_scrape_delay = 0.2
    lines = kube.kubectl("top", "node", "vk-node").stdout.splitlines()
    # The percentage headers are "CPU%" or "CPU(%)" depending on the kubectl version.
    assert [h.replace("(%)", "%") for h in lines[0].split()] == [
        "NAME",
        "CPU(cores)",
        "CPU%",
        "MEMORY(bytes)",
        "MEMORY%",
    ]
    name, cpu, cpu_pct, memory, memory_pct = lines[1].split()
    assert (name, memory, memory_pct) == ("vk-node", "256Mi", "6%")
    assert cpu.endswith("m") and cpu_pct.endswith("%")
    assert any(r.path == "/metrics/resource" for r in kubelet.requests)
    pod = kube.kubectl("top", "pod", "p1", "--no-headers").stdout.split()
    assert pod[0] == "p1" and pod[2] == "64Mi" and pod[1].endswith("m")


def test_auth_can_i_follows_the_deny_list(kube: Any) -> None:
    assert kube.kubectl("auth", "can-i", "get", "pods").stdout.strip() == "yes"
    kube.server.deny("admin:delete:pods")
    res = kube.kubectl("auth", "can-i", "delete", "pods", check=False)
    assert res.stdout.strip().startswith("no")
    res = kube.kubectl("delete", "pod", "x", check=False)
    assert res.returncode == 1
    assert 'User "admin" cannot delete resource "pods" in API group "" in the namespace "default"' in res.stderr


def test_kubectl_against_the_server_process(kubeapi_process: Any) -> None:
    out = kubeapi_process.kubectl("get", "namespaces", "-o", "name").stdout.split()
    assert out == ["namespace/default", "namespace/kube-node-lease", "namespace/kube-public", "namespace/kube-system"]
    core = client.CoreV1Api(kubeapi_process.client())
    assert core.read_namespace("default").status.phase == "Active"


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (REPO / "deploy" / "rbac").is_dir(), reason="no deploy/ manifests")
def test_project_manifests_apply(kubeapi: Any) -> None:
    """The project's CRDs and RBAC apply with plain kubectl (the sandbox and users do this)."""
    kubeapi.kubectl("create", "namespace", "cisco-vk-system")
    kubeapi.kubectl("apply", "-f", str(REPO / "deploy" / "crds"))
    out = kubeapi.kubectl("apply", "-f", str(REPO / "deploy" / "rbac")).stdout
    assert "clusterrole.rbac.authorization.k8s.io/" in out and "clusterrolebinding.rbac.authorization.k8s.io/" in out
    assert kubeapi.kubectl("get", "clusterroles", "-o", "name").stdout.strip()


def test_drain_evicts_pods(kube: Any) -> None:
    kube.kubectl("apply", "-f", "-", input=_pod_yaml("a", "n1"))
    kube.kubectl("apply", "-f", "-", input=_pod_yaml("b", "n2"))
    kube.server.create_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    kube.kubectl("drain", "n1", "--force", "--grace-period=0", "--timeout=20s")
    assert kube.kubectl("get", "node", "n1", "-o", "jsonpath={.spec.unschedulable}").stdout == "true"
    assert kube.kubectl("get", "pods", "-o", "name").stdout.split() == ["pod/b"]


def test_get_watch_streams_table_events(kube: Any) -> None:
    proc = subprocess.Popen(
        [kube.kubectl_path, "get", "configmaps", "--watch", "--output-watch-events", "--request-timeout=30s"],
        env=kube.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # Whether kubectl lists before or after this create, the object is reported as ADDED.
        kube.kubectl("create", "configmap", "watched", "--from-literal=a=b")
        header = proc.stdout.readline()
        assert header.split()[:3] == ["EVENT", "NAME", "DATA"], header
        line = proc.stdout.readline()
        assert line.split()[:3] == ["ADDED", "watched", "1"], line
        kube.kubectl("delete", "configmap", "watched")
        assert proc.stdout.readline().split()[:2] == ["DELETED", "watched"]
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def test_imperative_create_commands(kube: Any) -> None:
    """kubectl 1.32+ sends these in protobuf, older ones JSON: the stored objects are the same."""
    kube.kubectl("create", "namespace", "team")
    kube.kubectl("create", "configmap", "cfg", "-n", "team", "--from-literal=a=b")
    kube.kubectl("create", "secret", "generic", "sec", "-n", "team", "--from-literal=x=y")
    kube.kubectl("create", "serviceaccount", "bot", "-n", "team")
    kube.kubectl("create", "role", "reader", "-n", "team", "--verb=get,list", "--resource=pods")
    kube.kubectl("create", "rolebinding", "read", "-n", "team", "--role=reader", "--serviceaccount=team:bot")
    server = kube.server
    assert server.get_object("configmaps", "cfg", "team")["data"] == {"a": "b"}
    assert server.get_object("secrets", "sec", "team")["data"] == {"x": "eQ=="}
    assert server.get_object("serviceaccounts", "bot", "team") is not None
    role = server.get_object("roles", "reader", "team", group="rbac.authorization.k8s.io")
    assert role["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    binding = server.get_object("rolebindings", "read", "team", group="rbac.authorization.k8s.io")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "bot", "namespace": "team"}]
    kube.kubectl("create", "deployment", "web", "-n", "team", "--image=nginx:1.25", "--replicas=2", "--port=8080")
    kube.kubectl("expose", "deployment", "web", "-n", "team", "--port=80", "--target-port=8080")
    kube.kubectl("create", "service", "nodeport", "np", "-n", "team", "--tcp=80:http", "--node-port=30080")
    dep = server.get_object("deployments", "web", "team", group="apps")
    assert dep["spec"]["replicas"] == 2 and dep["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("nginx", "nginx:1.25")
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    svc = server.get_object("services", "web", "team")
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert svc["spec"]["selector"] == {"app": "web"} and svc["spec"]["clusterIP"].startswith("10.96.")
    np = server.get_object("services", "np", "team")
    assert np["spec"]["type"] == "NodePort"
    assert np["spec"]["ports"][0]["targetPort"] == "http" and np["spec"]["ports"][0]["nodePort"] == 30080
