"""Bad flags and bad flag environment variables of ``cisco-vk run`` are configuration problems too:
one ``error: <flag>: ...`` line on stderr and exit code 2, naming the environment variable when the
value came from one (in a pod, LOG_LEVEL is set in the manifest, not typed on a command line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import FAKE, Captured, daemon, invoke, write  # noqa: F401  (daemon: fixture)


@pytest.mark.parametrize(("args", "env", "start", "fragments"), [
    (["--kubelet-port", "70000"], {}, "error: --kubelet-port: ", ["70000", "0<=x<=65535"]),
    (["--kubelet-port", "ten"], {}, "error: --kubelet-port: ", ["'ten'", "integer"]),
    ([], {"LOG_LEVEL": "verbose"}, "error: --log-level: ", ["'verbose'", "env LOG_LEVEL", "debug"]),
    (["--log-level", "verbose"], {}, "error: --log-level: ", ["'verbose'", "debug"]),
    ([], {"CVK_LOG_FORMAT": "yaml"}, "error: --log-format: ", ["'yaml'", "env CVK_LOG_FORMAT", "json"]),
    (["--bogus"], {}, "error: --bogus: ", ["no such option", "cisco-vk run --help"]),
    (["--confg", "x.yaml"], {}, "error: --confg: ", ["no such option", "--config"]),
    (["--kubelet-port"], {}, "error: --kubelet-port: ", ["requires an argument"]),
    (["extra"], {}, "error: ", ["unexpected extra argument", "extra"]),
])
def test_flag_errors_are_one_line_and_exit_2(tmp_path: Path, daemon: Captured, args: list[str],  # noqa: F811
                                             env: dict[str, str], start: str, fragments: list[str]) -> None:
    result = invoke("run", "--config", write(tmp_path, FAKE), *args, env=env)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(start), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert daemon.calls == []


def test_flag_from_the_command_line_is_not_blamed_on_the_env(tmp_path: Path, daemon: Captured) -> None:  # noqa: F811
    result = invoke("run", "--config", write(tmp_path, FAKE), "--log-level", "loud", env={"LOG_LEVEL": "info"})
    assert result.exit_code == 2
    assert "LOG_LEVEL" not in result.stderr


def test_help_still_exits_0(daemon: Captured) -> None:  # noqa: F811
    result = invoke("run", "--help")
    assert result.exit_code == 0
    assert "--kubelet-port" in result.output


@pytest.mark.parametrize(("args", "start", "fragments"), [
    (["bogus"], "error: ", ["no such command 'bogus'", "cisco-vk --help"]),
    (["--bogus"], "error: --bogus: ", ["no such option", "cisco-vk --help"]),
    (["controller", "--workers", "0"], "error: --workers: ", ["0", "1<=x<=64", "cisco-vk controller --help"]),
    (["controller", "--bogus"], "error: --bogus: ", ["no such option", "cisco-vk controller --help"]),
    (["controller", "--vk-resources", "{bad"], "error: --vk-resources: ", ["not JSON"]),
])
def test_every_command_has_one_line_flag_errors(args: list[str], start: str, fragments: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(start), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_no_arguments_still_shows_the_help() -> None:
    result = invoke()
    assert "Usage:" in result.output and "run" in result.output
    assert not result.stderr.startswith("error:")
