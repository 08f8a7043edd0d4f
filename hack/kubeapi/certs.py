"""The emulator's certificate authority: serving certificate, client certificates, files on disk."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=365)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclasses.dataclass
class KeyPair:
    cert_pem: bytes
    key_pem: bytes


class CertificateAuthority:
    """A self-signed CA that signs the serving certificate and client certificates."""

    def __init__(self, common_name: str = "cisco-vk-kubeapi-ca") -> None:
        self._key = _key()
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return _pem_cert(self._cert)

    @property
    def key_pem(self) -> bytes:
        return _pem_key(self._key)

    def issue(
        self,
        common_name: str,
        *,
        organizations: tuple[str, ...] = (),
        server: bool = False,
        client: bool = False,
        hosts: tuple[str, ...] = (),
    ) -> KeyPair:
        key = _key()
        now = datetime.datetime.now(datetime.UTC)
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )
        if hosts:
            sans: list[x509.GeneralName] = []
            for h in hosts:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(h)))
                except ValueError:
                    sans.append(x509.DNSName(h))
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return KeyPair(_pem_cert(cert), _pem_key(key))


@dataclasses.dataclass
class CertFiles:
    """Everything written to disk: paths handed to clients and to the kubelet under test."""

    ca_file: Path
    ca_key_file: Path
    serving_cert_file: Path
    serving_key_file: Path
    client_cert_file: Path
    client_key_file: Path


def write_pki(ca: CertificateAuthority, directory: Path) -> tuple[CertFiles, KeyPair, KeyPair]:
    """Write the CA, a serving pair for 127.0.0.1/localhost and the kubelet-client pair."""
    directory.mkdir(parents=True, exist_ok=True)
    serving = ca.issue("kube-apiserver", server=True, hosts=("127.0.0.1", "localhost", "::1"))
    kubelet_client = ca.issue("kube-apiserver-kubelet-client", organizations=("system:masters",), client=True)
    files = CertFiles(
        ca_file=directory / "ca.crt",
        ca_key_file=directory / "ca.key",
        serving_cert_file=directory / "apiserver.crt",
        serving_key_file=directory / "apiserver.key",
        client_cert_file=directory / "apiserver-kubelet-client.crt",
        client_key_file=directory / "apiserver-kubelet-client.key",
    )
    for path, data in (
        (files.ca_file, ca.cert_pem),
        (files.ca_key_file, ca.key_pem),
        (files.serving_cert_file, serving.cert_pem),
        (files.serving_key_file, serving.key_pem),
        (files.client_cert_file, kubelet_client.cert_pem),
        (files.client_key_file, kubelet_client.key_pem),
    ):
        path.write_bytes(data)
        if path.suffix == ".key":
            path.chmod(0o600)
    return files, serving, kubelet_client


def server_ssl_context(files: CertFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(files.serving_cert_file), str(files.serving_key_file))
    # Clients may present certificates (kubectl with client certs); they are not required.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def kubelet_client_ssl_context(files: CertFiles) -> ssl.SSLContext:
    """TLS towards kubelets: presents the client certificate; like kube-apiserver without
    --kubelet-certificate-authority it does not verify the kubelet's (self-signed) serving certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(str(files.client_cert_file), str(files.client_key_file))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
