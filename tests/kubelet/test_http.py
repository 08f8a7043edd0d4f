"""Plain HTTP routes of the kubelet API: logs, error mapping, pod lists, stats, metrics, health."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
import warnings

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cvk.errors import DeviceRejected, DeviceUnreachable, InvalidInput, NotFound, NotSupported
from tests.kubelet.conftest import Kubelet
from tests.kubelet.fakes import BareDriver

pytestmark = pytest.mark.timeout(60)


async def test_tls_only_and_tls12_minimum(kubelet: Kubelet) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", kubelet.server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    data = await reader.read(100)  # the TLS server drops a plaintext client
    assert not data.startswith(b"HTTP/1.1 200")
    writer.close()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client really offer TLS 1.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await asyncio.open_connection("127.0.0.1", kubelet.server.port, ssl=ctx)


async def test_self_signed_certificate_names_the_node(kubelet: Kubelet) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    _, writer = await asyncio.open_connection("127.0.0.1", kubelet.server.port, ssl=ctx)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    names = sans.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in ips
    assert "node-a" in names


async def test_health_endpoints(kubelet: Kubelet) -> None:
    for path in ("/healthz", "/readyz"):
        async with kubelet.session.get(kubelet.url + path) as r:
            assert r.status == 200
            assert await r.text() == "ok"


async def test_unknown_path_and_wrong_method(kubelet: Kubelet) -> None:
    async with kubelet.session.get(kubelet.url + "/configz") as r:
        assert r.status == 404
        assert (await r.text()).strip() == "404 request not found"
    async with kubelet.session.post(kubelet.url + "/pods") as r:
        assert r.status == 405


async def test_logs_stream_with_options(kubelet: Kubelet) -> None:
    kubelet.driver.logs[("default", "p1", "app")] = ["one", "two", "three"]
    url = kubelet.url + "/containerLogs/default/p1/app"
    params = {
        "tailLines": "2", "limitBytes": "100", "timestamps": "true", "previous": "0",
        "sinceTime": "2026-01-02T03:04:05.123456789Z",
    }
    async with kubelet.session.get(url, params=params) as r:
        assert r.status == 200
        assert await r.text() == "two\nthree\n"
    opts = kubelet.driver.log_calls[-1]
    assert opts.tail_lines == 2
    assert opts.limit_bytes == 100
    assert opts.timestamps is True
    assert opts.previous is False
    assert opts.since_time is not None and opts.since_time.microsecond == 123456
    assert opts.since_time.utcoffset() is not None and opts.since_time.utcoffset().total_seconds() == 0
    async with kubelet.session.get(url, params={"sinceSeconds": "30"}) as r:
        assert r.status == 200
    assert kubelet.driver.log_calls[-1].since_seconds == 30


async def test_logs_follow_streams_each_chunk(kubelet: Kubelet) -> None:
    kubelet.driver.logs[("default", "p1", "app")] = []
    url = kubelet.url + "/containerLogs/default/p1/app?follow=true"
    async with kubelet.session.get(url) as r:
        assert r.status == 200
        for line in ("first", "second"):
            await kubelet.driver.follow_queue.put(line)
            got = await asyncio.wait_for(r.content.readline(), 10)
            assert got == (line + "\n").encode()
        await kubelet.driver.follow_queue.put(None)
        assert await asyncio.wait_for(r.content.read(), 10) == b""
    assert kubelet.driver.log_calls[-1].follow is True


async def test_log_failure_after_the_first_chunk_breaks_the_stream(kubelet: Kubelet) -> None:
    kubelet.driver.logs[("default", "p1", "app")] = ["ok", "!unreachable"]
    async with kubelet.session.get(kubelet.url + "/containerLogs/default/p1/app") as r:
        assert r.status == 200
        assert await r.content.readline() == b"ok\n"
        with pytest.raises(aiohttp.ClientPayloadError):
            await r.content.read()


async def test_logs_follow_ends_when_the_client_goes_away(kubelet: Kubelet) -> None:
    kubelet.driver.logs[("default", "p1", "app")] = ["old"]
    url = kubelet.url + "/containerLogs/default/p1/app?follow=1"
    async with kubelet.session.get(url) as r:
        assert await asyncio.wait_for(r.content.readline(), 10) == b"old\n"
        r.connection.transport.close()  # hang up while the log is quiet
    await asyncio.wait_for(kubelet.driver.follow_ended.wait(), 10)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("tailLines=-1", "tailLines"),
        ("tailLines=abc", "tailLines"),
        ("limitBytes=0", "limitBytes"),
        ("sinceSeconds=0", "sinceSeconds"),
        ("sinceTime=yesterday", "sinceTime"),
        ("sinceTime=2024-01-01", "sinceTime"),
        ("sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z", "sinceSeconds"),
        ("follow=maybe", "follow"),
        ("previous=yes", "previous"),
        ("timestamps=2", "timestamps"),
    ],
)
async def test_logs_bad_query_is_400(kubelet: Kubelet, query: str, param: str) -> None:
    kubelet.driver.logs[("default", "p1", "app")] = ["x"]
    async with kubelet.session.get(kubelet.url + "/containerLogs/default/p1/app?" + query) as r:
        assert r.status == 400
        assert param in await r.text()
    assert kubelet.driver.log_calls == []


@pytest.mark.parametrize(
    ("err", "status"),
    [
        (NotFound("no such pod"), 404),
        (InvalidInput("bad container"), 400),
        (NotSupported("no logs here"), 501),
        (DeviceUnreachable("device 10.0.0.1 did not answer"), 503),
        (DeviceRejected("refused", status=500), 500),
        (RuntimeError("surprise"), 500),
    ],
)
async def test_error_mapping(kubelet: Kubelet, err: Exception, status: int) -> None:
    kubelet.driver.fail["container_logs"] = err
    kubelet.driver.fail["list_pods"] = err
    kubelet.driver.fail["stats"] = err
    for path in ("/containerLogs/default/p1/app", "/runningpods/", "/stats/summary", "/metrics/resource"):
        async with kubelet.session.get(kubelet.url + path) as r:
            assert r.status == status, path
            assert str(err) in await r.text()


async def test_logs_of_unknown_container_is_404(kubelet: Kubelet) -> None:
    async with kubelet.session.get(kubelet.url + "/containerLogs/default/p1/nope") as r:
        assert r.status == 404
        assert "container nope" in await r.text()


async def test_api_pods(kubelet: Kubelet) -> None:
    async with kubelet.session.get(kubelet.url + "/pods") as r:
        assert r.status == 200
        assert r.content_type == "application/json"
        body = await r.json()
    assert body["kind"] == "PodList" and body["apiVersion"] == "v1"
    assert [p["metadata"]["name"] for p in body["items"]] == ["p1", "p2"]


async def test_running_pods_and_redirect(kubelet: Kubelet) -> None:
    async with kubelet.session.get(kubelet.url + "/runningpods", allow_redirects=False) as r:
        assert r.status == 301
        assert r.headers["Location"] == "/runningpods/"
    async with kubelet.session.get(kubelet.url + "/runningpods") as r:
        assert r.status == 200
        body = await r.json()
    assert body["kind"] == "PodList"
    assert [p["metadata"]["name"] for p in body["items"]] == ["p1"]


async def test_stats_summary_shape(kubelet: Kubelet) -> None:
    for path in ("/stats/summary", "/stats/summary/"):
        async with kubelet.session.get(kubelet.url + path) as r:
            assert r.status == 200
            body = await r.json()
        node = body["node"]
        assert node["nodeName"] == "node-a"
        assert node["startTime"] == "2026-01-02T03:04:05Z"
        assert node["cpu"]["usageNanoCores"] == 400_000_000
        assert node["cpu"]["usageCoreNanoSeconds"] == 100_000_000_000
        assert node["memory"]["workingSetBytes"] == 512 * 2**20
        assert node["memory"]["availableBytes"] == 3 * 2**30
        (p,) = body["pods"]
        assert p["podRef"] == {"name": "p1", "namespace": "default", "uid": "uid-1"}
        assert [c["name"] for c in p["containers"]] == ["app", "side"]
        assert p["cpu"]["usageNanoCores"] == 300_000_000
        assert p["memory"]["workingSetBytes"] == 80 * 2**20
        assert p["containers"][0]["memory"]["usageBytes"] == 80 * 2**20


SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)(?: (?P<ts>\d+))?$")


async def test_metrics_resource_format(kubelet: Kubelet) -> None:
    before = int(time.time() * 1000)
    async with kubelet.session.get(kubelet.url + "/metrics/resource") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await r.text()
    samples: dict[tuple[str, str], tuple[float, int | None]] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            _, _, name, kind = line.split()
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, line
        ts = int(m["ts"]) if m["ts"] else None
        samples[(m["name"], m["labels"] or "")] = (float(m["value"]), ts)
    assert types["node_cpu_usage_seconds_total"] == "counter"
    assert types["container_memory_working_set_bytes"] == "gauge"
    c = 'container="app",namespace="default",pod="p1"'
    p = 'namespace="default",pod="p1"'
    assert samples[("node_cpu_usage_seconds_total", "")][0] == 100.0
    assert samples[("node_memory_working_set_bytes", "")][0] == 512 * 2**20
    assert samples[("container_cpu_usage_seconds_total", c)][0] == 12.5
    assert samples[("container_memory_working_set_bytes", c)][0] == 64 * 2**20
    assert samples[("container_start_time_seconds", c)][0] == 1767323045.0
    assert samples[("pod_cpu_usage_seconds_total", p)][0] == 14.0
    assert samples[("pod_memory_working_set_bytes", p)][0] == 80 * 2**20
    assert samples[("resource_scrape_error", "")][0] == 0
    assert samples[("scrape_error", "")][0] == 0
    # metrics-server ignores samples without a timestamp
    ts = samples[("node_cpu_usage_seconds_total", "")][1]
    assert ts is not None and ts >= before
    # and the whole exposition parses with the reference Prometheus parser
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["container_cpu_usage_seconds"].type == "counter"  # the parser drops _total
    assert {s.labels["container"] for s in families["container_cpu_usage_seconds"].samples} == {"app", "side"}


async def test_pod_list_is_json_decodable_when_empty(kubelet: Kubelet) -> None:
    kubelet.api_pods.clear()
    async with kubelet.session.get(kubelet.url + "/pods") as r:
        body = json.loads(await r.text())
    assert body["items"] == []


async def test_driver_without_optional_back_ends_gets_501(kubelet: Kubelet) -> None:
    kubelet.server.driver = BareDriver()
    for method, path in [
        ("GET", "/containerLogs/default/p1/app"),
        ("GET", "/stats/summary"),
        ("GET", "/metrics/resource"),
        ("POST", "/exec/default/p1/app?command=ls&output=1"),
        ("POST", "/attach/default/p1/app?output=1"),
        ("POST", "/portForward/default/p1"),
    ]:
        async with kubelet.session.request(method, kubelet.url + path) as r:
            assert r.status == 501, path
            assert "not" in (await r.text()).lower()
    async with kubelet.session.get(kubelet.url + "/runningpods/") as r:
        assert (await r.json())["items"] == []
