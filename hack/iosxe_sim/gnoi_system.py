"""Simulated gNOI System service: Time, Ping, Traceroute, Reboot, RebootStatus, CancelReboot, KillProcess.

Ping and Traceroute are computed, not sent: addresses in 192.0.2.0/24 (TEST-NET-1) never answer,
everything else answers in about a millisecond. A Reboot with a delay is pending (RebootStatus
``active``) until it fires or is cancelled; a reboot runs ``DeviceState.reload`` (nothing answers for
``REBOOT_SECONDS``). Traceroute over TCP answers UNIMPLEMENTED (an unsupported *option*).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import time
from collections.abc import AsyncIterator

import grpc
import grpc.aio

from cvk.grpcapi import system_grpc, system_pb2
from hack.iosxe_sim.grpc_server import Gnxi

SERVICE = "/gnoi.system.System/"
REBOOT_SECONDS = 1.0
SILENT = ipaddress.ip_network("192.0.2.0/24")
PROCESSES = {"iosd": 1001, "iox-manager": 1002, "gnxi": 1003, "dmiauthd": 1004}
ALLOWED_METHODS = {system_pb2.COLD, system_pb2.WARM}


def _valid_destination(dest: str) -> bool:
    try:
        ipaddress.ip_address(dest)
        return True
    except ValueError:
        return bool(dest) and all(part and part.replace("-", "").isalnum() for part in dest.split("."))


def _answers(dest: str) -> bool:
    try:
        return ipaddress.ip_address(dest) not in SILENT
    except ValueError:
        return True


class SystemService(system_grpc.SystemServicer):  # type: ignore[misc]
    def __init__(self, gnxi: Gnxi) -> None:
        self.gnxi = gnxi
        self.pending: asyncio.Task[None] | None = None
        self.when_ns = 0
        self.reason = ""
        self.method = system_pb2.UNKNOWN
        self.count = 0
        self.last_status = system_pb2.RebootStatus(status=system_pb2.RebootStatus.STATUS_UNKNOWN)

    async def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            with contextlib.suppress(BaseException):
                await self.pending

    async def Time(self, request: system_pb2.TimeRequest, context: grpc.aio.ServicerContext) -> system_pb2.TimeResponse:
        await self.gnxi.admit(context, "system", SERVICE + "Time")
        return system_pb2.TimeResponse(time=time.time_ns())

    async def Ping(
        self, request: system_pb2.PingRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[system_pb2.PingResponse]:
        await self.gnxi.admit(context, "system", SERVICE + "Ping")
        if not _valid_destination(request.destination):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid destination {request.destination!r}")
        if request.count < 0 or request.interval < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "continuous and flood ping are not supported")
        count = request.count or 5
        size = request.size or 56
        interval = min(request.interval / 1e9, 0.01) if request.interval else 0.001
        rtts: list[int] = []
        answers = _answers(request.destination)
        for seq in range(1, count + 1):
            if answers:
                rtt = random.randint(300_000, 1_500_000)
                rtts.append(rtt)
                yield system_pb2.PingResponse(
                    source=request.destination, time=rtt, bytes=size + 8, sequence=seq, ttl=64
                )
            if seq < count:
                await asyncio.sleep(interval)
        summary = system_pb2.PingResponse(source=request.destination, sent=count, received=len(rtts))
        if rtts:
            avg = sum(rtts) // len(rtts)
            summary.min_time, summary.avg_time, summary.max_time = min(rtts), avg, max(rtts)
            summary.std_dev = int((sum((r - avg) ** 2 for r in rtts) / len(rtts)) ** 0.5)
        yield summary

    async def Traceroute(
        self, request: system_pb2.TracerouteRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[system_pb2.TracerouteResponse]:
        await self.gnxi.admit(context, "system", SERVICE + "Traceroute")
        if request.l4protocol == system_pb2.TracerouteRequest.TCP:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "traceroute over TCP is not supported")
        if not _valid_destination(request.destination):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid destination {request.destination!r}")
        with self.gnxi.state.lock:
            gateway = self.gnxi.state.platform.pools[0].gateway if self.gnxi.state.platform.pools else "10.0.0.1"
        hops = [gateway, "10.255.0.1", request.destination]
        max_ttl = request.max_ttl or 30
        yield system_pb2.TracerouteResponse(
            destination_name=request.destination, destination_address=request.destination,
            hops=min(len(hops), max_ttl), packet_size=60,
        )
        answers = _answers(request.destination)
        for hop, addr in enumerate(hops[:max_ttl], start=request.initial_ttl or 1):
            for _ in range(3):
                if addr == request.destination and not answers:
                    yield system_pb2.TracerouteResponse(hop=hop, state=system_pb2.TracerouteResponse.NONE)
                else:
                    yield system_pb2.TracerouteResponse(
                        hop=hop, address=addr, rtt=random.randint(200_000, 2_000_000),
                        state=system_pb2.TracerouteResponse.DEFAULT,
                    )

    async def Reboot(self, request: system_pb2.RebootRequest, context: grpc.aio.ServicerContext) -> system_pb2.RebootResponse:  # noqa: E501
        await self.gnxi.admit(context, "system", SERVICE + "Reboot")
        if request.method not in ALLOWED_METHODS:
            name = system_pb2.RebootMethod.Name(request.method) if request.method in system_pb2.RebootMethod.values() \
                else str(request.method)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"reboot method {name} is not supported")
        if request.subcomponents:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "subcomponent reboot is not supported")
        if self.pending is not None and not self.pending.done():
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "a reboot is already pending")
        self.reason = request.message
        self.method = request.method
        self.when_ns = time.time_ns() + request.delay
        self.pending = asyncio.ensure_future(self._reboot_after(request.delay / 1e9))
        if request.delay == 0:
            await asyncio.sleep(0)
        return system_pb2.RebootResponse()

    async def _reboot_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.count += 1
        self.last_status = system_pb2.RebootStatus(status=system_pb2.RebootStatus.STATUS_SUCCESS)
        self.gnxi.state.reload(REBOOT_SECONDS)

    async def RebootStatus(
        self, request: system_pb2.RebootStatusRequest, context: grpc.aio.ServicerContext
    ) -> system_pb2.RebootStatusResponse:
        await self.gnxi.admit(context, "system", SERVICE + "RebootStatus")
        active = self.pending is not None and not self.pending.done()
        if active:
            return system_pb2.RebootStatusResponse(
                active=True, wait=max(0, self.when_ns - time.time_ns()), when=self.when_ns, reason=self.reason,
                count=self.count, method=self.method,
            )
        return system_pb2.RebootStatusResponse(active=False, count=self.count, method=self.method,
                                               reason=self.reason, status=self.last_status)

    async def CancelReboot(
        self, request: system_pb2.CancelRebootRequest, context: grpc.aio.ServicerContext
    ) -> system_pb2.CancelRebootResponse:
        await self.gnxi.admit(context, "system", SERVICE + "CancelReboot")
        if self.pending is not None and not self.pending.done():
            self.pending.cancel()
            self.last_status = system_pb2.RebootStatus(
                status=system_pb2.RebootStatus.STATUS_FAILURE, message=f"cancelled: {request.message}"
            )
        return system_pb2.CancelRebootResponse()

    async def KillProcess(
        self, request: system_pb2.KillProcessRequest, context: grpc.aio.ServicerContext
    ) -> system_pb2.KillProcessResponse:
        await self.gnxi.admit(context, "system", SERVICE + "KillProcess")
        if not request.pid and not request.name:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "give a pid or a process name")
        if request.signal == system_pb2.KillProcessRequest.SIGNAL_UNSPECIFIED:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "give a termination signal")
        known = (request.name and request.name in PROCESSES) or (request.pid and request.pid in PROCESSES.values())
        if not known:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no process {request.name or request.pid}")
        return system_pb2.KillProcessResponse()
