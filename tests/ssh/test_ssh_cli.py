"""SSH CLI transport against the simulator's SSH server: prompts, echo, paging, errors, trust, reuse."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from cvk.errors import ConfigError, DeviceAuthError, DeviceRejected, DeviceUnreachable
from cvk.transport.ssh import SshCli, SshConfig
from cvk.transport.ssh.shell import normalise_newlines
from tests.ssh.helpers import cli_for


@pytest.fixture
def sim(iosxe_sim_factory):  # type: ignore[no-untyped-def]
    return iosxe_sim_factory(ssh=True, files={"bootflash:/notes.txt": b"line one\nline two\n"})


async def test_show_version_without_echo_prompt_or_cr(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    try:
        out = await cli.run("show version")
    finally:
        await cli.close()
    assert out.text.startswith("Cisco IOS XE Software, Version 17.15.04c\n")
    assert "\r" not in out.text
    assert "show version" not in out.text
    assert f"{sim.state.hostname}#" not in out.text
    assert "Processor board ID 9SIMC8KV0001" in out.text


async def test_session_is_reused_and_paging_is_turned_off(sim) -> None:  # type: ignore[no-untyped-def]
    body = "".join(f"log line {i}\n" for i in range(200)).encode()
    sim.state.add_file("bootflash:/long.txt", body)
    cli = cli_for(sim)
    try:
        assert (await cli.run("more bootflash:long.txt")).text == body.decode()
        assert (await cli.run("more bootflash:/notes.txt")).text == "line one\nline two\n"
        assert "notes.txt" in (await cli.run("dir bootflash:")).text
    finally:
        await cli.close()
    assert cli.connects == 1
    commands = sim.server.ssh.commands
    assert commands[:2] == ["terminal length 0", "terminal width 0"]
    assert commands.count("terminal length 0") == 1


async def test_ios_error_marker_becomes_device_rejected(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    try:
        with pytest.raises(DeviceRejected, match="Invalid input"):
            await cli.run("show bogus thing")
        with pytest.raises(DeviceRejected, match="No such file"):
            await cli.run("more bootflash:missing.txt")
        out = await cli.run("more bootflash:missing.txt", check=False)
        assert out.text.startswith("%Error opening")
        # the session is still usable after errors
        assert (await cli.run("more bootflash:notes.txt")).text == "line one\nline two\n"
    finally:
        await cli.close()


async def test_delete_force_removes_file(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    try:
        await cli.run("delete /force bootflash:notes.txt")
        assert not sim.state.has_file("bootflash:/notes.txt")
        with pytest.raises(DeviceRejected):
            await cli.run("delete /force bootflash:notes.txt")
    finally:
        await cli.close()


async def test_output_is_bounded(sim) -> None:  # type: ignore[no-untyped-def]
    sim.state.add_file("bootflash:/big.txt", b"x" * 100_000 + b"\n")
    cli = cli_for(sim, max_output=1000)
    try:
        out = await cli.run("more bootflash:big.txt")
        assert out.truncated
        assert len(out.text) <= 1000
        # the next command still finds its prompt
        assert (await cli.run("more bootflash:notes.txt")).text == "line one\nline two\n"
    finally:
        await cli.close()


async def test_wrong_password_is_auth_error(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim, password="wrong")
    with pytest.raises(DeviceAuthError, match="refused"):
        await cli.run("show version")
    assert "wrong" not in repr(cli.config)


async def test_unknown_host_key_is_refused(sim) -> None:  # type: ignore[no-untyped-def]
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().strip()
    cli = cli_for(sim, known_hosts=f"[127.0.0.1]:{sim.ssh_port} {other}")
    with pytest.raises(DeviceAuthError, match="host key"):
        await cli.run("show version")


async def test_host_key_check_can_be_disabled_explicitly(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim, known_hosts=None, insecure_skip_host_key_check=True)
    try:
        assert "IOS XE" in (await cli.run("show version")).text
    finally:
        await cli.close()


def test_missing_known_hosts_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as e:
        SshCli(SshConfig(host="10.0.0.1", username="u", password="p"))
    assert e.value.field == "ssh.knownHosts"
    with pytest.raises(ConfigError, match="not a valid known_hosts entry"):
        SshCli(SshConfig(host="10.0.0.1", username="u", password="p", known_hosts="garbage line"))


async def test_unreachable_device() -> None:
    cli = SshCli(
        SshConfig(host="127.0.0.1", port=1, username="u", password="p", insecure_skip_host_key_check=True,
                  connect_timeout=2)
    )
    with pytest.raises(DeviceUnreachable):
        await cli.run("show version")


async def test_reconnects_after_the_session_was_lost(sim) -> None:  # type: ignore[no-untyped-def]
    cli = cli_for(sim)
    try:
        await cli.run("show version")
        assert cli._shell is not None
        cli._shell.process.close()  # the device dropped the session
        assert "IOS XE" in (await cli.run("show version")).text
    finally:
        await cli.close()


def test_crlf_normalisation() -> None:
    assert normalise_newlines(b"a\r\nb\r\r\nc\rd\n") == b"a\nb\ncd\n"


async def test_simulator_pages_until_terminal_length_zero(sim) -> None:  # type: ignore[no-untyped-def]
    """Why the client sends 'terminal length 0': without it IOS stops at --More--."""
    import asyncssh

    sim.state.add_file("bootflash:/long.txt", "".join(f"l{i}\n" for i in range(60)).encode())
    async with asyncssh.connect(
        "127.0.0.1", sim.ssh_port, username=sim.username, password=sim.password,
        known_hosts=asyncssh.import_known_hosts(sim.known_hosts_line), client_keys=None, agent_path=None,
        config=None,
    ) as conn:
        proc = await conn.create_process(term_type="vt100", encoding=None)
        proc.stdin.write(b"more bootflash:long.txt\n")
        out = b""
        async with asyncio.timeout(10):
            while b"--More--" not in out:
                out += await proc.stdout.read(4096)
        assert b"l22" in out and b"l23" not in out
        proc.stdin.write(b"q")
        proc.close()


async def test_commands_are_counted_by_verb_and_outcome(sim) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client import REGISTRY

    def count(verb: str, outcome: str) -> float:
        labels = {"transport": "ssh", "method": verb, "code": outcome}
        return REGISTRY.get_sample_value("cisco_vk_device_requests_total", labels) or 0.0

    ok, rejected = count("more", "ok"), count("show", "rejected")
    cli = cli_for(sim)
    try:
        await cli.run("more bootflash:notes.txt")
        with pytest.raises(DeviceRejected):
            await cli.run("show bogus thing")
    finally:
        await cli.close()
    assert count("more", "ok") == ok + 1 and count("show", "rejected") == rejected + 1
