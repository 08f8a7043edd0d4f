"""TLS for the kubelet API: the server certificate and the client-certificate policy.

The certificate comes from ``--tls-cert-file``/``--tls-key-file`` or, when neither is given, is a
self-signed one generated at start for the node's addresses (node IP, 127.0.0.1, hostname, node
name). TLS 1.2 is the minimum, only HTTP/1.1 is offered (the exec/attach upgrades need it), and a
client certificate is requested and verified against ``--client-ca-file`` when one is configured
(optional at the TLS layer so that bearer-token clients still connect, as with the kubelet).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cvk.errors import ConfigError
from cvk.options import RunOptions

SELF_SIGNED_DAYS = 365


def node_hosts(opts: RunOptions) -> list[str]:
    """Names and addresses the self-signed certificate is valid for (deduplicated, in order)."""
    hosts: list[str] = []
    for host in (opts.node_ip, "127.0.0.1", socket.gethostname(), opts.node_name, "localhost"):
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def self_signed_certificate(common_name: str, hosts: list[str]) -> tuple[bytes, bytes]:
    """A fresh ECDSA P-256 key and a self-signed certificate with ``hosts`` as SANs (PEM, PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name}@{int(now.timestamp())}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _load_pem_pair(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    # ssl only loads key material from files: use a private temporary directory, removed at once.
    with tempfile.TemporaryDirectory(prefix="cvk-kubelet-tls-") as tmp:
        cert_path = os.path.join(tmp, "tls.crt")
        key_path = os.path.join(tmp, "tls.key")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_pem)
        with open(cert_path, "wb") as f:
            f.write(cert_pem)
        ctx.load_cert_chain(cert_path, key_path)


def server_ssl_context(opts: RunOptions) -> ssl.SSLContext:
    """The TLS context of the kubelet API; raises ConfigError naming the flag that is wrong."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    if bool(opts.tls_cert_file) != bool(opts.tls_key_file):
        missing = "--tls-key-file" if opts.tls_cert_file else "--tls-cert-file"
        raise ConfigError(
            missing, "--tls-cert-file and --tls-key-file must be given together (or neither, "
            "for a self-signed certificate)"
        )
    if opts.tls_cert_file and opts.tls_key_file:
        try:
            ctx.load_cert_chain(opts.tls_cert_file, opts.tls_key_file)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(
                "--tls-cert-file", f"cannot load {opts.tls_cert_file} / {opts.tls_key_file}: {e}"
            ) from e
    else:
        cert_pem, key_pem = self_signed_certificate(opts.node_name, node_hosts(opts))
        _load_pem_pair(ctx, cert_pem, key_pem)
    if opts.client_ca_file:
        try:
            ctx.load_verify_locations(cafile=opts.client_ca_file)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError("--client-ca-file", f"cannot load {opts.client_ca_file}: {e}") from e
        # Verify a certificate when one is presented; token-only clients still connect.
        ctx.verify_mode = ssl.CERT_OPTIONAL
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
