# mypy: ignore-errors
from cvk.grpcapi.gen.gnoi.types import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CertificateType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CT_UNKNOWN: _ClassVar[CertificateType]
    CT_X509: _ClassVar[CertificateType]

class KeyType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KT_UNKNOWN: _ClassVar[KeyType]
    KT_RSA: _ClassVar[KeyType]
CT_UNKNOWN: CertificateType
CT_X509: CertificateType
KT_UNKNOWN: KeyType
KT_RSA: KeyType

class GetCertificatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCertificatesResponse(_message.Message):
    __slots__ = ("certificate_info",)
    CERTIFICATE_INFO_FIELD_NUMBER: _ClassVar[int]
    certificate_info: _containers.RepeatedCompositeFieldContainer[CertificateInfo]
    def __init__(self, certificate_info: _Optional[_Iterable[_Union[CertificateInfo, _Mapping]]] = ...) -> None: ...

class CertificateInfo(_message.Message):
    __slots__ = ("certificate_id", "certificate", "endpoints", "modification_time")
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    MODIFICATION_TIME_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    certificate: Certificate
    endpoints: _containers.RepeatedCompositeFieldContainer[Endpoint]
    modification_time: int
    def __init__(self, certificate_id: _Optional[str] = ..., certificate: _Optional[_Union[Certificate, _Mapping]] = ..., endpoints: _Optional[_Iterable[_Union[Endpoint, _Mapping]]] = ..., modification_time: _Optional[int] = ...) -> None: ...

class CanGenerateCSRRequest(_message.Message):
    __slots__ = ("key_type", "certificate_type", "key_size")
    KEY_TYPE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    KEY_SIZE_FIELD_NUMBER: _ClassVar[int]
    key_type: KeyType
    certificate_type: CertificateType
    key_size: int
    def __init__(self, key_type: _Optional[_Union[KeyType, str]] = ..., certificate_type: _Optional[_Union[CertificateType, str]] = ..., key_size: _Optional[int] = ...) -> None: ...

class CanGenerateCSRResponse(_message.Message):
    __slots__ = ("can_generate",)
    CAN_GENERATE_FIELD_NUMBER: _ClassVar[int]
    can_generate: bool
    def __init__(self, can_generate: _Optional[bool] = ...) -> None: ...

class Certificate(_message.Message):
    __slots__ = ("type", "certificate")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    type: CertificateType
    certificate: bytes
    def __init__(self, type: _Optional[_Union[CertificateType, str]] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("type", "endpoint")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        EP_UNSPECIFIED: _ClassVar[Endpoint.Type]
        EP_IPSEC_TUNNEL: _ClassVar[Endpoint.Type]
        EP_DAEMON: _ClassVar[Endpoint.Type]
    EP_UNSPECIFIED: Endpoint.Type
    EP_IPSEC_TUNNEL: Endpoint.Type
    EP_DAEMON: Endpoint.Type
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    type: Endpoint.Type
    endpoint: str
    def __init__(self, type: _Optional[_Union[Endpoint.Type, str]] = ..., endpoint: _Optional[str] = ...) -> None: ...
