"""gNMI and gNOI protobuf modules (generated from proto/ into ``cvk.grpcapi.gen``).

Import the generated modules from here so that callers do not depend on the generated layout::

    from cvk.grpcapi import file_pb2, file_grpc, system_pb2, system_grpc
"""

from cvk.grpcapi.gen.gnmi import gnmi_pb2
from cvk.grpcapi.gen.gnmi import gnmi_pb2_grpc as gnmi_grpc
from cvk.grpcapi.gen.gnmi_ext import gnmi_ext_pb2
from cvk.grpcapi.gen.gnoi.cert import cert_pb2
from cvk.grpcapi.gen.gnoi.cert import cert_pb2_grpc as cert_grpc
from cvk.grpcapi.gen.gnoi.common import common_pb2
from cvk.grpcapi.gen.gnoi.file import file_pb2
from cvk.grpcapi.gen.gnoi.file import file_pb2_grpc as file_grpc
from cvk.grpcapi.gen.gnoi.os import os_pb2
from cvk.grpcapi.gen.gnoi.os import os_pb2_grpc as os_grpc
from cvk.grpcapi.gen.gnoi.system import system_pb2
from cvk.grpcapi.gen.gnoi.system import system_pb2_grpc as system_grpc
from cvk.grpcapi.gen.gnoi.types import types_pb2

__all__ = [
    "cert_grpc",
    "cert_pb2",
    "common_pb2",
    "file_grpc",
    "file_pb2",
    "gnmi_ext_pb2",
    "gnmi_grpc",
    "gnmi_pb2",
    "os_grpc",
    "os_pb2",
    "system_grpc",
    "system_pb2",
    "types_pb2",
]
