"""gNMI client against the simulator: Capabilities, Get, Set (YANG-validated), Subscribe ON_CHANGE and SAMPLE."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from cvk.errors import InvalidInput, NotFound
from cvk.grpcapi import gnmi_pb2
from cvk.transport.grpc import ChannelPool, GnmiClient, Update, parse_path
from tests.grpc.helpers import grpc_config_for
from tests.ssh.test_exec import APP_CFG, running_app


@pytest.fixture
def sim(iosxe_sim_factory):  # type: ignore[no-untyped-def]
    return iosxe_sim_factory(grpc=True)


@pytest.fixture
async def gnmi(sim) -> AsyncIterator[GnmiClient]:  # type: ignore[no-untyped-def]
    client = GnmiClient(ChannelPool(grpc_config_for(sim)))
    yield client
    await client.pool.close()


async def test_capabilities(gnmi: GnmiClient) -> None:
    caps = await gnmi.capabilities()
    assert caps.gNMI_version == "0.8.0"
    assert gnmi_pb2.JSON_IETF in caps.supported_encodings
    assert "Cisco-IOS-XE-app-hosting-oper" in {m.name for m in caps.supported_models}


async def test_get_oper_and_config(sim, gnmi: GnmiClient) -> None:  # type: ignore[no-untyped-def]
    running_app(sim, "web1")
    got = await gnmi.get(["/app-hosting-oper-data/app[name=web1]/details/state",
                          "/Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps"])
    assert got["/app-hosting-oper-data/app[name=web1]/details/state"] == "RUNNING"
    apps = got["/Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps"]["app"]
    assert [a["application-name"] for a in apps] == ["web1"]
    with pytest.raises(NotFound):
        await gnmi.get(["/app-hosting-oper-data/app[name=nosuch]"])


async def test_set_app_config_is_validated(sim, gnmi: GnmiClient) -> None:  # type: ignore[no-untyped-def]
    path = "/app-hosting-cfg-data/apps/app[application-name=web2]"
    await gnmi.set(replace={path: APP_CFG})
    assert sim.state.app("web2").config["application-resource-profile"]["cpu-units"] == 100  # type: ignore[union-attr]
    bad = {"application-resource-profile": {"profile-name": "custom", "memory-capacity-mb": 99999999}}
    with pytest.raises(InvalidInput, match="memory-capacity-mb"):
        await gnmi.set(update={path: bad})
    await gnmi.set(delete=[path])
    assert sim.state.app("web2") is None
    with pytest.raises(InvalidInput, match="only app-hosting-cfg-data"):
        await gnmi.set(update={"/app-hosting-oper-data/app[name=x]": {}})


async def _collect(it: AsyncIterator[Update], until: object, deadline: float = 10.0) -> list[Update]:
    out: list[Update] = []
    end = time.monotonic() + deadline
    async with asyncio.timeout(deadline):
        async for u in it:
            out.append(u)
            if until(out):  # type: ignore[operator]
                return out
            assert time.monotonic() < end
    return out


async def test_subscribe_on_change(sim, gnmi: GnmiClient) -> None:  # type: ignore[no-untyped-def]
    running_app(sim, "web1")
    stream = gnmi.subscribe(["/app-hosting-oper-data/app[name=web1]/details/state"], mode="on_change")
    try:
        first = await _collect(stream, lambda us: any(u.sync for u in us))
        assert [u.value for u in first if not u.sync] == ["RUNNING"]
        sim.call(sim.state.stop("web1"))
        changed = await _collect(stream, lambda us: any(u.value == "STOPPED" for u in us))
        assert changed[-1].path == "/app-hosting-oper-data/app[name=web1]/details/state"
        sim.state.add_log("web1", "not a state change")
        sim.call(sim.state.start("web1"))
        again = await _collect(stream, lambda us: any(u.value == "RUNNING" for u in us))
        assert [u.value for u in again] == ["RUNNING"]  # the log line did not produce a duplicate
    finally:
        await stream.aclose()


async def test_subscribe_sample(sim, gnmi: GnmiClient) -> None:  # type: ignore[no-untyped-def]
    stream = gnmi.subscribe(["/app-hosting-oper-data/app-globals"], mode="sample", sample_interval=0.02)
    try:
        ups = await _collect(stream, lambda us: sum(1 for u in us if not u.sync) >= 4)
        assert all(u.value == {"iox-enabled": True} for u in ups if not u.sync)
        stamps = [u.timestamp for u in ups if not u.sync]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    finally:
        await stream.aclose()


def test_parse_path() -> None:
    p = parse_path("/a/b[name=x/y][k=v]/c")
    assert [e.name for e in p.elem] == ["a", "b", "c"]
    assert dict(p.elem[1].key) == {"name": "x/y", "k": "v"}
    with pytest.raises(InvalidInput):
        parse_path("relative/path")


def test_pygnmi_client_talks_to_the_simulator(sim) -> None:  # type: ignore[no-untyped-def]
    """pygnmi (compiled from OpenConfig's gnmi.proto) as the client, over TLS with metadata credentials:
    proves our server side is wire-compatible. A subprocess, because both define the ``gnmi`` package."""
    import subprocess
    import sys

    pytest.importorskip("pygnmi")
    code = (
        "from pygnmi.client import gNMIclient\n"
        f"with gNMIclient(target=('127.0.0.1', {sim.grpc_port}), username={sim.username!r}, "
        f"password={sim.password!r}, path_cert={sim.ca_file!r}) as gc:\n"
        "    print(gc.capabilities()['gnmi_version'])\n"
        "    r = gc.get(path=['/app-hosting-oper-data/app-globals'], encoding='json_ietf')\n"
        "    print(r['notification'][0]['update'][0]['val'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["0.8.0", "{'iox-enabled': True}"]
