"""The sandbox scenario, one printed step at a time (see hack/sandbox/__main__.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "sw1"
DEMO_NS = "default"
SYSTEM_NS = "cisco-vk-system"
DEMO_IMAGE = "bootflash:/hello-app.tar"


class StepFailed(Exception):
    pass


def kubectl_binary() -> str:
    return os.environ.get("KUBECTL") or shutil.which("kubectl") or str(ROOT / ".tools" / "bin" / "kubectl")


class Sandbox:
    def __init__(self, directory: Path, driver: str = "XE") -> None:
        self.dir = directory
        self.driver = driver
        self.kubeconfig = directory / "kubeconfig"
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.sim: dict[str, Any] = {}
        self.step_no = 0

    # ---- plumbing --------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
        return env

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        logs = self.dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env or self._env(),
                                start_new_session=True)
        out.close()
        self.procs.append((name, proc))

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 20
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()

    def kubectl(self, *args: str, check: bool = True, input_text: str | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([kubectl_binary(), *args], capture_output=True, text=True, env=self._env(),
                              input=input_text, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise StepFailed(f"kubectl {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def apply(self, doc: dict[str, Any] | list[dict[str, Any]]) -> None:
        docs = doc if isinstance(doc, list) else [doc]
        self.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all(docs))

    def step(self, title: str, fn: Callable[[], str | None]) -> None:
        self.step_no += 1
        print(f"==> [{self.step_no}] {title}", flush=True)
        started = time.monotonic()
        try:
            detail = fn()
        except StepFailed:
            raise
        except Exception as err:  # every failure is reported as the step's failure
            raise StepFailed(f"step {self.step_no} ({title}): {err}") from err
        print(f"    ok ({time.monotonic() - started:.1f}s)", flush=True)
        if detail:
            print("    " + detail.rstrip().replace("\n", "\n    "), flush=True)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise StepFailed(f"{name} exited with code {proc.returncode} while waiting for {what}; "
                                     f"see {self.dir / 'logs' / (name + '.log')}")
            if check():
                return
            time.sleep(0.5)
        raise StepFailed(f"timed out after {timeout:.0f}s waiting for {what}")

    def get(self, *args: str) -> dict[str, Any] | None:
        proc = self.kubectl("get", *args, "-o", "json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    # ---- the scenario ----------------------------------------------------------------------
    def run_scenario(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.step("start the Kubernetes API emulator", self._start_api)
        self.step("start the IOS-XE simulator (RESTCONF over HTTPS)", self._start_sim)
        self.step("install the CiscoDevice CRD and RBAC from deploy/", self._install)
        self.step("start the host node that runs the controller and cisco-vk pods", self._start_host)
        self.step("deploy the controller (Deployment from the Helm chart)", self._deploy_controller)
        self.step(f"apply a Secret and CiscoDevice {DEVICE} ({self.driver} driver)", self._apply_device)
        self.step("the controller creates the cisco-vk Deployment and the host runs it", self._wait_vk_pod)
        self.step(f"node {DEVICE} turns Ready and CiscoDevice {DEVICE} turns Ready", self._wait_ready)
        self.step("run a demo pod on the simulated switch", self._demo_pod)
        self.step("kubectl get ciscodevices,nodes,pods -o wide", self._show)
        self.step("kubectl logs hello", self._logs)
        self.step("kubectl exec hello -- echo hi", self._exec)

    def _start_api(self) -> str:
        # --rbac: the controller and cisco-vk pods run as their ServiceAccounts, so the chart's RBAC is
        # what lets them work here, as on a real cluster.
        self._start("kubeapi", [sys.executable, "-m", "hack.kubeapi", "--port", "0", "--rbac",
                                "--write-kubeconfig", str(self.kubeconfig)])
        self.wait_for("the API server", lambda: self.kubeconfig.exists()
                      and self.kubectl("version", check=False).returncode == 0, timeout=30)
        return f"KUBECONFIG={self.kubeconfig}"

    def _start_sim(self) -> str:
        ready = self.dir / "sim.json"
        ca = self.dir / "sim-ca.pem"
        self._start("iosxe-sim", [sys.executable, "-m", "hack.iosxe_sim", "--port", "0", "--write-ca", str(ca),
                                  "--ready-file", str(ready), "--hostname", DEVICE, "--file", DEMO_IMAGE,
                                  "--grpc-port", "0", "--ssh-port", "0"])
        self.wait_for("the simulator", ready.exists, timeout=30)
        time.sleep(0.2)
        self.sim = json.loads(ready.read_text())
        return (f"RESTCONF at https://127.0.0.1:{self.sim['port']}, gNMI/gNOI at 127.0.0.1:{self.sim['grpc_port']} "
                f"(CA {ca}), SSH CLI at 127.0.0.1:{self.sim['ssh_port']}")

    def _install(self) -> str:
        self.kubectl("apply", "-f", str(ROOT / "deploy" / "crds"))
        self.kubectl("create", "namespace", SYSTEM_NS, check=False)
        self.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac"))
        self.wait_for("the CRD to be served", lambda: self.kubectl("get", "cvk", "-A", check=False).returncode == 0)
        return "CRD ciscodevices.cisco.vk (short name cvk) served"

    def _start_host(self) -> str:
        self._start("hostrunner", [sys.executable, "-m", "hack.hostrunner", "--kubeconfig", str(self.kubeconfig),
                                   "--root", str(self.dir / "host")])
        self.wait_for("node sandbox-host", lambda: self.get("node", "sandbox-host") is not None, timeout=30)
        return "node sandbox-host registered"

    def _deploy_controller(self) -> str:
        helm = shutil.which("helm") or str(ROOT / ".tools" / "bin" / "helm")
        out = subprocess.run([helm, "template", "cisco-vk", str(ROOT / "deploy" / "helm" / "cisco-vk"),
                              "--namespace", SYSTEM_NS, "--set", "deviceNamespaces={default}",
                              "--set", "controller.cleanupTimeoutSeconds=30"],
                             capture_output=True, text=True, check=True).stdout
        docs = [d for d in yaml.safe_load_all(out) if d]
        self.apply(docs)
        self.wait_for("the controller pod to be Ready", lambda: self._ready_pods(
            SYSTEM_NS, "app.kubernetes.io/component=controller") == 1, timeout=60)
        return "controller Running on sandbox-host"

    def _ready_pods(self, ns: str, selector: str) -> int:
        pods = self.get("pods", "-n", ns, "-l", selector) or {"items": []}
        n = 0
        for pod in pods["items"]:
            conds = {c["type"]: c["status"] for c in (pod.get("status") or {}).get("conditions") or []}
            n += conds.get("Ready") == "True"
        return n

    def _apply_device(self) -> str:
        ca = (self.dir / "sim-ca.pem").read_text()
        docs: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{DEVICE}-credentials-ref",
                                                                "namespace": DEMO_NS},
             "stringData": {"password": self.sim.get("password", "admin")}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{DEVICE}-ca", "namespace": DEMO_NS},
             "stringData": {"ca.crt": ca}},
        ]
        if self.driver == "XE":  # the simulator's SSH host key, as ssh-keyscan would print it
            docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{DEVICE}-ssh",
                                                                            "namespace": DEMO_NS},
                         "stringData": {"known_hosts": str(self.sim["known_hosts_line"]) + "\n"}})
        spec: dict[str, Any] = {"driver": self.driver, "address": "127.0.0.1",
                                "username": self.sim.get("username", "admin"),
                                "credentialSecretRef": {"name": f"{DEVICE}-credentials-ref"}}
        if self.driver == "XE":
            spec.update({"port": int(self.sim["port"]),
                         "tls": {"enabled": True, "caSecretRef": {"name": f"{DEVICE}-ca"}},
                         "gnoi": {"port": int(self.sim["grpc_port"]), "transportSecurity": "tls"},
                         "ssh": {"port": int(self.sim["ssh_port"]), "knownHostsSecretRef": {"name": f"{DEVICE}-ssh"}},
                         "xe": {"networking": {"interface": {
                             "type": "VirtualPortGroup", "virtualPortGroup": {"dhcp": True, "interface": "0"}}}}})
        docs.append({"apiVersion": "cisco.vk/v1alpha1", "kind": "CiscoDevice",
                     "metadata": {"name": DEVICE, "namespace": DEMO_NS}, "spec": spec})
        self.apply(docs)
        return yaml.safe_dump(docs[-1], sort_keys=False)

    def _wait_vk_pod(self) -> str:
        self.wait_for(f"Deployment {DEVICE}-vk", lambda: self.get("deployment", f"{DEVICE}-vk", "-n", DEMO_NS)
                      is not None, timeout=60)
        self.wait_for("the cisco-vk pod to be Ready", lambda: self._ready_pods(
            DEMO_NS, f"app.kubernetes.io/instance={DEVICE}") == 1, timeout=120)
        return self.kubectl("get", "pods", "-n", DEMO_NS, "-l", f"app.kubernetes.io/instance={DEVICE}",
                            "-o", "wide").stdout

    def _wait_ready(self) -> str:
        self.kubectl("wait", "--for=condition=Ready", f"node/{DEVICE}", "--timeout=120s", timeout=130)
        self.kubectl("wait", "--for=condition=Ready", f"ciscodevice/{DEVICE}", "-n", DEMO_NS, "--timeout=120s",
                     timeout=130)
        return self.kubectl("get", "cvk", "-n", DEMO_NS).stdout

    def _demo_pod(self) -> str | None:
        image = DEMO_IMAGE if self.driver == "XE" else "hello:1"
        pod = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hello", "namespace": DEMO_NS},
            "spec": {
                "nodeName": DEVICE,
                "tolerations": [{"key": "virtual-kubelet.io/provider", "operator": "Exists",
                                 "effect": "NoSchedule"}],
                "containers": [{"name": "hello", "image": image,
                                "env": [{"name": "GREETING", "value": "hello-from-iox"}],
                                "resources": {"requests": {"cpu": "200m", "memory": "128Mi"}}}],
            },
        }
        self.apply(pod)
        self.kubectl("wait", "--for=jsonpath={.status.phase}=Running", "pod/hello", "-n", DEMO_NS,
                     "--timeout=120s", timeout=130)
        return None

    def _show(self) -> str:
        return self.kubectl("get", "ciscodevices,nodes,pods", "-A", "-o", "wide").stdout

    def _logs(self) -> str:
        def has_output() -> bool:
            return bool(self.kubectl("logs", "hello", "-n", DEMO_NS, check=False).stdout.strip())
        self.wait_for("log output of pod hello", has_output, timeout=60)
        return self.kubectl("logs", "hello", "-n", DEMO_NS, "--tail=10").stdout

    def _exec(self) -> str:
        out = self.kubectl("exec", "hello", "-n", DEMO_NS, "--", "echo", "hi").stdout
        if out != "hi\n":
            raise StepFailed(f"kubectl exec hello -- echo hi printed {out!r}, expected 'hi'")
        return out
