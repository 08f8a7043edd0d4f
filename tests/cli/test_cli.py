"""The cisco-vk command line: help, version, configuration errors (one line, exit 2), the options
handed to the daemon, and SIGTERM handling."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cvk
from cvk import __version__
from cvk.cli import main
from cvk.errors import ConfigError
from cvk.options import RunOptions

FAKE = "device:\n  driver: FAKE\n  address: 192.0.2.10\n  username: admin\n"
ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "device.yaml"
    path.write_text(text)
    return str(path)


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    clean = {"VKUBELET_NODE_NAME": None, "LOG_LEVEL": None, "CVK_LOG_FORMAT": None, "CVK_DEVICE_PASSWORD": None,
             "CVK_DEVICE_PASSWORD_FILE": None}
    return CliRunner().invoke(main, list(args), env={**clean, **(env or {})})  # type: ignore[dict-item]


class Captured:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, RunOptions, asyncio.Event | None]] = []
        self.raise_: BaseException | None = None

    async def run(self, spec: Any, opts: RunOptions, stop: asyncio.Event | None = None) -> None:
        self.calls.append((spec, opts, stop))
        if self.raise_ is not None:
            raise self.raise_


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Captured:
    """Replace cvk.daemon with a recorder: these tests check what the CLI hands over."""
    captured = Captured()
    fake = types.ModuleType("cvk.daemon")
    fake.run = captured.run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cvk.daemon", fake)
    monkeypatch.setattr(cvk, "daemon", fake, raising=False)
    return captured


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "version", "controller"):
        assert command in result.stdout


def test_run_help_lists_every_flag() -> None:
    result = invoke("run", "--help")
    assert result.exit_code == 0
    for flag in ("--config", "--kubeconfig", "--nodename", "--log-level", "--log-format", "--kubelet-port",
                 "--kubelet-address", "--node-ip", "--tls-cert-file", "--tls-key-file", "--client-ca-file",
                 "--anonymous-auth", "--authentication-token-webhook", "--authorization-webhook",
                 "VKUBELET_NODE_NAME", "LOG_LEVEL"):
        assert flag in result.stdout


def test_version() -> None:
    result = invoke("version")
    assert result.exit_code == 0 and result.stdout.startswith(f"cisco-vk {__version__} ")
    assert invoke("--version").stdout.strip() == f"cisco-vk {__version__}"


@pytest.mark.parametrize(("text", "line"), [
    (FAKE.replace("driver: FAKE", "driver: XR"),
     "error: device.driver: driver XR is reserved and not implemented; use XE or FAKE"),
    (FAKE + "  xe:\n    networking:\n      interface:\n        type: Management\n"
            "        virtualPortGroup: {dhcp: true}\n",
     "error: device.xe.networking.interface.type: is Management but the block given is virtualPortGroup"),
    (FAKE.replace("username: admin", "usrname: admin"),
     'error: device.usrname: unknown field; did you mean "username"?'),
    (FAKE + "  port: 99999\n", "error: device.port: must be between 1 and 65535, got 99999"),
    ("device: [\n", "error: "),
])
def test_config_errors_are_one_line_and_exit_2(tmp_path: Path, daemon: Captured, text: str, line: str) -> None:
    result = invoke("run", "--config", write(tmp_path, text))
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(line)
    assert daemon.calls == []


def test_missing_config_file(daemon: Captured) -> None:
    result = invoke("run", "--config", "/nonexistent/device.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot read config file /nonexistent/device.yaml")


@pytest.mark.parametrize(("args", "line"), [
    (["--tls-cert-file", "/etc/hosts"], "error: --tls-key-file: --tls-cert-file and --tls-key-file"),
    (["--tls-cert-file", "/nope.crt", "--tls-key-file", "/nope.key"], "error: --tls-cert-file: /nope.crt"),
    (["--client-ca-file", "/nope.ca"], "error: --client-ca-file: /nope.ca: no such file"),
    (["--nodename", "Bad_Name"], "error: --nodename: must be lower-case"),
    (["--kubelet-address", "localhost"], "error: --kubelet-address: 'localhost' is not an IP address"),
    (["--node-ip", "10.0.0"], "error: --node-ip: '10.0.0' is not an IP address"),
])
def test_bad_flags_exit_2(tmp_path: Path, daemon: Captured, args: list[str], line: str) -> None:
    result = invoke("run", "--config", write(tmp_path, FAKE), *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(line) and len(result.stderr.splitlines()) == 1


def test_run_hands_spec_and_options_to_the_daemon(tmp_path: Path, daemon: Captured) -> None:
    result = invoke("run", "-c", write(tmp_path, FAKE), "--kubeconfig", "/k", "--kubelet-port", "0",
                    "--kubelet-address", "127.0.0.1", "--node-ip", "127.0.0.2", "--anonymous-auth",
                    "--no-authorization-webhook", "--no-authentication-token-webhook")
    assert result.exit_code == 0, result.stderr
    ((spec, opts, stop),) = daemon.calls
    assert spec.address == "192.0.2.10"
    assert isinstance(stop, asyncio.Event)
    assert opts == RunOptions(node_name="cisco-vk-192-0-2-10", kubeconfig="/k", log_level="info",
                              kubelet_port=0, kubelet_address="127.0.0.1", node_ip="127.0.0.2",
                              anonymous_auth=True, authorization_webhook=False,
                              authentication_token_webhook=False)


def test_defaults_match_run_options(tmp_path: Path, daemon: Captured) -> None:
    assert invoke("run", "-c", write(tmp_path, FAKE)).exit_code == 0
    opts = daemon.calls[0][1]
    assert opts == RunOptions(node_name="cisco-vk-192-0-2-10")


@pytest.mark.parametrize(("args", "env", "spec_name", "expected"), [
    (["--nodename", "flag"], {"VKUBELET_NODE_NAME": "env"}, "spec", "flag"),
    ([], {"VKUBELET_NODE_NAME": "env"}, "spec", "env"),
    ([], {}, "spec", "spec"),
    ([], {}, None, "cisco-vk-192-0-2-10"),
])
def test_node_name_precedence(tmp_path: Path, daemon: Captured, args: list[str], env: dict[str, str],
                              spec_name: str | None, expected: str) -> None:
    text = FAKE + (f"  nodeName: {spec_name}\n" if spec_name else "")
    assert invoke("run", "-c", write(tmp_path, text), *args, env=env).exit_code == 0
    assert daemon.calls[0][1].node_name == expected


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["--log-level", "error"], {"LOG_LEVEL": "debug"}, "error"),
    ([], {"LOG_LEVEL": "debug"}, "debug"),
    ([], {"LOG_LEVEL": "warning"}, "warn"),
    ([], {}, "warn"),  # from the spec
])
def test_log_level_precedence(tmp_path: Path, daemon: Captured, args: list[str], env: dict[str, str],
                              expected: str) -> None:
    assert invoke("run", "-c", write(tmp_path, FAKE + "  logLevel: warn\n"), *args, env=env).exit_code == 0
    assert daemon.calls[0][1].log_level == expected


def test_config_error_from_the_daemon_exits_2(tmp_path: Path, daemon: Captured) -> None:
    daemon.raise_ = ConfigError("kubeconfig", "/k: no such file; pass --kubeconfig")
    result = invoke("run", "-c", write(tmp_path, FAKE))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "error: kubeconfig: /k: no such file; pass --kubeconfig"


@pytest.mark.parametrize("error", [OSError(98, "Address already in use"), RuntimeError("boom")])
def test_other_failures_exit_1(tmp_path: Path, daemon: Captured, error: BaseException) -> None:
    daemon.raise_ = error
    result = invoke("run", "-c", write(tmp_path, FAKE))
    assert result.exit_code == 1
    if isinstance(error, OSError):
        assert result.stderr.splitlines()[-1] == "error: [Errno 98] Address already in use"


def test_console_script_exit_code(tmp_path: Path) -> None:
    bad = write(tmp_path, FAKE.replace("FAKE", "NXOS"))
    proc = subprocess.run([sys.executable, "-m", "cvk.cli", "run", "--config", bad], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr == "error: device.driver: driver NXOS is reserved and not implemented; use XE or FAKE\n"


def test_sigterm_sets_the_stop_event(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, types
        import cvk

        async def run(spec, opts, stop):
            print("ready", opts.node_name, flush=True)
            await stop.wait()
            print("stopping", flush=True)

        fake = types.ModuleType("cvk.daemon")
        fake.run = run
        sys.modules["cvk.daemon"] = fake
        cvk.daemon = fake
        from cvk.cli import main
        main(["run", "--config", {write(tmp_path, FAKE)!r}, "--log-format", "json"])
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("VKUBELET_NODE_NAME", "LOG_LEVEL")}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().split() == ["ready", "cisco-vk-192-0-2-10"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.strip() == "stopping"
    assert '"msg": "signal received, stopping"' in err and '"signal": "SIGTERM"' in err
