"""Simulated gNOI Certificate service: GetCertificates (the gNXI server certificate) and CanGenerateCSR."""

from __future__ import annotations

import time

import grpc.aio

from cvk.grpcapi import cert_grpc, cert_pb2
from hack.iosxe_sim.grpc_server import Gnxi

SERVICE = "/gnoi.certificate.CertificateManagement/"


class CertService(cert_grpc.CertificateManagementServicer):  # type: ignore[misc]
    def __init__(self, gnxi: Gnxi) -> None:
        self.gnxi = gnxi
        self.installed_ns = time.time_ns()

    async def GetCertificates(
        self, request: cert_pb2.GetCertificatesRequest, context: grpc.aio.ServicerContext
    ) -> cert_pb2.GetCertificatesResponse:
        await self.gnxi.admit(context, "cert", SERVICE + "GetCertificates")
        infos = []
        if self.gnxi.cert_pem:
            infos.append(
                cert_pb2.CertificateInfo(
                    certificate_id="gnxi-trustpoint",
                    certificate=cert_pb2.Certificate(type=cert_pb2.CT_X509, certificate=self.gnxi.cert_pem),
                    endpoints=[cert_pb2.Endpoint(type=cert_pb2.Endpoint.EP_DAEMON, endpoint="gnxi")],
                    modification_time=self.installed_ns,
                )
            )
        return cert_pb2.GetCertificatesResponse(certificate_info=infos)

    async def CanGenerateCSR(
        self, request: cert_pb2.CanGenerateCSRRequest, context: grpc.aio.ServicerContext
    ) -> cert_pb2.CanGenerateCSRResponse:
        await self.gnxi.admit(context, "cert", SERVICE + "CanGenerateCSR")
        ok = (
            request.key_type == cert_pb2.KT_RSA
            and request.certificate_type == cert_pb2.CT_X509
            and 1024 <= request.key_size <= 8192
        )
        return cert_pb2.CanGenerateCSRResponse(can_generate=ok)
