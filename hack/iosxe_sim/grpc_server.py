"""The simulator's gNXI server: gNMI and gNOI (System, File, OS, Certificate) on one gRPC port.

``start_grpc`` is called by ``SimServer.start_grpc``. Like IOS-XE:

- TLS when a certificate is given (the simulator's CA signs it), otherwise plaintext;
- credentials are read from the per-RPC metadata keys ``username`` and ``password``; missing or wrong
  ones get UNAUTHENTICATED;
- a gNOI service the platform does not list in ``platform.gnoi_services`` answers UNIMPLEMENTED
  (C8000V: system, file, os, cert; C9300: os, cert; IR1101: cert; IE3500: none). gNMI is always served;
- while the device reloads every RPC gets UNAVAILABLE.

``handle.calls`` counts the RPCs served by full method name (tests use it to prove that nothing was sent).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import secrets
from typing import Any

import grpc
import grpc.aio

from hack.iosxe_sim.state import DeviceState

log = logging.getLogger("iosxe_sim.grpc")


class Gnxi:
    """What every service of one simulated gNXI server shares: the device, credentials, call counts."""

    def __init__(self, state: DeviceState, *, username: str, password: str, cert_pem: bytes | None) -> None:
        self.state = state
        self.username = username
        self.password = password
        self.cert_pem = cert_pem
        self.calls: collections.Counter[str] = collections.Counter()

    async def admit(self, context: grpc.aio.ServicerContext, service: str | None, method: str) -> None:
        """Reload, authentication and service checks every RPC goes through, in IOS-XE's order."""
        self.calls[method] += 1
        if self.state.reloading:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "device is reloading")
        md = dict(context.invocation_metadata() or ())
        user, pw = str(md.get("username", "")), str(md.get("password", ""))
        if not (secrets.compare_digest(user, self.username) and secrets.compare_digest(pw, self.password)):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "authentication failed")
        if service is not None:
            with self.state.lock:
                offered = service in self.state.platform.gnoi_services
            if not offered:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"unknown service {method.split('/')[1]}")


@dataclasses.dataclass
class GrpcHandle:
    port: int
    server: grpc.aio.Server
    gnxi: Gnxi
    services: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def calls(self) -> collections.Counter[str]:
        return self.gnxi.calls

    async def stop(self) -> None:
        for svc in self.services.values():
            close = getattr(svc, "close", None)
            if close is not None:
                await close()
        await self.server.stop(grace=0.5)


async def start_grpc(
    state: DeviceState,
    host: str,
    port: int,
    *,
    cert_pem: bytes | None,
    key_pem: bytes | None,
    username: str,
    password: str,
) -> GrpcHandle:
    from cvk.grpcapi import cert_grpc, file_grpc, gnmi_grpc, os_grpc, system_grpc
    from hack.iosxe_sim import gnmi_server, gnoi_cert, gnoi_file, gnoi_os, gnoi_system

    gnxi = Gnxi(state, username=username, password=password, cert_pem=cert_pem)
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", 64 * 1024 * 1024), ("grpc.so_reuseport", 0)]
    )
    services: dict[str, Any] = {
        "system": gnoi_system.SystemService(gnxi),
        "file": gnoi_file.FileService(gnxi),
        "os": gnoi_os.OSService(gnxi),
        "cert": gnoi_cert.CertService(gnxi),
        "gnmi": gnmi_server.GnmiService(gnxi),
    }
    system_grpc.add_SystemServicer_to_server(services["system"], server)
    file_grpc.add_FileServicer_to_server(services["file"], server)
    os_grpc.add_OSServicer_to_server(services["os"], server)
    cert_grpc.add_CertificateManagementServicer_to_server(services["cert"], server)
    gnmi_grpc.add_gNMIServicer_to_server(services["gnmi"], server)
    address = f"{host}:{port}"
    if cert_pem is not None and key_pem is not None:
        bound = server.add_secure_port(address, grpc.ssl_server_credentials([(key_pem, cert_pem)]))
    else:
        bound = server.add_insecure_port(address)
    await server.start()
    log.info("gnxi listening host=%s port=%d tls=%s", host, bound, cert_pem is not None)
    return GrpcHandle(port=bound, server=server, gnxi=gnxi, services=services)
