"""The OpenAPI v2 document in its protobuf encoding (gnostic openapi_v2.Document), which kubectl
1.27 downloads to learn that the server validates fields itself (fieldValidation on PATCH).

Only what clients read is encoded: swagger, info, and for every path its operations with their
operationId, query parameters and x-kubernetes-group-version-kind extension. Field numbers follow
gnostic's OpenAPIv2.proto; the encoder is a minimal protobuf writer (varints and length-delimited
fields only).
"""

from __future__ import annotations

from typing import Any

# Field numbers (openapi.v2 package).
_DOC_SWAGGER, _DOC_INFO, _DOC_PATHS = 1, 2, 8
_INFO_TITLE, _INFO_VERSION = 1, 2
_PATHS_PATH = 2
_NAMED_NAME, _NAMED_VALUE = 1, 2
_PATHITEM_FIELDS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}
_OP_ID, _OP_PARAMETERS, _OP_RESPONSES, _OP_VENDOR_EXT = 5, 8, 9, 13
_PARAMITEM_PARAMETER = 1
_PARAM_NON_BODY = 2
_NONBODY_QUERY = 3
_QUERY_IN, _QUERY_NAME, _QUERY_TYPE, _QUERY_UNIQUE = 2, 4, 6, 20
_ANY_YAML = 2
_RESPONSES_CODE = 1
_RESPONSEVALUE_RESPONSE = 1
_RESPONSE_DESCRIPTION = 1


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode())


def _bool(field: int, value: bool) -> bytes:
    return _varint(field << 3) + _varint(1 if value else 0)


def _named(name: str, value: bytes) -> bytes:
    return _str(_NAMED_NAME, name) + _bytes(_NAMED_VALUE, value)


def _query_param(p: dict[str, Any]) -> bytes:
    typ = (p.get("schema") or {}).get("type", "string")
    sub = _str(_QUERY_IN, "query") + _str(_QUERY_NAME, p["name"]) + _str(_QUERY_TYPE, typ)
    if (p.get("schema") or {}).get("uniqueItems"):
        sub += _bool(_QUERY_UNIQUE, True)
    non_body = _bytes(_NONBODY_QUERY, sub)
    parameter = _bytes(_PARAM_NON_BODY, non_body)
    return _bytes(_PARAMITEM_PARAMETER, parameter)


def _gvk_yaml(gvk: dict[str, str]) -> str:
    return "".join(f"{k}: {gvk[k] if gvk[k] else chr(34) * 2}\n" for k in ("group", "kind", "version"))


def _operation(op: dict[str, Any]) -> bytes:
    out = _str(_OP_ID, op.get("operationId", ""))
    for p in op.get("parameters") or []:
        if p.get("in") == "query":
            out += _bytes(_OP_PARAMETERS, _query_param(p))
    response = _bytes(_RESPONSEVALUE_RESPONSE, _str(_RESPONSE_DESCRIPTION, "OK"))
    out += _bytes(_OP_RESPONSES, _bytes(_RESPONSES_CODE, _named("200", response)))
    gvk = op.get("x-kubernetes-group-version-kind")
    if gvk:
        out += _bytes(_OP_VENDOR_EXT, _named("x-kubernetes-group-version-kind", _str(_ANY_YAML, _gvk_yaml(gvk))))
    action = op.get("x-kubernetes-action")
    if action:
        out += _bytes(_OP_VENDOR_EXT, _named("x-kubernetes-action", _str(_ANY_YAML, f"{action}\n")))
    return out


def encode_document(doc: dict[str, Any]) -> bytes:
    """Encode a Swagger 2.0 dict (as built by openapi.v2_doc) as openapi_v2.Document bytes."""
    info = doc.get("info") or {}
    out = _str(_DOC_SWAGGER, doc.get("swagger", "2.0"))
    out += _bytes(_DOC_INFO, _str(_INFO_TITLE, info.get("title", "")) + _str(_INFO_VERSION, info.get("version", "")))
    paths = b""
    for path, ops in sorted((doc.get("paths") or {}).items()):
        item = b""
        for method, field in sorted(_PATHITEM_FIELDS.items(), key=lambda kv: kv[1]):
            if method in ops:
                item += _bytes(field, _operation(ops[method]))
        paths += _bytes(_PATHS_PATH, _named(path, item))
    out += _bytes(_DOC_PATHS, paths)
    return out
