"""Simulated gNOI OS service: Install (bidirectional stream), Activate, Verify.

A package is valid when it starts with ``IOSXE-PKG version=<V>\\n`` (anything else: PARSE_FAIL); the
version is what ``Validated`` reports. The running version comes from the platform banner
(``17.15.04c``). Activate switches the running version and reloads the device unless ``no_reboot``.
One Install at a time (INSTALL_IN_PROGRESS).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import grpc
import grpc.aio

from cvk.grpcapi import os_grpc, os_pb2
from hack.iosxe_sim.grpc_server import Gnxi

SERVICE = "/gnoi.os.OS/"
PROGRESS_EVERY = 1024 * 1024
_PKG = re.compile(rb"^IOSXE-PKG version=([A-Za-z0-9._\-]+)\n")
REBOOT_SECONDS = 1.0


def package_bytes(version: str, size: int = 0) -> bytes:
    """A package the simulator accepts (tests and the benchmark build them with this)."""
    head = f"IOSXE-PKG version={version}\n".encode()
    return head + b"\0" * max(0, size - len(head))


class OSService(os_grpc.OSServicer):  # type: ignore[misc]
    def __init__(self, gnxi: Gnxi) -> None:
        self.gnxi = gnxi
        with gnxi.state.lock:
            banner = gnxi.state.platform.software_version
        m = re.search(r"Version (\S+)", banner)
        self.running = m.group(1) if m else "unknown"
        self.packages: dict[str, int] = {self.running: 0}  # version -> size
        self.installing = False
        self.activation_fail_message = ""

    async def Install(
        self, request_iterator: AsyncIterator[os_pb2.InstallRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[os_pb2.InstallResponse]:
        await self.gnxi.admit(context, "os", SERVICE + "Install")
        requests = request_iterator.__aiter__()
        first = await anext(requests, None)
        if first is None or first.WhichOneof("request") != "transfer_request":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be transfer_request")
            return
        if self.installing:
            yield _error(os_pb2.InstallError.INSTALL_IN_PROGRESS, "another Install is in progress")
            return
        tr = first.transfer_request
        if tr.standby_supervisor:
            yield _error(os_pb2.InstallError.NOT_SUPPORTED_ON_BACKUP, "single supervisor device")
            return
        if tr.version and tr.version in self.packages:
            yield os_pb2.InstallResponse(validated=os_pb2.Validated(version=tr.version, description="already present"))
            return
        if tr.package_size > 4 * 1024**3:
            yield _error(os_pb2.InstallError.TOO_LARGE, f"{tr.package_size} bytes do not fit on bootflash")
            return
        self.installing = True
        try:
            yield os_pb2.InstallResponse(transfer_ready=os_pb2.TransferReady())
            head = b""
            received = 0
            reported = 0
            async for req in requests:
                kind = req.WhichOneof("request")
                if kind == "transfer_content":
                    if len(head) < 256:
                        head += req.transfer_content[: 256 - len(head)]
                    received += len(req.transfer_content)
                    if received - reported >= PROGRESS_EVERY:
                        reported = received
                        yield os_pb2.InstallResponse(
                            transfer_progress=os_pb2.TransferProgress(bytes_received=received)
                        )
                elif kind == "transfer_end":
                    m = _PKG.match(head)
                    if m is None:
                        yield _error(os_pb2.InstallError.PARSE_FAIL, "not an IOS-XE package")
                        return
                    version = m.group(1).decode()
                    if not tr.version and version == self.running:
                        yield _error(os_pb2.InstallError.INSTALL_RUN_PACKAGE, f"{version} is running")
                        return
                    self.packages[version] = received
                    yield os_pb2.InstallResponse(validated=os_pb2.Validated(version=version, description="sim"))
                    return
                else:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "transfer_request sent twice")
            yield _error(os_pb2.InstallError.UNSPECIFIED, "stream ended before transfer_end")
        finally:
            self.installing = False

    async def Activate(
        self, request: os_pb2.ActivateRequest, context: grpc.aio.ServicerContext
    ) -> os_pb2.ActivateResponse:
        await self.gnxi.admit(context, "os", SERVICE + "Activate")
        if request.standby_supervisor:
            return os_pb2.ActivateResponse(activate_error=os_pb2.ActivateError(
                type=os_pb2.ActivateError.NOT_SUPPORTED_ON_BACKUP, detail="single supervisor device"))
        if not request.version or request.version not in self.packages:
            return os_pb2.ActivateResponse(activate_error=os_pb2.ActivateError(
                type=os_pb2.ActivateError.NON_EXISTENT_VERSION, detail=f"no package {request.version!r}"))
        if request.version != self.running:
            self.running = request.version
            self.activation_fail_message = ""
            if not request.no_reboot:
                self.gnxi.state.reload(REBOOT_SECONDS)
        return os_pb2.ActivateResponse(activate_ok=os_pb2.ActivateOK())

    async def Verify(
        self, request: os_pb2.VerifyRequest, context: grpc.aio.ServicerContext
    ) -> os_pb2.VerifyResponse:
        await self.gnxi.admit(context, "os", SERVICE + "Verify")
        return os_pb2.VerifyResponse(
            version=self.running,
            activation_fail_message=self.activation_fail_message,
            verify_standby=os_pb2.VerifyStandby(standby_state=os_pb2.StandbyState(state=os_pb2.StandbyState.UNSUPPORTED)),
        )


def _error(kind: int, detail: str) -> os_pb2.InstallResponse:
    return os_pb2.InstallResponse(install_error=os_pb2.InstallError(type=kind, detail=detail))
