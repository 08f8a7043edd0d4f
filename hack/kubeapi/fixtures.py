"""pytest fixtures: ``kubeapi`` (in-process server on its own thread and loop) and
``kubeapi_process`` (``python -m hack.kubeapi`` subprocess).

Use from a conftest.py::

    from hack.kubeapi.fixtures import kubeapi  # noqa: F401
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .server import KubeAPIServer

KUBECTL = "/usr/bin/kubectl"


TOOLS_KUBECTL = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "kubectl"


def kubectl_binaries() -> list[str]:
    """/usr/bin/kubectl plus kubectl 1.27 and the newest versioned kubectl next to it (if present), and
    the kubectl 1.35 that `make setup` installs from PyPI into .tools/bin (the newest we can get)."""
    out = kubectl_binaries_on_path()
    if TOOLS_KUBECTL.exists():
        out.append(str(TOOLS_KUBECTL))
    return out


def kubectl_binaries_on_path() -> list[str]:
    out = []
    if os.path.exists(KUBECTL):
        out.append(KUBECTL)
        real = os.path.dirname(os.path.realpath(KUBECTL))
        versioned = []
        for name in os.listdir(real):
            m = re.fullmatch(r"kubectl\.1\.(\d+)", name)
            if m:
                versioned.append((int(m.group(1)), os.path.join(real, name)))
        versioned.sort()
        if versioned:
            chosen = {p for minor, p in versioned if minor == 27}
            chosen.add(versioned[-1][1])
            out.extend(sorted(chosen))
    return out


class _Handle:
    """What the fixtures yield."""

    def __init__(
        self,
        *,
        kubeconfig: Path,
        url: str,
        token: str,
        ca_file: Path,
        ca_key_file: Path,
        workdir: Path,
        server: KubeAPIServer | None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.url = url
        self.token = token
        self.ca_file = ca_file
        # The CA the kubelet under test should trust for the proxy's client certificate (the
        # emulator signs its kubelet-client certificate with its own CA), and its key so tests can
        # sign further certificates.
        self.client_ca_cert_file = ca_file
        self.client_ca_key_file = ca_key_file
        self.workdir = workdir
        self.server = server
        self.kubectl_path = KUBECTL
        self._cache_dir = workdir / "kube-cache"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["KUBECACHEDIR"] = str(self._cache_dir)
        env.pop("KUBERNETES_SERVICE_HOST", None)
        return env

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60, binary: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run real kubectl against this server (KUBECONFIG set, private discovery cache)."""
        cmd = [binary or self.kubectl_path, *args]
        proc = subprocess.run(cmd, env=self.env(), input=input, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} failed rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Any = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        token: str | None = None,
    ) -> Any:
        """A raw HTTPS request to the server (requests.Response), authenticated with the token."""
        import json as _json

        import requests

        h = {"Authorization": f"Bearer {token or self.token}", "Accept": "application/json"}
        if body is not None:
            h["Content-Type"] = content_type
        h.update(headers or {})
        data = body if isinstance(body, (bytes, str)) or body is None else _json.dumps(body)
        return requests.request(
            method, self.url + path, data=data, params=params, headers=h, verify=str(self.ca_file), timeout=30
        )

    def client(self) -> Any:
        """An official kubernetes ApiClient configured from the generated kubeconfig."""
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=cfg)  # type: ignore[no-untyped-call]
        return client.ApiClient(cfg)


class _ServerThread:
    def __init__(self, server: KubeAPIServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="kubeapi", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as exc:  # surfaced in start()
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        fut = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
        with contextlib.suppress(Exception):
            fut.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextlib.contextmanager
def running_kubeapi(tmp_path: Path, **kwargs: Any) -> Iterator[_Handle]:
    """Start an in-process server; yields the handle. Usable outside pytest too."""
    server = KubeAPIServer(workdir=tmp_path / "pki", **kwargs)
    thread = _ServerThread(server)
    thread.start()
    try:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        yield _Handle(
            kubeconfig=kubeconfig,
            url=server.url,
            token=server.token,
            ca_file=server.files.ca_file,
            ca_key_file=server.files.ca_key_file,
            workdir=tmp_path,
            server=server,
        )
    finally:
        thread.stop()


@pytest.fixture
def kubeapi(tmp_path: Path) -> Iterator[_Handle]:
    """A fresh in-process API server per test (starts in well under a second)."""
    # A subfolder, so the test's own files in tmp_path (a "kubeconfig" of its own) do not collide.
    with running_kubeapi(tmp_path / "kubeapi") as handle:
        yield handle


@pytest.fixture
def kubeapi_process(tmp_path: Path) -> Iterator[_Handle]:
    """The server as a separate process (python -m hack.kubeapi), stopped with SIGTERM."""
    workdir = tmp_path / "kubeapi-process"
    workdir.mkdir(parents=True, exist_ok=True)
    kubeconfig = workdir / "kubeconfig"
    pki = workdir / "pki"
    token = "test-" + os.urandom(12).hex()
    repo_root = Path(__file__).resolve().parents[2]
    # The server's log goes to a file: a pipe nobody reads could fill up and block the server.
    log_path = workdir / "kubeapi.log"
    log_file = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hack.kubeapi",
            "--port",
            "0",
            "--write-kubeconfig",
            str(kubeconfig),
            "--token",
            token,
            "--pki-dir",
            str(pki),
        ],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"url=(\S+)", line)
        if not m:
            proc.kill()
            proc.wait(10)
            raise RuntimeError(f"kubeapi process did not start: {line!r}\n{log_path.read_text()}")
        yield _Handle(
            kubeconfig=kubeconfig,
            url=m.group(1),
            token=token,
            ca_file=pki / "ca.crt",
            ca_key_file=pki / "ca.key",
            workdir=workdir,
            server=None,
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout:
            proc.stdout.close()
        log_file.close()


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05, message: str = "condition") -> Any:
    """Poll predicate() until it returns a truthy value; raise AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last value: {last!r})")


# The type of what the fixtures yield, for annotations in other tests.
KubeAPIHandle = _Handle

__all__ = ["KubeAPIHandle", "kubeapi", "kubeapi_process", "kubectl_binaries", "running_kubeapi", "wait_for"]
