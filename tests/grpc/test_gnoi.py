"""gNOI client against the simulator's gNXI server: every RPC round-trips; errors and the capability cache."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509

from cvk.errors import DeviceAuthError, InvalidInput, NotFound, NotSupported
from cvk.grpcapi import system_pb2
from cvk.transport.grpc import CapabilityCache, GnoiClient, ServiceUnsupported
from hack.iosxe_sim.gnoi_os import package_bytes
from tests.grpc.helpers import gnoi_for


@pytest.fixture
def sim(iosxe_sim_factory):  # type: ignore[no-untyped-def]
    return iosxe_sim_factory(grpc=True, files={"bootflash:/hello.txt": b"hello gnoi\n"})


@pytest.fixture
async def gnoi(sim):  # type: ignore[no-untyped-def]
    client = gnoi_for(sim)
    yield client
    await client.pool.close()


async def test_system_time(gnoi: GnoiClient) -> None:
    import time

    before = time.time_ns()
    t = await gnoi.time()
    assert before - 5e9 < t < time.time_ns() + 5e9


async def test_ping_packets_and_summary(gnoi: GnoiClient) -> None:
    res = await gnoi.ping("192.168.1.1", count=3, interval_ns=1_000_000)
    assert [p.sequence for p in res.packets] == [1, 2, 3]
    assert res.summary.sent == 3 and res.summary.received == 3
    assert 0 < res.summary.min_time <= res.summary.avg_time <= res.summary.max_time
    silent = await gnoi.ping("192.0.2.7", count=2, interval_ns=1_000_000)
    assert silent.packets == [] and silent.summary.sent == 2 and silent.summary.received == 0
    with pytest.raises(InvalidInput):
        await gnoi.ping("not a host!", count=1)


async def test_traceroute_hops(gnoi: GnoiClient) -> None:
    msgs = await gnoi.traceroute("10.9.9.9", max_ttl=5)
    assert msgs[0].destination_address == "10.9.9.9"
    hops = {m.hop for m in msgs[1:]}
    assert hops == {1, 2, 3}
    assert msgs[-1].address == "10.9.9.9"


async def test_traceroute_unsupported_option_is_not_cached(gnoi: GnoiClient) -> None:
    with pytest.raises(NotSupported, match="TCP") as e:
        await gnoi.traceroute("10.9.9.9", l4protocol="TCP")
    assert not isinstance(e.value, ServiceUnsupported)
    assert "system" not in gnoi.cache.unsupported()
    assert await gnoi.time() > 0


async def test_reboot_status_cancel(sim, gnoi: GnoiClient) -> None:  # type: ignore[no-untyped-def]
    st = await gnoi.reboot_status()
    assert not st.active
    await gnoi.reboot("COLD", delay_ns=60 * 10**9, message="maintenance window")
    st = await gnoi.reboot_status()
    assert st.active and st.reason == "maintenance window" and st.method == system_pb2.COLD
    assert 50 * 10**9 < st.wait <= 60 * 10**9
    with pytest.raises(Exception, match="already pending"):
        await gnoi.reboot("COLD", delay_ns=10**9)
    await gnoi.cancel_reboot("changed my mind")
    assert not (await gnoi.reboot_status()).active
    await gnoi.cancel_reboot("nothing pending is fine")
    with pytest.raises(InvalidInput, match="POWERDOWN"):
        await gnoi.reboot("POWERDOWN")
    assert not sim.state.reloading


async def test_immediate_reboot_reloads_the_device(sim, gnoi: GnoiClient) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    reloads, booted = sim.state.reload_count, sim.state.boot_time
    await gnoi.reboot("COLD")
    for _ in range(500):  # the device reloads, then comes back with a new boot time
        if sim.state.reload_count > reloads and sim.state.boot_time != booted:
            break
        await asyncio.sleep(0.01)
    assert sim.state.reload_count == reloads + 1
    assert sim.state.boot_time != booted
    st = await gnoi.reboot_status()
    assert not st.active and st.count == 1


async def test_kill_process(gnoi: GnoiClient) -> None:
    await gnoi.kill_process(name="iosd", signal="HUP")
    with pytest.raises(NotFound):
        await gnoi.kill_process(name="nosuchd", signal="TERM")
    with pytest.raises(InvalidInput):
        await gnoi.kill_process(signal="TERM")


async def test_file_put_get_stat_remove(sim, gnoi: GnoiClient) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 1000  # 256 kB: several 64 KiB chunks
    sent = await gnoi.file_put("bootflash:/cvk/blob.bin", data, permissions=0o600)
    assert sent == len(data)
    assert sim.state.files["bootflash:/cvk/blob.bin"] == data
    got = await gnoi.file_get("bootflash:/cvk/blob.bin", max_bytes=1 << 20)
    assert got.data == data and got.hash_verified and not got.truncated
    part = await gnoi.file_get("bootflash:/cvk/blob.bin", max_bytes=1000)
    assert part.truncated and part.data == data[:1000] and not part.hash_verified
    stats = await gnoi.file_stat("bootflash:/cvk/blob.bin")
    assert [(s.path, s.size, s.permissions) for s in stats] == [("bootflash:/cvk/blob.bin", len(data), 600)]
    listing = await gnoi.file_stat("bootflash:/cvk")
    assert [s.path for s in listing] == ["bootflash:/cvk/blob.bin"]
    await gnoi.file_remove("bootflash:/cvk/blob.bin")
    assert "bootflash:/cvk/blob.bin" not in sim.state.files
    with pytest.raises(NotFound):
        await gnoi.file_get("bootflash:/cvk/blob.bin")
    with pytest.raises(NotFound):
        await gnoi.file_remove("bootflash:/cvk/blob.bin")


async def test_put_accepts_octal_digit_permissions(sim, gnoi: GnoiClient) -> None:  # type: ignore[no-untyped-def]
    await gnoi.file_put("bootflash:/a.txt", b"a", permissions=644)  # octal digits as decimal (Decision D8)
    (st,) = await gnoi.file_stat("bootflash:/a.txt")
    assert st.permissions == 644


@pytest.mark.parametrize(
    "path,write",
    [
        ("/etc/passwd", False),
        ("tftp://10.0.0.1/x", False),
        ("bootflash:/../x", False),
        ("bootflash:/a\nb", False),
        ("bootflash:/" + "a" * 200, False),
        ("nvram:/startup-config", True),
        ("", False),
    ],
)
async def test_bad_paths_are_rejected_before_any_rpc(sim, gnoi: GnoiClient, path: str, write: bool) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput):
        if write:
            await gnoi.file_put(path, b"x")
        else:
            await gnoi.file_get(path)
    with pytest.raises(InvalidInput):
        await gnoi.file_remove(path)
    assert sum(n for m, n in sim.server.grpc.calls.items() if m.startswith("/gnoi.file.")) == 0


async def test_os_install_activate_verify(sim, gnoi: GnoiClient) -> None:  # type: ignore[no-untyped-def]
    running = (await gnoi.os_verify()).version
    assert running == "17.15.04c"
    pkg = package_bytes("17.18.01a.0.1", 3 * 1024 * 1024)
    validated = await gnoi.os_install("17.18.01a.0.1", pkg, package_size=len(pkg))
    assert validated.version == "17.18.01a.0.1"
    again = await gnoi.os_install("17.18.01a.0.1", None)
    assert again.description == "already present"
    with pytest.raises(InvalidInput, match="PARSE_FAIL"):
        await gnoi.os_install("", b"garbage" * 100)
    with pytest.raises(InvalidInput, match="NON_EXISTENT_VERSION"):
        await gnoi.os_activate("99.99.99")
    await gnoi.os_activate("17.18.01a.0.1", no_reboot=True)
    assert (await gnoi.os_verify()).version == "17.18.01a.0.1"
    assert not sim.state.reloading


async def test_cert_get_and_can_generate(sim, gnoi: GnoiClient) -> None:  # type: ignore[no-untyped-def]
    (info,) = await gnoi.get_certificates()
    cert = x509.load_pem_x509_certificate(info.certificate.certificate)
    assert cert.fingerprint(cert.signature_hash_algorithm) if cert.signature_hash_algorithm else True
    assert info.endpoints[0].endpoint == "gnxi"
    assert hashlib.sha256(info.certificate.certificate).digest()
    assert await gnoi.can_generate_csr("KT_RSA", 2048) is True
    with pytest.raises(InvalidInput):
        await gnoi.can_generate_csr("KT_RSA", 512)


async def test_wrong_credentials(sim) -> None:  # type: ignore[no-untyped-def]
    client = gnoi_for(sim, password="nope")
    try:
        with pytest.raises(DeviceAuthError, match="UNAUTHENTICATED"):
            await client.time()
    finally:
        await client.pool.close()


async def test_unimplemented_is_cached_and_fails_fast(iosxe_sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = iosxe_sim_factory(platform="C9300", grpc=True)  # os and cert only, like a Cat9k on 17.18
    now = [1000.0]
    client = gnoi_for(sim)
    client.cache = CapabilityCache(client.pool.target, ttl=600, clock=lambda: now[0])
    client.pool.on_rebuild.append(client.cache.clear)
    calls = sim.server.grpc.calls
    try:
        with pytest.raises(ServiceUnsupported, match="file"):
            await client.file_get("bootflash:/x")
        assert calls["/gnoi.file.File/Get"] == 1
        for _ in range(3):
            with pytest.raises(ServiceUnsupported, match="cached"):
                await client.file_stat("bootflash:/x")
        assert sum(n for m, n in calls.items() if m.startswith("/gnoi.file.")) == 1  # failed fast, no RPC
        assert (await client.os_verify()).version  # other services unaffected
        now[0] += 601  # entry expired: the device is asked again
        with pytest.raises(ServiceUnsupported):
            await client.file_stat("bootflash:/x")
        assert calls["/gnoi.file.File/Stat"] == 1
        await client.pool.rebuild()  # a rebuilt channel forgets what it learnt
        assert client.cache.unsupported() == set()
    finally:
        await client.pool.close()


async def test_platform_without_gnoi(iosxe_sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = iosxe_sim_factory(platform="IE3500", grpc=True)
    client = gnoi_for(sim)
    try:
        with pytest.raises(ServiceUnsupported, match="system"):
            await client.time()
        with pytest.raises(ServiceUnsupported, match="cert"):
            await client.get_certificates()
    finally:
        await client.pool.close()


async def test_unreachable_device_maps_to_device_unreachable() -> None:
    from cvk.errors import DeviceUnreachable
    from cvk.transport.grpc import ChannelPool, GrpcConfig

    client = GnoiClient(ChannelPool(GrpcConfig(host="127.0.0.1", port=1, username="u", password="p", tls=False,
                                               unary_timeout=3)))
    try:
        with pytest.raises(DeviceUnreachable):
            await client.time()
    finally:
        await client.pool.close()


async def test_unary_rpcs_are_counted_by_rpc_and_status(iosxe_sim_factory) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client import REGISTRY

    def count(rpc: str, code: str) -> float:
        labels = {"transport": "gnoi", "method": rpc, "code": code}
        return REGISTRY.get_sample_value("cisco_vk_device_requests_total", labels) or 0.0

    sim = iosxe_sim_factory(platform="C9300", grpc=True)  # no System or File service
    client = gnoi_for(sim)
    ok, unimplemented = count("OS.Verify", "OK"), count("File.Stat", "UNIMPLEMENTED")
    try:
        await client.os_verify()
        with pytest.raises(ServiceUnsupported):
            await client.file_stat("bootflash:/x")
        with pytest.raises(ServiceUnsupported):
            await client.file_stat("bootflash:/x")  # failed fast from the cache: no request, not counted
    finally:
        await client.pool.close()
    assert count("OS.Verify", "OK") == ok + 1
    assert count("File.Stat", "UNIMPLEMENTED") == unimplemented + 1
