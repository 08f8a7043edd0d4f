"""Simulated gNOI File service: Get (64 KiB chunks + SHA-256), Put (temp until the hash checks), Stat, Remove."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import grpc
import grpc.aio

from cvk.grpcapi import file_grpc, file_pb2, types_pb2
from hack.iosxe_sim import filesystem
from hack.iosxe_sim.grpc_server import Gnxi

SERVICE = "/gnoi.file.File/"
CHUNK = 64 * 1024
_HASHES = {types_pb2.HashType.SHA256: hashlib.sha256, types_pb2.HashType.SHA512: hashlib.sha512,
           types_pb2.HashType.MD5: hashlib.md5}


async def _abort(context: grpc.aio.ServicerContext, err: filesystem.PathError) -> None:
    await context.abort(getattr(grpc.StatusCode, err.code), str(err))


class FileService(file_grpc.FileServicer):  # type: ignore[misc]
    def __init__(self, gnxi: Gnxi) -> None:
        self.gnxi = gnxi

    async def Get(
        self, request: file_pb2.GetRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[file_pb2.GetResponse]:
        await self.gnxi.admit(context, "file", SERVICE + "Get")
        try:
            data = filesystem.read(self.gnxi.state, request.remote_file)
        except filesystem.PathError as e:
            await _abort(context, e)
            return
        for i in range(0, len(data), CHUNK):
            yield file_pb2.GetResponse(contents=data[i : i + CHUNK])
        yield file_pb2.GetResponse(
            hash=types_pb2.HashType(method=types_pb2.HashType.SHA256, hash=hashlib.sha256(data).digest())
        )

    async def Put(
        self, request_iterator: AsyncIterator[file_pb2.PutRequest], context: grpc.aio.ServicerContext
    ) -> file_pb2.PutResponse:
        await self.gnxi.admit(context, "file", SERVICE + "Put")
        path = ""
        mode = 0o644
        buf = bytearray()  # the "temporary file": nothing lands on the device before the hash checks
        sha256 = hashlib.sha256()  # hashed as it arrives, like a device writing to flash
        async for req in request_iterator:
            kind = req.WhichOneof("request")
            if kind == "open":
                if path:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "open sent twice")
                path = req.open.remote_file
                try:
                    filesystem.key(path, write=True)
                    mode = filesystem.mode_from_put(req.open.permissions or 0o644)
                except filesystem.PathError as e:
                    await _abort(context, e)
            elif kind == "contents":
                if not path:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be open")
                buf += req.contents
                sha256.update(req.contents)
            elif kind == "hash":
                algo = _HASHES.get(req.hash.method)
                if algo is None:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unsupported hash method")
                    return file_pb2.PutResponse()
                digest = sha256.digest() if algo is hashlib.sha256 else algo(bytes(buf)).digest()
                if digest != req.hash.hash:
                    await context.abort(grpc.StatusCode.DATA_LOSS, f"{path}: hash mismatch, file discarded")
                try:
                    filesystem.write(self.gnxi.state, path, bytes(buf), mode)
                except filesystem.PathError as e:
                    await _abort(context, e)
                return file_pb2.PutResponse()
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{path or 'Put'}: no hash received, file discarded")
        return file_pb2.PutResponse()

    async def Stat(
        self, request: file_pb2.StatRequest, context: grpc.aio.ServicerContext
    ) -> file_pb2.StatResponse:
        await self.gnxi.admit(context, "file", SERVICE + "Stat")
        try:
            entries = filesystem.stat(self.gnxi.state, request.path)
        except filesystem.PathError as e:
            await _abort(context, e)
            return file_pb2.StatResponse()
        return file_pb2.StatResponse(
            stats=[
                file_pb2.StatInfo(
                    path=p, last_modified=mtime, permissions=filesystem.octal_digits(mode), size=size,
                    umask=filesystem.octal_digits(filesystem.UMASK),
                )
                for p, mtime, mode, size in entries
            ]
        )

    async def Remove(
        self, request: file_pb2.RemoveRequest, context: grpc.aio.ServicerContext
    ) -> file_pb2.RemoveResponse:
        await self.gnxi.admit(context, "file", SERVICE + "Remove")
        try:
            filesystem.remove(self.gnxi.state, request.remote_file)
        except filesystem.PathError as e:
            await _abort(context, e)
        return file_pb2.RemoveResponse()

    async def TransferToRemote(
        self, request: file_pb2.TransferToRemoteRequest, context: grpc.aio.ServicerContext
    ) -> file_pb2.TransferToRemoteResponse:
        await self.gnxi.admit(context, "file", SERVICE + "TransferToRemote")
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "TransferToRemote is not supported")
        return file_pb2.TransferToRemoteResponse()
