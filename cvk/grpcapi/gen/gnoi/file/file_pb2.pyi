# mypy: ignore-errors
from cvk.grpcapi.gen.gnoi.common import common_pb2 as _common_pb2
from cvk.grpcapi.gen.gnoi.types import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PutRequest(_message.Message):
    __slots__ = ("open", "contents", "hash")
    class Details(_message.Message):
        __slots__ = ("remote_file", "permissions")
        REMOTE_FILE_FIELD_NUMBER: _ClassVar[int]
        PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
        remote_file: str
        permissions: int
        def __init__(self, remote_file: _Optional[str] = ..., permissions: _Optional[int] = ...) -> None: ...
    OPEN_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    open: PutRequest.Details
    contents: bytes
    hash: _types_pb2.HashType
    def __init__(self, open: _Optional[_Union[PutRequest.Details, _Mapping]] = ..., contents: _Optional[bytes] = ..., hash: _Optional[_Union[_types_pb2.HashType, _Mapping]] = ...) -> None: ...

class PutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("remote_file",)
    REMOTE_FILE_FIELD_NUMBER: _ClassVar[int]
    remote_file: str
    def __init__(self, remote_file: _Optional[str] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("contents", "hash")
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    contents: bytes
    hash: _types_pb2.HashType
    def __init__(self, contents: _Optional[bytes] = ..., hash: _Optional[_Union[_types_pb2.HashType, _Mapping]] = ...) -> None: ...

class TransferToRemoteRequest(_message.Message):
    __slots__ = ("local_path", "remote_download")
    LOCAL_PATH_FIELD_NUMBER: _ClassVar[int]
    REMOTE_DOWNLOAD_FIELD_NUMBER: _ClassVar[int]
    local_path: str
    remote_download: _common_pb2.RemoteDownload
    def __init__(self, local_path: _Optional[str] = ..., remote_download: _Optional[_Union[_common_pb2.RemoteDownload, _Mapping]] = ...) -> None: ...

class TransferToRemoteResponse(_message.Message):
    __slots__ = ("hash",)
    HASH_FIELD_NUMBER: _ClassVar[int]
    hash: _types_pb2.HashType
    def __init__(self, hash: _Optional[_Union[_types_pb2.HashType, _Mapping]] = ...) -> None: ...

class StatRequest(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class StatResponse(_message.Message):
    __slots__ = ("stats",)
    STATS_FIELD_NUMBER: _ClassVar[int]
    stats: _containers.RepeatedCompositeFieldContainer[StatInfo]
    def __init__(self, stats: _Optional[_Iterable[_Union[StatInfo, _Mapping]]] = ...) -> None: ...

class StatInfo(_message.Message):
    __slots__ = ("path", "last_modified", "permissions", "size", "umask")
    PATH_FIELD_NUMBER: _ClassVar[int]
    LAST_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    UMASK_FIELD_NUMBER: _ClassVar[int]
    path: str
    last_modified: int
    permissions: int
    size: int
    umask: int
    def __init__(self, path: _Optional[str] = ..., last_modified: _Optional[int] = ..., permissions: _Optional[int] = ..., size: _Optional[int] = ..., umask: _Optional[int] = ...) -> None: ...

class RemoveRequest(_message.Message):
    __slots__ = ("remote_file",)
    REMOTE_FILE_FIELD_NUMBER: _ClassVar[int]
    remote_file: str
    def __init__(self, remote_file: _Optional[str] = ...) -> None: ...

class RemoveResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
