"""gNOI client for one device: System, File, OS and Certificate RPCs over the channel pool.

Every call: the capability cache is checked first (a service that answered UNIMPLEMENTED fails at
once), file paths are validated before anything is sent, the credentials travel as metadata, and each
RPC has a deadline (unary 30 s; Ping/Traceroute count x (interval + wait) + 30 s; transfers 10 min).
gRPC errors become cvk errors (``errors.map_rpc_error``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpc
import grpc.aio

from cvk.errors import InvalidInput
from cvk.grpcapi import (
    cert_grpc,
    cert_pb2,
    file_grpc,
    file_pb2,
    os_grpc,
    os_pb2,
    system_grpc,
    system_pb2,
    types_pb2,
)
from cvk.transport.grpc.capability import CapabilityCache
from cvk.transport.grpc.errors import FileHashMismatch, ServiceUnsupported, map_rpc_error
from cvk.transport.grpc.paths import validate_path
from cvk.transport.grpc.pool import ChannelPool, WorkloadClass
from cvk.transport.metrics import DEVICE_REQUESTS, DEVICE_SECONDS

log = logging.getLogger("cvk.transport.grpc.gnoi")

T = TypeVar("T")
CHUNK = 64 * 1024
DEFAULT_GET_LIMIT = 256 * 1024
_HASHES = {
    types_pb2.HashType.SHA256: hashlib.sha256,
    types_pb2.HashType.SHA512: hashlib.sha512,
    types_pb2.HashType.MD5: hashlib.md5,
}


@dataclasses.dataclass(frozen=True)
class FileContent:
    data: bytes
    truncated: bool  # the byte budget ran out; no hash verdict then
    hash_verified: bool


@dataclasses.dataclass(frozen=True)
class PingResult:
    packets: list[Any]  # system_pb2.PingResponse per reply
    summary: Any  # the message with sent != 0 (system_pb2.PingResponse)


class GnoiClient:
    """gNOI for one device. ``pool`` owns the channels; the capability cache clears on pool rebuilds."""

    def __init__(self, pool: ChannelPool, cache: CapabilityCache | None = None) -> None:
        self.pool = pool
        self.cache = cache or CapabilityCache(pool.target, pool.config.capability_ttl)
        pool.on_rebuild.append(self.cache.clear)

    # ---- plumbing ----------------------------------------------------------------------------
    def _stub(self, factory: Callable[[grpc.aio.Channel], T], cls: WorkloadClass) -> T:
        return factory(self.pool.channel(cls))

    async def _unary(
        self, service: str, what: str, call: Callable[..., Awaitable[T]], request: Any
    ) -> T:
        self.cache.check(service)
        rpc = what.split()[0]  # "System.Time", "File.Stat" ...: bounded, never a path
        started = time.monotonic()
        try:
            answer = await call(request, timeout=self.pool.config.unary_timeout, metadata=self.pool.metadata())
        except grpc.RpcError as e:
            code = e.code() if hasattr(e, "code") else None
            _observe(rpc, code.name if code is not None else "UNKNOWN", started)
            raise self._error(e, service, what) from e
        _observe(rpc, "OK", started)
        return answer

    def _error(self, e: grpc.RpcError, service: str, what: str, *, cache: bool = True) -> Exception:
        code = e.code() if hasattr(e, "code") else None
        if code == grpc.StatusCode.UNIMPLEMENTED and cache:
            detail = str(e.details() or "") if hasattr(e, "details") else ""
            self.cache.mark_unsupported(service, detail)
            log.info("gnoi service unsupported target=%s service=%s", self.pool.target, service)
            return ServiceUnsupported(service, self.pool.target, detail)
        return map_rpc_error(e, what, self.pool.target)

    # ---- System ------------------------------------------------------------------------------
    async def time(self) -> int:
        """The device clock, ns since the epoch."""
        stub = self._stub(system_grpc.SystemStub, WorkloadClass.CONTROL)
        resp = await self._unary("system", "System.Time", stub.Time, system_pb2.TimeRequest())
        return int(resp.time)

    async def ping(
        self,
        destination: str,
        *,
        count: int = 5,
        interval_ns: int = 1_000_000_000,
        wait_ns: int = 2_000_000_000,
        size: int = 0,
        source: str = "",
        do_not_resolve: bool = True,
    ) -> PingResult:
        if not destination:
            raise InvalidInput("ping needs a destination")
        if not 1 <= count <= 1000:
            raise InvalidInput(f"ping count {count} is out of range 1..1000 (cisco-vk never floods)")
        if interval_ns < 0 or wait_ns < 0:
            raise InvalidInput("ping interval and wait must not be negative")
        req = system_pb2.PingRequest(
            destination=destination, source=source, count=count, interval=interval_ns, wait=wait_ns, size=size,
            do_not_resolve=do_not_resolve,
        )
        timeout = count * (interval_ns + wait_ns) / 1e9 + 30
        packets: list[Any] = []
        summary: Any = None
        async for msg in self._stream("system", f"System.Ping {destination}", system_grpc.SystemStub, "Ping", req,
                                      timeout, WorkloadClass.CONTROL):
            if msg.sent:
                summary = msg
            elif msg.bytes:
                packets.append(msg)
        if summary is None:
            summary = system_pb2.PingResponse(sent=count, received=len(packets))
        return PingResult(packets, summary)

    async def traceroute(
        self, destination: str, *, max_ttl: int = 30, wait_ns: int = 2_000_000_000, l4protocol: str = "ICMP"
    ) -> list[Any]:
        if not destination:
            raise InvalidInput("traceroute needs a destination")
        proto = system_pb2.TracerouteRequest.L4Protocol.Value(l4protocol.upper())
        req = system_pb2.TracerouteRequest(
            destination=destination, initial_ttl=1, max_ttl=max_ttl, wait=wait_ns, l4protocol=proto,
            do_not_resolve=True,
        )
        timeout = max_ttl * 3 * wait_ns / 1e9 + 30
        # UNIMPLEMENTED for a non-default option is about the option, not the service: not cached.
        return [
            m
            async for m in self._stream("system", f"System.Traceroute {destination}", system_grpc.SystemStub,
                                        "Traceroute", req, timeout, WorkloadClass.CONTROL,
                                        cache_unimplemented=proto == 0)
        ]

    async def reboot(self, method: str = "COLD", *, delay_ns: int = 0, message: str = "", force: bool = False) -> None:
        value = system_pb2.RebootMethod.Value(method.upper())
        if value == system_pb2.UNKNOWN:
            raise InvalidInput("reboot method UNKNOWN is invalid; use COLD")
        stub = self._stub(system_grpc.SystemStub, WorkloadClass.CONTROL)
        req = system_pb2.RebootRequest(method=value, delay=delay_ns, message=message, force=force)
        await self._unary("system", "System.Reboot", stub.Reboot, req)

    async def reboot_status(self) -> Any:
        stub = self._stub(system_grpc.SystemStub, WorkloadClass.CONTROL)
        return await self._unary("system", "System.RebootStatus", stub.RebootStatus,
                                 system_pb2.RebootStatusRequest())

    async def cancel_reboot(self, message: str = "") -> None:
        stub = self._stub(system_grpc.SystemStub, WorkloadClass.CONTROL)
        await self._unary("system", "System.CancelReboot", stub.CancelReboot,
                          system_pb2.CancelRebootRequest(message=message))

    async def kill_process(self, *, pid: int = 0, name: str = "", signal: str = "TERM", restart: bool = False) -> None:
        if not pid and not name:
            raise InvalidInput("kill process needs a pid or a name")
        sig = system_pb2.KillProcessRequest.Signal.Value(f"SIGNAL_{signal.upper()}")
        stub = self._stub(system_grpc.SystemStub, WorkloadClass.CONTROL)
        req = system_pb2.KillProcessRequest(pid=pid, name=name, signal=sig, restart=restart)
        await self._unary("system", "System.KillProcess", stub.KillProcess, req)

    # ---- File --------------------------------------------------------------------------------
    async def file_get(self, path: str, *, max_bytes: int = DEFAULT_GET_LIMIT) -> FileContent:
        """Read a device file; stop at ``max_bytes`` (then ``truncated`` and no hash verdict)."""
        validate_path(path)
        if max_bytes <= 0:
            raise InvalidInput("max_bytes must be positive")
        self.cache.check("file")
        stub = self._stub(file_grpc.FileStub, WorkloadClass.BULK)
        call = stub.Get(file_pb2.GetRequest(remote_file=path), timeout=self.pool.config.transfer_timeout,
                        metadata=self.pool.metadata())
        data = bytearray()
        remote_hash: Any = None
        truncated = False
        try:
            async for msg in call:
                if msg.HasField("contents"):
                    data += msg.contents
                    if len(data) > max_bytes:
                        del data[max_bytes:]
                        truncated = True
                        call.cancel()
                        break
                elif msg.HasField("hash"):
                    remote_hash = msg.hash
        except grpc.RpcError as e:
            if not truncated:
                raise self._error(e, "file", f"File.Get {path}") from e
        if truncated:
            return FileContent(bytes(data), True, False)
        if remote_hash is None:
            raise FileHashMismatch(f"File.Get {path} on {self.pool.target}: the device sent no hash")
        algo = _HASHES.get(remote_hash.method)
        if algo is None:
            raise FileHashMismatch(f"File.Get {path}: unsupported hash method {remote_hash.method}")
        if algo(bytes(data)).digest() != remote_hash.hash:
            raise FileHashMismatch(f"File.Get {path} on {self.pool.target}: content does not match the device's hash")
        return FileContent(bytes(data), False, True)

    async def file_put(
        self, path: str, data: bytes | Iterable[bytes] | AsyncIterator[bytes], *, permissions: int = 0o644
    ) -> int:
        """Write a device file (open, 64 KiB chunks, SHA-256); returns the bytes sent."""
        validate_path(path, write=True)
        if not 0 <= permissions <= 0o7777:
            raise InvalidInput(f"permissions {permissions:o} are not a file mode")
        self.cache.check("file")
        sent = 0
        digest = hashlib.sha256()

        async def requests() -> AsyncIterator[Any]:
            nonlocal sent
            yield file_pb2.PutRequest(open=file_pb2.PutRequest.Details(remote_file=path, permissions=permissions))
            async for block in _blocks(data):
                for i in range(0, len(block), CHUNK):
                    piece = block[i : i + CHUNK]
                    digest.update(piece)
                    sent += len(piece)
                    yield file_pb2.PutRequest(contents=piece)
            yield file_pb2.PutRequest(hash=types_pb2.HashType(method=types_pb2.HashType.SHA256, hash=digest.digest()))

        stub = self._stub(file_grpc.FileStub, WorkloadClass.BULK)
        try:
            await stub.Put(requests(), timeout=self.pool.config.transfer_timeout, metadata=self.pool.metadata())
        except grpc.RpcError as e:
            raise self._error(e, "file", f"File.Put {path}") from e
        return sent

    async def file_stat(self, path: str) -> list[Any]:
        validate_path(path)
        stub = self._stub(file_grpc.FileStub, WorkloadClass.CONTROL)
        resp = await self._unary("file", f"File.Stat {path}", stub.Stat, file_pb2.StatRequest(path=path))
        return list(resp.stats)

    async def file_remove(self, path: str) -> None:
        validate_path(path, write=True)
        stub = self._stub(file_grpc.FileStub, WorkloadClass.CONTROL)
        await self._unary("file", f"File.Remove {path}", stub.Remove, file_pb2.RemoveRequest(remote_file=path))

    # ---- OS ----------------------------------------------------------------------------------
    async def os_install(
        self, version: str, package: bytes | Iterable[bytes] | AsyncIterator[bytes] | None, *, package_size: int = 0,
        chunk: int = 1024 * 1024,
    ) -> Any:
        """Install an OS package; returns the ``Validated`` message or raises with the InstallError."""
        self.cache.check("os")
        stub = self._stub(os_grpc.OSStub, WorkloadClass.BULK)
        call = stub.Install(timeout=self.pool.config.transfer_timeout, metadata=self.pool.metadata())
        try:
            await call.write(os_pb2.InstallRequest(transfer_request=os_pb2.TransferRequest(
                version=version, package_size=package_size)))
            first = await call.read()
            if first is grpc.aio.EOF:
                raise InvalidInput(f"OS.Install {version}: the device closed the stream without an answer")
            if first.HasField("validated"):
                await call.done_writing()
                return first.validated
            if first.HasField("install_error"):
                raise _install_error(first.install_error, version)
            if not first.HasField("transfer_ready"):
                raise InvalidInput(f"OS.Install {version}: unexpected answer {first.WhichOneof('response')}")
            if package is None:
                raise InvalidInput(f"OS.Install {version}: the device needs the package but none was given")
            async for block in _blocks(package):
                for i in range(0, len(block), chunk):
                    await call.write(os_pb2.InstallRequest(transfer_content=block[i : i + chunk]))
            await call.write(os_pb2.InstallRequest(transfer_end=os_pb2.TransferEnd()))
            await call.done_writing()
            while True:
                msg = await call.read()
                if msg is grpc.aio.EOF:
                    raise InvalidInput(f"OS.Install {version}: the stream ended without Validated")
                if msg.HasField("validated"):
                    return msg.validated
                if msg.HasField("install_error"):
                    raise _install_error(msg.install_error, version)
        except grpc.RpcError as e:
            raise self._error(e, "os", f"OS.Install {version}") from e

    async def os_activate(self, version: str, *, no_reboot: bool = False) -> None:
        if not version:
            raise InvalidInput("OS.Activate needs the exact validated version")
        stub = self._stub(os_grpc.OSStub, WorkloadClass.CONTROL)
        resp = await self._unary("os", f"OS.Activate {version}", stub.Activate,
                                 os_pb2.ActivateRequest(version=version, no_reboot=no_reboot))
        if resp.HasField("activate_error"):
            err = resp.activate_error
            kind = os_pb2.ActivateError.Type.Name(err.type)
            raise InvalidInput(f"OS.Activate {version} refused: {kind}: {err.detail}")

    async def os_verify(self) -> Any:
        stub = self._stub(os_grpc.OSStub, WorkloadClass.CONTROL)
        return await self._unary("os", "OS.Verify", stub.Verify, os_pb2.VerifyRequest())

    # ---- Certificate -------------------------------------------------------------------------
    async def get_certificates(self) -> list[Any]:
        stub = self._stub(cert_grpc.CertificateManagementStub, WorkloadClass.CONTROL)
        resp = await self._unary("cert", "Cert.GetCertificates", stub.GetCertificates,
                                 cert_pb2.GetCertificatesRequest())
        return list(resp.certificate_info)

    async def can_generate_csr(self, key_type: str = "KT_RSA", key_size: int = 2048) -> bool:
        if not 1024 <= key_size <= 8192:
            raise InvalidInput(f"key size {key_size} is out of range 1024..8192")
        stub = self._stub(cert_grpc.CertificateManagementStub, WorkloadClass.CONTROL)
        req = cert_pb2.CanGenerateCSRRequest(
            key_type=cert_pb2.KeyType.Value(key_type), certificate_type=cert_pb2.CT_X509, key_size=key_size
        )
        resp = await self._unary("cert", "Cert.CanGenerateCSR", stub.CanGenerateCSR, req)
        return bool(resp.can_generate)

    # ---- streams -----------------------------------------------------------------------------
    async def _stream(
        self, service: str, what: str, factory: Callable[[grpc.aio.Channel], Any], method: str, request: Any,
        deadline: float, cls: WorkloadClass, *, cache_unimplemented: bool = True,
    ) -> AsyncIterator[Any]:
        self.cache.check(service)
        stub = self._stub(factory, cls)
        call = getattr(stub, method)(request, timeout=deadline, metadata=self.pool.metadata())
        try:
            async for msg in call:
                yield msg
        except grpc.RpcError as e:
            raise self._error(e, service, what, cache=cache_unimplemented) from e


def _observe(rpc: str, code: str, started: float) -> None:
    DEVICE_REQUESTS.labels("gnoi", rpc, code).inc()
    DEVICE_SECONDS.labels("gnoi", rpc).observe(time.monotonic() - started)


def _install_error(err: Any, version: str) -> Exception:
    kind = os_pb2.InstallError.Type.Name(err.type)
    return InvalidInput(f"OS.Install {version} failed: {kind}: {err.detail}")


async def _blocks(data: bytes | Iterable[bytes] | AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
    elif hasattr(data, "__aiter__"):
        async for b in data:
            yield b
    else:
        for b in data:
            yield b
