"""A throw-away certificate authority and server certificate for the simulator's HTTPS (and gRPC).

Clients verify the server with the CA written by ``--write-ca``; the server certificate names
127.0.0.1, ::1, localhost and the device hostname.
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hack.kubeapi.certs import CertificateAuthority


@dataclass(frozen=True)
class Credentials:
    ca_pem: bytes
    cert_pem: bytes  # server certificate (leaf only)
    key_pem: bytes  # server private key (PKCS#8, unencrypted)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="iosxe-sim-tls-") as d:
            cert = Path(d) / "cert.pem"
            key = Path(d) / "key.pem"
            cert.write_bytes(self.cert_pem + self.ca_pem)
            key.write_bytes(self.key_pem)
            ctx.load_cert_chain(cert, key)
        return ctx


def make_credentials(hostname: str = "localhost", extra_ips: tuple[str, ...] = ()) -> Credentials:
    """A fresh CA and a server certificate signed by it (the emulator's CA code, another subject)."""
    ca = CertificateAuthority("iosxe-sim CA")
    names = ["localhost", *([hostname] if hostname and hostname != "localhost" else []), "127.0.0.1", "::1"]
    leaf = ca.issue(hostname or "localhost", organizations=("cisco-vk simulator",), server=True,
                    hosts=(*names, *extra_ips))
    return Credentials(ca_pem=ca.cert_pem, cert_pem=leaf.cert_pem, key_pem=leaf.key_pem)
