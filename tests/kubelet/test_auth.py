"""Authentication (client certificate, bearer token via TokenReview, anonymous) and authorization
(SubjectAccessReview) of the kubelet API."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cvk.errors import ConfigError
from cvk.kubelet import KubeletServer
from cvk.options import RunOptions
from tests.kubelet.conftest import StartKubelet, insecure_ssl
from tests.kubelet.fakes import TestDriver

pytestmark = pytest.mark.timeout(60)

WEBHOOKS = {"authentication_token_webhook": True, "authorization_webhook": True, "anonymous_auth": False}


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(tmp: Path, name: str) -> tuple[Path, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp / f"{name}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


def client_context(tmp: Path, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, cn: str,
                   orgs: list[str]) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = tmp / f"{cn}.crt", tmp / f"{cn}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_pem_key(key))
    ctx = insecure_ssl()
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


async def test_client_certificate_user_and_sar_attributes(start_kubelet: StartKubelet, tmp_path: Path) -> None:
    ca_path, ca, ca_key = make_ca(tmp_path, "clients")
    ctx = client_context(tmp_path, ca, ca_key, "kube-apiserver-kubelet-client", ["system:masters"])
    k = await start_kubelet(ssl_context=ctx, client_ca_file=str(ca_path), **WEBHOOKS)
    async with k.session.get(k.url + "/stats/summary") as r:
        assert r.status == 200
    async with k.session.get(k.url + "/metrics/resource") as r:
        assert r.status == 200
    async with k.session.get(k.url + "/pods") as r:
        assert r.status == 200
    async with k.session.get(k.url + "/logs/messages") as r:
        assert r.status == 404  # authorized as nodes/log first, then not served
    async with k.session.post(k.url + "/exec/default/p1/app?command=echo&output=1") as r:
        assert r.status == 400  # authorized (create nodes/proxy), then not an upgrade request
    sars = k.reviews.reviews("subjectaccessreviews")
    assert sars[0]["spec"]["user"] == "kube-apiserver-kubelet-client"
    assert "system:masters" in sars[0]["spec"]["groups"]
    attrs = [s["spec"]["resourceAttributes"] for s in sars]
    assert [(a["verb"], a["subresource"]) for a in attrs] == [
        ("get", "stats"), ("get", "metrics"), ("get", "proxy"), ("get", "log"), ("create", "proxy"),
    ]
    assert all(a["resource"] == "nodes" and a["name"] == "node-a" and a["version"] == "v1" for a in attrs)
    assert k.reviews.reviews("tokenreviews") == []


async def test_certificate_from_another_ca_is_not_accepted(start_kubelet: StartKubelet, tmp_path: Path) -> None:
    ca_path, _, _ = make_ca(tmp_path, "clients")
    _, other, other_key = make_ca(tmp_path, "other")
    ctx = client_context(tmp_path, other, other_key, "mallory", ["system:masters"])
    k = await start_kubelet(ssl_context=ctx, client_ca_file=str(ca_path), **WEBHOOKS)
    try:
        async with k.session.get(k.url + "/pods") as r:
            status = r.status
    except aiohttp.ClientError:
        status = 0  # rejected during the TLS handshake
    assert status in (0, 401)
    assert k.reviews.reviews("subjectaccessreviews") == []


async def test_bearer_token_review_and_cache(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet(**WEBHOOKS)
    k.reviews.tokens["good"] = {"username": "bob", "uid": "42", "groups": ["devs"], "extra": {"k": ["v"]}}
    for _ in range(3):
        async with k.session.get(k.url + "/pods", headers={"Authorization": "Bearer good"}) as r:
            assert r.status == 200
    assert len(k.reviews.reviews("tokenreviews")) == 1  # cached
    assert len(k.reviews.reviews("subjectaccessreviews")) == 1  # cached
    sar = k.reviews.reviews("subjectaccessreviews")[0]["spec"]
    assert (sar["user"], sar["uid"], sar["extra"]) == ("bob", "42", {"k": ["v"]})
    assert sar["groups"] == ["devs", "system:authenticated"]
    async with k.session.get(k.url + "/pods", headers={"Authorization": "Bearer bad"}) as r:
        assert r.status == 401


async def test_no_credentials_is_401_unless_anonymous(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet(**WEBHOOKS)
    async with k.session.get(k.url + "/pods") as r:
        assert r.status == 401
    async with k.session.get(k.url + "/healthz") as r:
        assert r.status == 200  # health needs no credentials
    assert k.reviews.calls == []


async def test_anonymous_is_still_authorized(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet(**{**WEBHOOKS, "anonymous_auth": True})
    async with k.session.get(k.url + "/pods") as r:
        assert r.status == 200
    sar = k.reviews.reviews("subjectaccessreviews")[0]["spec"]
    assert sar["user"] == "system:anonymous"
    assert sar["groups"] == ["system:unauthenticated"]
    k.reviews.denied_users.add("system:anonymous")
    async with k.session.get(k.url + "/stats/summary") as r:
        assert r.status == 403
    # an invalid token never falls back to anonymous
    async with k.session.get(k.url + "/pods", headers={"Authorization": "Bearer nope"}) as r:
        assert r.status == 401


async def test_token_ignored_without_token_authentication(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet(authentication_token_webhook=False, authorization_webhook=True, anonymous_auth=False)
    async with k.session.get(k.url + "/pods", headers={"Authorization": "Bearer whatever"}) as r:
        assert r.status == 401
    k = await start_kubelet(authentication_token_webhook=False, authorization_webhook=True, anonymous_auth=True)
    async with k.session.get(k.url + "/pods", headers={"Authorization": "Bearer whatever"}) as r:
        assert r.status == 200
    assert k.reviews.reviews("tokenreviews") == []
    assert k.reviews.reviews("subjectaccessreviews")[0]["spec"]["user"] == "system:anonymous"


async def test_denied_user_gets_403(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet(**WEBHOOKS)
    k.reviews.tokens["t"] = {"username": "eve", "groups": []}
    k.reviews.denied_users.add("eve")
    async with k.session.get(k.url + "/containerLogs/default/p1/app", headers={"Authorization": "Bearer t"}) as r:
        assert r.status == 403
        assert "eve" in await r.text()
    assert k.driver.log_calls == []


async def test_webhooks_without_client_are_a_config_error() -> None:
    opts = RunOptions(node_name="n", kubelet_address="127.0.0.1", kubelet_port=0)
    with pytest.raises(ConfigError, match="authentication-token-webhook"):
        KubeletServer(TestDriver(), "n", opts, None, list)


async def test_given_certificate_files(start_kubelet: StartKubelet, tmp_path: Path) -> None:
    from cvk.kubelet.tls import self_signed_certificate

    cert, key = self_signed_certificate("given", ["127.0.0.1"])
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    ctx = ssl.create_default_context(cafile=str(tmp_path / "tls.crt"))
    ctx.check_hostname = False
    k = await start_kubelet(ssl_context=ctx, tls_cert_file=str(tmp_path / "tls.crt"),
                            tls_key_file=str(tmp_path / "tls.key"))
    async with k.session.get(k.url + "/healthz") as r:
        assert r.status == 200


async def test_bad_certificate_file_is_a_config_error(tmp_path: Path) -> None:
    opts = RunOptions(node_name="n", kubelet_address="127.0.0.1", kubelet_port=0,
                      authentication_token_webhook=False, authorization_webhook=False,
                      tls_cert_file=str(tmp_path / "missing.crt"), tls_key_file=str(tmp_path / "missing.key"))
    server = KubeletServer(TestDriver(), "n", opts, None, list)
    with pytest.raises(ConfigError, match="tls-cert-file"):
        await server.start()


async def test_concurrent_requests_share_one_review(start_kubelet: StartKubelet) -> None:
    k = await start_kubelet(**WEBHOOKS)
    k.reviews.tokens["t"] = {"username": "carol", "groups": []}
    k.reviews.latency = 0.2

    async def get() -> int:
        async with k.session.get(k.url + "/pods", headers={"Authorization": "Bearer t"}) as r:
            return r.status

    assert await asyncio.gather(*(get() for _ in range(8))) == [200] * 8
    assert len(k.reviews.reviews("tokenreviews")) == 1
    assert len(k.reviews.reviews("subjectaccessreviews")) == 1
