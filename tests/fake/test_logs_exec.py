"""Container logs with their options, exec commands, attach and stats."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from cvk.driver.base import AttachIO, LogOptions
from cvk.driver.fake import FakeDriver
from cvk.errors import InvalidInput, NotFound

from .conftest import Clock, make_pod, make_spec


async def read_logs(driver: FakeDriver, container: str = "main", **opts: object) -> str:
    chunks = [c async for c in driver.container_logs("default", "web", container, LogOptions(**opts))]  # type: ignore[arg-type]
    return b"".join(chunks).decode()


@pytest.fixture
async def running(driver: FakeDriver, clock: Clock) -> FakeDriver:
    await driver.create_pod(make_pod())
    clock.tick(3.0)  # running since T0+3
    clock.tick(22.0)  # four heartbeats (every 5 s)
    return driver


async def test_log_content_comes_from_the_container_spec(running: FakeDriver) -> None:
    lines = (await read_logs(running)).splitlines()
    assert lines[0].startswith("starting container main (image nginx:1.25")
    assert lines[1] == "command: nginx -g 'daemon off;'"
    assert lines[2] == "env: GREETING=hello"
    assert lines[3:] == [f"heartbeat {k} (uptime {5 * k}s)" for k in range(1, 5)]


async def test_tail_since_limit_and_timestamps(running: FakeDriver, clock: Clock) -> None:
    assert (await read_logs(running, tail_lines=2)).splitlines() == ["heartbeat 3 (uptime 15s)",
                                                                      "heartbeat 4 (uptime 20s)"]
    assert await read_logs(running, tail_lines=0) == ""
    # since 12 s ago = T0+13: heartbeats at T0+13 (2), T0+18 (3), T0+23 (4)
    assert len((await read_logs(running, since_seconds=12)).splitlines()) == 3
    since = datetime.datetime.fromtimestamp(clock.now - 6, datetime.UTC)  # after heartbeat 3
    assert (await read_logs(running, since_time=since)).splitlines() == ["heartbeat 4 (uptime 20s)"]
    assert await read_logs(running, limit_bytes=10) == "starting c"
    stamped = (await read_logs(running, tail_lines=1, timestamps=True)).strip()
    stamp, text = stamped.split(" ", 1)
    assert text == "heartbeat 4 (uptime 20s)"
    parsed = datetime.datetime.fromisoformat(stamp.replace("000Z", "+00:00"))
    assert parsed.timestamp() == pytest.approx(clock.now - 2, abs=1e-3)


async def test_previous_logs_after_a_restart(driver: FakeDriver, clock: Clock) -> None:
    await driver.create_pod(make_pod(containers=[{"name": "main", "image": "fake/crash:9"}]))
    clock.tick(3.0)
    with pytest.raises(InvalidInput, match="previous terminated container"):
        await read_logs(driver, previous=True)
    clock.tick(1.0 + 10.0)  # crashed, restarted
    previous = (await read_logs(driver, previous=True)).splitlines()
    assert previous[-1] == "exiting with code 9"
    current = (await read_logs(driver)).splitlines()
    assert "exiting" not in current[-1]


async def test_logs_of_a_waiting_or_unknown_container(driver: FakeDriver) -> None:
    await driver.create_pod(make_pod())
    with pytest.raises(InvalidInput, match="waiting to start: ContainerCreating"):
        await read_logs(driver)
    with pytest.raises(NotFound, match="nope"):
        await read_logs(driver, container="nope")


async def test_follow_streams_until_the_container_exits(tmp_path: Path) -> None:
    spec = make_spec(tmp_path / "f.json", install_seconds=0.01, activate_seconds=0.01, start_seconds=0.01,
                     log_interval_seconds=0.05)
    driver = FakeDriver(spec)  # real clock: follow waits for new lines
    await driver.connect()
    try:
        env = [{"name": "FAKE_EXIT_AFTER", "value": "0.4"}, {"name": "FAKE_EXIT_CODE", "value": "5"}]
        await driver.create_pod(make_pod(restart_policy="Never",
                                         containers=[{"name": "main", "image": "busybox", "env": env}]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (await driver.get_pod_status("default", "web"))["containerStatuses"][0]["started"] is False:
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        text = await asyncio.wait_for(read_logs(driver, follow=True), 10)
        lines = text.splitlines()
        assert lines[0].startswith("starting container main")
        assert lines[-1] == "exiting with code 5"
        beats = [line for line in lines if line.startswith("heartbeat")]
        assert beats == [f"heartbeat {k} (uptime {0.05 * k:g}s)" for k in range(1, len(beats) + 1)]
        assert len(beats) >= 5
    finally:
        await driver.close()


class Session:
    def __init__(self, stdin: list[bytes] | None = None, tty: bool = False) -> None:
        self.out = bytearray()
        self.err = bytearray()
        self._stdin = stdin
        self.tty = tty

    async def _write_out(self, data: bytes) -> None:
        self.out += data

    async def _write_err(self, data: bytes) -> None:
        self.err += data

    async def _read(self) -> AsyncIterator[bytes]:
        for chunk in self._stdin or []:
            yield chunk

    def io(self) -> AttachIO:
        return AttachIO(stdin=self._read() if self._stdin is not None else None, stdout=self._write_out,
                        stderr=None if self.tty else self._write_err, tty=self.tty)


Exec = Callable[..., "asyncio.Future[tuple[int, str, str]]"]


async def run(driver: FakeDriver, *cmd: str, stdin: list[bytes] | None = None,
              tty: bool = False) -> tuple[int, str, str]:
    session = Session(stdin, tty)
    code = await driver.run_in_container("default", "web", "main", list(cmd), session.io())
    return code, session.out.decode(), session.err.decode()


@pytest.mark.parametrize(("cmd", "code", "out"), [
    (["echo", "hi", "there"], 0, "hi there\n"),
    (["echo", "-n", "x"], 0, "x"),
    (["hostname"], 0, "web\n"),
    (["cat", "/etc/hostname"], 0, "web\n"),
    (["sh", "-c", "echo 'from sh'"], 0, "from sh\n"),
    (["/bin/sh", "-c", "exit 7"], 7, ""),
    (["exit", "300"], 300 & 0xFF, ""),
    (["true"], 0, ""),
    (["false"], 1, ""),
    (["printenv", "GREETING"], 0, "hello\n"),
])
async def test_exec_commands(running: FakeDriver, cmd: list[str], code: int, out: str) -> None:
    assert await run(running, *cmd) == (code, out, "")


async def test_exec_env_and_files(running: FakeDriver) -> None:
    code, out, _ = await run(running, "env")
    assert code == 0 and "GREETING=hello\n" in out and "HOSTNAME=web\n" in out
    _, environ, _ = await run(running, "cat", "/proc/self/environ")
    assert "GREETING=hello\0" in environ
    status = await running.get_pod_status("default", "web")
    _, hosts, _ = await run(running, "cat", "/etc/hosts")
    assert f"{status['podIP']}\tweb" in hosts


async def test_exec_errors(running: FakeDriver) -> None:
    code, out, err = await run(running, "cat", "/etc/shadow")
    assert code == 1 and out == "" and "No such file" in err
    code, _, err = await run(running, "ls")
    assert code == 127 and "not found" in err
    code, _, err = await run(running, "sh")
    assert code == 2 and "-c" in err


async def test_exec_cat_copies_stdin_and_tty_merges_streams(running: FakeDriver) -> None:
    assert await run(running, "cat", stdin=[b"one\n", b"two\n"]) == (0, "one\ntwo\n", "")
    code, out, _ = await run(running, "cat", "/nope", tty=True)
    assert code == 1 and out.endswith("No such file or directory\r\n")


async def test_exec_needs_a_running_container(driver: FakeDriver) -> None:
    await driver.create_pod(make_pod())
    with pytest.raises(InvalidInput, match="not running"):
        await run(driver, "echo", "hi")
    with pytest.raises(NotFound):
        await driver.run_in_container("default", "web", "nope", ["true"], Session().io())


async def test_attach_echoes_stdin_until_it_closes(running: FakeDriver) -> None:
    session = Session(stdin=[b"typed\n"])
    code = await asyncio.wait_for(running.attach_to_container("default", "web", "main", session.io()), 10)
    assert code == 0
    assert b"typed\n" in session.out


async def test_stats_have_per_container_figures(running: FakeDriver) -> None:
    stats = await running.stats()
    (pod,) = stats.pods
    assert (pod.namespace, pod.name) == ("default", "web")
    (c,) = pod.containers
    assert c.name == "main"
    assert c.cpu_usage_nano_cores > 0 and c.cpu_usage_core_nano_seconds > 0
    assert 0 < c.memory_working_set_bytes <= c.memory_usage_bytes
    assert stats.cpu_usage_nano_cores > c.cpu_usage_nano_cores
    assert stats.memory_working_set_bytes > c.memory_working_set_bytes
    assert stats.memory_available_bytes > 0


async def test_attach_returns_the_exit_code_when_the_container_ends(tmp_path: Path) -> None:
    spec = make_spec(tmp_path / "a.json", install_seconds=0.01, activate_seconds=0.01, start_seconds=0.01,
                     log_interval_seconds=0.05)
    driver = FakeDriver(spec)
    await driver.connect()
    try:
        env = [{"name": "FAKE_EXIT_AFTER", "value": "0.3"}, {"name": "FAKE_EXIT_CODE", "value": "6"}]
        await driver.create_pod(make_pod(restart_policy="Never",
                                         containers=[{"name": "main", "image": "busybox", "env": env}]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not (await driver.get_pod_status("default", "web"))["containerStatuses"][0]["started"]:
            assert loop.time() < deadline
            await asyncio.sleep(0.01)
        session = Session()
        code = await asyncio.wait_for(driver.attach_to_container("default", "web", "main", session.io()), 10)
        assert code == 6
        assert session.out.decode().splitlines()[-1] == "exiting with code 6"
    finally:
        await driver.close()


class Pipe:
    """The reader/writer pair the kubelet API hands to port_forward."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)
        self.sent = bytearray()
        self.closed = False

    async def read(self, n: int = -1) -> bytes:
        return self._chunks.pop(0) if self._chunks else b""

    async def write(self, data: bytes) -> None:
        self.sent += data

    async def close(self) -> None:
        self.closed = True


async def test_port_forward_answers_http_and_echoes(driver: FakeDriver, clock: Clock) -> None:
    pod = make_pod(containers=[{"name": "main", "image": "nginx", "ports": [{"containerPort": 80}]}])
    await driver.create_pod(pod)
    with pytest.raises(InvalidInput, match="not running"):
        await driver.port_forward("default", "web", 80, Pipe([b"x"]), Pipe([]))
    clock.tick(3.0)
    http = Pipe([b"GET / HTTP/1.1\r\nHost: x\r\n", b"\r\n"])
    await driver.port_forward("default", "web", 80, http, http)
    head, _, body = bytes(http.sent).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: %d" % len(body) in head
    assert b"pod default/web, container main, port 80" in body and b"request: GET / HTTP/1.1" in body
    echo = Pipe([b"ping\n", b"pong\n"])
    await driver.port_forward("default", "web", 80, echo, echo)
    assert bytes(echo.sent) == b"ping\npong\n"
    with pytest.raises(InvalidInput, match=r"does not listen on port 8080 \(declared container ports: 80\)"):
        await driver.port_forward("default", "web", 8080, Pipe([]), Pipe([]))
