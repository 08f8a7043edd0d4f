"""CRD structural schema: pruning, defaulting, validation wording, CEL rules (x-kubernetes-validations)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hack.kubeapi.schema import FieldError, check_rules, go_float, validate_and_default

INTERFACE = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["VirtualPortGroup", "AppGigabitEthernet"]},
        "virtualPortGroup": {
            "type": "object",
            "properties": {
                "dhcp": {"type": "boolean", "default": True},
                "interface": {"type": "string", "pattern": "^[0-9]{1,3}$", "default": "0"},
            },
        },
        "appGigabitEthernet": {
            "type": "object",
            "required": ["mode"],
            "properties": {
                "mode": {"type": "string", "enum": ["access", "trunk"]},
                "vlan": {"type": "integer", "minimum": 0, "maximum": 4094, "default": 0},
            },
        },
    },
    "x-kubernetes-validations": [
        {
            "rule": "has(self.virtualPortGroup) ? self.type == 'VirtualPortGroup' : true",
            "message": "virtualPortGroup requires type VirtualPortGroup",
        },
        {
            "rule": "[has(self.virtualPortGroup), has(self.appGigabitEthernet)].filter(x, x).size() <= 1",
            "message": "set at most one interface block",
        },
    ],
}

DEVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["driver", "address", "username"],
            "properties": {
                "driver": {"type": "string", "enum": ["XE", "FAKE", "XR", "NXOS", "OPENCONFIG"]},
                "address": {"type": "string", "minLength": 1, "maxLength": 253},
                "username": {"type": "string", "maxLength": 8},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "nodeName": {"type": "string"},
                "maxPods": {"type": "integer", "format": "int32", "default": 16},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "multipleOf": 0.5},
                "logLevel": {"type": "string", "enum": ["debug", "info"], "default": "info"},
                "tls": {
                    "type": "object",
                    "properties": {
                        "enabled": {"type": "boolean", "default": False},
                        "certFile": {"type": "string"},
                        "keyFile": {"type": "string"},
                    },
                    "x-kubernetes-validations": [
                        {
                            "rule": "has(self.certFile) == has(self.keyFile)",
                            "message": "certFile and keyFile must be set together",
                        },
                    ],
                },
                "labels": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "maxLength": 5},
                    "maxProperties": 3,
                },
                "taints": {
                    "type": "array",
                    "maxItems": 2,
                    "items": {
                        "type": "object",
                        "required": ["key", "effect"],
                        "properties": {
                            "key": {"type": "string"},
                            "effect": {"type": "string", "enum": ["NoSchedule", "NoExecute"]},
                            "value": {"type": "string"},
                        },
                    },
                },
                "limit": {"x-kubernetes-int-or-string": True},
                "extra": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "object", "properties": {"a": {"type": "integer"}}}},
                },
                "nullableNote": {"type": "string", "nullable": True},
                "xe": {
                    "type": "object",
                    "properties": {"networking": {"type": "object", "properties": {"interface": INTERFACE}}},
                },
            },
            "x-kubernetes-validations": [
                {
                    "rule": "!(self.driver in ['XR','NXOS','OPENCONFIG'])",
                    "message": "driver is reserved and not implemented; use XE or FAKE",
                    "fieldPath": ".driver",
                },
                {
                    "rule": "!has(oldSelf.nodeName) || (has(self.nodeName) && self.nodeName == oldSelf.nodeName)",
                    "message": "nodeName is immutable",
                    "fieldPath": ".nodeName",
                },
            ],
        },
        "status": {
            "type": "object",
            "properties": {
                "phase": {"type": "string"},
                "conditions": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    "items": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string"},
                            "status": {"type": "string"},
                            "lastTransitionTime": {"type": "string", "format": "date-time"},
                        },
                    },
                },
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            },
        },
    },
}


def _device(**spec: Any) -> dict[str, Any]:
    base = {"driver": "XE", "address": "10.0.0.1", "username": "admin"}
    base.update(spec)
    return {
        "apiVersion": "cisco.vk/v1alpha1",
        "kind": "CiscoDevice",
        "metadata": {"name": "sw1", "namespace": "default", "labels": {"x": "y"}},
        "spec": base,
    }


def _lines(errors: list[FieldError]) -> list[str]:
    return [str(e) for e in errors]


def test_valid_object_is_defaulted_and_unchanged_otherwise() -> None:
    obj = _device(tls={}, xe={"networking": {"interface": {"type": "VirtualPortGroup", "virtualPortGroup": {}}}})
    before = copy.deepcopy(obj)
    out, errors = validate_and_default(obj, DEVICE_SCHEMA)
    assert errors == []
    assert obj == before
    assert out["spec"]["maxPods"] == 16
    assert out["spec"]["logLevel"] == "info"
    assert out["spec"]["tls"] == {"enabled": False}  # defaults inside an object that is present
    assert out["spec"]["xe"]["networking"]["interface"]["virtualPortGroup"] == {"dhcp": True, "interface": "0"}
    assert "status" not in out  # absent objects get no defaults
    assert out["metadata"] == before["metadata"]
    assert out["apiVersion"] == "cisco.vk/v1alpha1"


def test_defaults_inside_defaults_and_list_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "default": {}, "properties": {"b": {"type": "integer", "default": 3}}},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"c": {"type": "string", "default": "z"}}},
            },
            "m": {
                "type": "object",
                "additionalProperties": {"type": "object", "properties": {"d": {"type": "boolean", "default": True}}},
            },
        },
    }
    out, errors = validate_and_default({"items": [{}, {"c": "y"}], "m": {"k": {}}}, schema)
    assert errors == []
    assert out == {"a": {"b": 3}, "items": [{"c": "z"}, {"c": "y"}], "m": {"k": {"d": True}}}


def test_pruning() -> None:
    obj = _device(
        junk=1,
        tls={"enabled": True, "other": "x"},
        extra={"anything": {"goes": [1]}, "known": {"a": 1, "dropped": 2}},
        labels={"site": "lab"},
    )
    obj["topLevelJunk"] = True
    out, errors = validate_and_default(obj, DEVICE_SCHEMA)
    assert errors == []
    assert "junk" not in out["spec"]
    assert "topLevelJunk" not in out
    assert out["spec"]["tls"] == {"enabled": True}
    assert out["spec"]["extra"] == {"anything": {"goes": [1]}, "known": {"a": 1}}
    assert out["spec"]["labels"] == {"site": "lab"}


def test_embedded_resource_keeps_type_and_metadata() -> None:
    schema = {
        "type": "object",
        "properties": {
            "template": {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
            }
        },
    }
    obj = {
        "template": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"a": "x", "b": 1},
            "junk": 1,
        }
    }
    out, errors = validate_and_default(obj, schema)
    assert errors == []
    assert out == {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"a": "x"}}}


def test_null_handling() -> None:
    out, errors = validate_and_default(_device(port=None, logLevel=None, nullableNote=None), DEVICE_SCHEMA)
    assert errors == []
    assert "port" not in out["spec"]  # non-nullable null without default: pruned
    assert out["spec"]["logLevel"] == "info"  # non-nullable null with default: defaulted
    assert out["spec"]["nullableNote"] is None  # nullable: kept


ENUM_MSG = 'Unsupported value: "BAD": supported values: "XE", "FAKE", "XR", "NXOS", "OPENCONFIG"'

ERROR_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"driver": "BAD"}, f"spec.driver: {ENUM_MSG}", "FieldValueNotSupported"),
    (
        {"port": 70000},
        "spec.port: Invalid value: 70000: spec.port in body should be less than or equal to 65535",
        "FieldValueInvalid",
    ),
    (
        {"port": 0},
        "spec.port: Invalid value: 0: spec.port in body should be greater than or equal to 1",
        "FieldValueInvalid",
    ),
    (
        {"port": "string"},
        'spec.port: Invalid value: "string": spec.port in body must be of type integer: "string"',
        "FieldValueTypeInvalid",
    ),
    (
        {"port": 1.5},
        'spec.port: Invalid value: "number": spec.port in body must be of type integer: "number"',
        "FieldValueTypeInvalid",
    ),
    (
        {"port": True},
        'spec.port: Invalid value: "boolean": spec.port in body must be of type integer: "boolean"',
        "FieldValueTypeInvalid",
    ),
    (
        {"address": ""},
        'spec.address: Invalid value: "": spec.address in body should be at least 1 chars long',
        "FieldValueInvalid",
    ),
    ({"username": "administrator"}, "spec.username: Too long: may not be longer than 8", "FieldValueTooLong"),
    (
        {"maxPods": 2**31},
        'spec.maxPods: Invalid value: 2147483648: spec.maxPods in body must be of type int32: "2147483648"',
        "FieldValueInvalid",
    ),
    ({"ratio": 0}, "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0", "FieldValueInvalid"),
    (
        {"ratio": 0.75},
        "spec.ratio: Invalid value: 0.75: spec.ratio in body should be a multiple of 0.5",
        "FieldValueInvalid",
    ),
    (
        {"labels": {"a": "1", "b": "2", "c": "3", "d": "4"}},
        "spec.labels: Too many: 4: must have at most 3 items",
        "FieldValueTooMany",
    ),
    ({"labels": {"a": "toolong"}}, "spec.labels.a: Too long: may not be longer than 5", "FieldValueTooLong"),
    (
        {"labels": {"a": 1}},
        'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
        "FieldValueTypeInvalid",
    ),
    (
        {"taints": [{"key": "a", "effect": "NoSchedule"}] * 3},
        "spec.taints: Too many: 3: must have at most 2 items",
        "FieldValueTooMany",
    ),
    ({"taints": [{"key": "a"}]}, "spec.taints[0].effect: Required value", "FieldValueRequired"),
    (
        {"taints": [{"key": "a", "effect": "Nope"}]},
        'spec.taints[0].effect: Unsupported value: "Nope": supported values: "NoSchedule", "NoExecute"',
        "FieldValueNotSupported",
    ),
    (
        {"taints": "a"},
        'spec.taints: Invalid value: "string": spec.taints in body must be of type array: "string"',
        "FieldValueTypeInvalid",
    ),
    (
        {"tls": []},
        'spec.tls: Invalid value: "array": spec.tls in body must be of type object: "array"',
        "FieldValueTypeInvalid",
    ),
    (
        {"limit": True},
        'spec.limit: Invalid value: "boolean": spec.limit in body must be of type integer,string: "boolean"',
        "FieldValueTypeInvalid",
    ),
    (
        {"xe": {"networking": {"interface": {"type": "VirtualPortGroup", "virtualPortGroup": {"interface": "x"}}}}},
        'spec.xe.networking.interface.virtualPortGroup.interface: Invalid value: "x": '
        "spec.xe.networking.interface.virtualPortGroup.interface in body should match '^[0-9]{1,3}$'",
        "FieldValueInvalid",
    ),
]


@pytest.mark.parametrize(("spec", "line", "reason"), ERROR_CASES)
def test_validation_errors(spec: dict[str, Any], line: str, reason: str) -> None:
    _, errors = validate_and_default(_device(**spec), DEVICE_SCHEMA)
    assert line in _lines(errors)
    err = next(e for e in errors if str(e) == line)
    assert err.type == reason
    assert str(err) == f"{err.field}: {err.message}"


def test_required_fields() -> None:
    obj = _device()
    del obj["spec"]["address"]
    del obj["spec"]["username"]
    _, errors = validate_and_default(obj, DEVICE_SCHEMA)
    assert [(e.field, e.type, e.message) for e in errors] == [
        ("spec.address", "FieldValueRequired", "Required value"),
        ("spec.username", "FieldValueRequired", "Required value"),
    ]
    _, errors = validate_and_default({"apiVersion": "v", "kind": "K", "metadata": {}}, DEVICE_SCHEMA)
    assert _lines(errors) == ["spec: Required value"]


def test_int_or_string_accepts_both() -> None:
    for value in (5, "50%", 2.0):
        _, errors = validate_and_default(_device(limit=value), DEVICE_SCHEMA)
        assert errors == []


def test_integer_accepts_integral_float_and_number_accepts_int() -> None:
    _, errors = validate_and_default(_device(port=443.0, ratio=1), DEVICE_SCHEMA)
    assert errors == []


FORMATS = [
    ("date-time", "2026-01-02T03:04:05Z", True),
    ("date-time", "2026-01-02T03:04:05.123+02:00", True),
    ("date-time", "yesterday", False),
    ("date", "2026-01-02", True),
    ("date", "2026-13-02", False),
    ("ipv4", "10.0.0.1", True),
    ("ipv4", "10.0.0.256", False),
    ("ipv6", "fe80::1", True),
    ("cidr", "10.0.0.0/24", True),
    ("cidr", "10.0.0.0", False),
    ("uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", True),
    ("uuid", "not-a-uuid", False),
    ("byte", "aGVsbG8=", True),
    ("byte", "***", False),
    ("mac", "00:11:22:33:44:55", True),
    ("unknown-format", "anything", True),
]


@pytest.mark.parametrize(("fmt", "value", "ok"), FORMATS)
def test_formats(fmt: str, value: str, ok: bool) -> None:
    schema = {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}}
    _, errors = validate_and_default({"v": value}, schema)
    if ok:
        assert errors == []
    else:
        assert _lines(errors)[0] == f'v: Invalid value: "{value}": v in body must be of type {fmt}: "{value}"'


def test_list_type_set_and_map_uniqueness() -> None:
    obj = _device()
    obj["status"] = {
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "Ready", "status": "False"}],
        "tags": ["a", "b", "a"],
    }
    _, errors = validate_and_default(obj, DEVICE_SCHEMA)
    assert _lines(errors) == [
        'status.conditions[1]: Duplicate value: map[string]interface {}{"type":"Ready"}',
        'status.tags[2]: Duplicate value: "a"',
    ]
    assert {e.type for e in errors} == {"FieldValueDuplicate"}


def test_composition_keywords() -> None:
    schema = {
        "type": "object",
        "properties": {"v": {"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 0}], "not": {"enum": [20]}}},
    }
    assert validate_and_default({"v": 11}, schema)[1] == []
    assert validate_and_default({"v": -1}, schema)[1] == []
    assert _lines(validate_and_default({"v": 5}, schema)[1]) == [
        'v: Invalid value: "": v must validate at least one schema (anyOf)'
    ]
    assert _lines(validate_and_default({"v": 20}, schema)[1]) == [
        'v: Invalid value: "": v must not validate the schema (not)'
    ]


# ---- x-kubernetes-validations -------------------------------------------------------------------

IFACE = "spec.xe.networking.interface"


def _iface(**interface: Any) -> dict[str, Any]:
    return _device(xe={"networking": {"interface": interface}})


RULE_CASES: list[tuple[dict[str, Any], list[str]]] = [
    (_iface(type="VirtualPortGroup", virtualPortGroup={}), []),
    (_iface(type="AppGigabitEthernet", appGigabitEthernet={"mode": "access"}), []),
    (
        _iface(type="AppGigabitEthernet", virtualPortGroup={}),
        [f'{IFACE}: Invalid value: "object": virtualPortGroup requires type VirtualPortGroup'],
    ),
    (
        _iface(type="VirtualPortGroup", virtualPortGroup={}, appGigabitEthernet={"mode": "trunk"}),
        [f'{IFACE}: Invalid value: "object": set at most one interface block'],
    ),
    (
        _device(driver="XR"),
        ['spec.driver: Invalid value: "object": driver is reserved and not implemented; use XE or FAKE'],
    ),
    (
        _device(driver="NXOS", tls={"certFile": "/c"}),
        [
            'spec.driver: Invalid value: "object": driver is reserved and not implemented; use XE or FAKE',
            'spec.tls: Invalid value: "object": certFile and keyFile must be set together',
        ],
    ),
    (_device(tls={"certFile": "/c", "keyFile": "/k"}), []),
]


@pytest.mark.parametrize(("obj", "lines"), RULE_CASES)
def test_cel_rules(obj: dict[str, Any], lines: list[str]) -> None:
    _, errors = validate_and_default(obj, DEVICE_SCHEMA)
    assert _lines(errors) == lines


def test_transition_rule_only_on_update() -> None:
    created, errors = validate_and_default(_device(nodeName="a"), DEVICE_SCHEMA)
    assert errors == []
    _, errors = validate_and_default(_device(nodeName="a"), DEVICE_SCHEMA, old=created)
    assert errors == []
    _, errors = validate_and_default(_device(nodeName="b"), DEVICE_SCHEMA, old=created)
    assert _lines(errors) == ['spec.nodeName: Invalid value: "object": nodeName is immutable']
    _, errors = validate_and_default(_device(), DEVICE_SCHEMA, old=created)
    assert _lines(errors) == ['spec.nodeName: Invalid value: "object": nodeName is immutable']
    unset, _ = validate_and_default(_device(), DEVICE_SCHEMA)
    _, errors = validate_and_default(_device(nodeName="late"), DEVICE_SCHEMA, old=unset)
    assert errors == []


def test_transition_rules_on_list_map_items_correlate_by_key() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
                    "x-kubernetes-validations": [{"rule": "self.size >= oldSelf.size", "message": "cannot shrink"}],
                },
            }
        },
    }
    old = {"items": [{"name": "a", "size": 5}, {"name": "b", "size": 1}]}
    new = {"items": [{"name": "b", "size": 0}, {"name": "a", "size": 6}, {"name": "c", "size": 0}]}
    _, errors = validate_and_default(new, schema, old=old)
    assert _lines(errors) == ['items[0]: Invalid value: "object": cannot shrink']


def test_rule_message_variants() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"n": {"type": "integer"}, "s": {"type": "string"}},
                "x-kubernetes-validations": [
                    {"rule": "self.n < 10"},
                    {"rule": "self.n < 5", "messageExpression": "'n is ' + string(self.n) + ', want < 5'"},
                    {"rule": "self.n < 3", "messageExpression": "self.nope", "message": "fallback message"},
                    {"rule": "self.n < 2", "reason": "FieldValueForbidden", "message": "forbidden n"},
                    {"rule": "self.n < 1", "reason": "FieldValueRequired", "message": "required n", "fieldPath": ".s"},
                    {"rule": "self.missing == 1"},
                    {"rule": "self.s + 1 == 2"},
                ],
            }
        },
    }
    _, errors = validate_and_default({"spec": {"n": 12, "s": "x"}}, schema)
    assert _lines(errors) == [
        'spec: Invalid value: "object": failed rule: self.n < 10',
        'spec: Invalid value: "object": n is 12, want < 5',
        'spec: Invalid value: "object": fallback message',
        "spec: Forbidden: forbidden n",
        "spec.s: Required value: required n",
        'spec: Invalid value: "object": no such key: missing evaluating rule: self.missing == 1',
        "spec: Invalid value: \"object\": 'no such overload: +(string, int)': call arguments did not match a "
        "supported operator, function or macro signature for rule: self.s + 1 == 2",
    ]
    assert [e.type for e in errors][3:5] == ["FieldValueForbidden", "FieldValueRequired"]


def test_rules_on_scalars_and_map_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {
                "type": "string",
                "x-kubernetes-validations": [{"rule": "self.matches('^[a-z]+$')", "message": "lowercase only"}],
            },
            "labels": {
                "type": "object",
                "additionalProperties": {
                    "type": "string",
                    "x-kubernetes-validations": [{"rule": "self.size() <= 3", "message": "short values"}],
                },
            },
        },
        "x-kubernetes-validations": [{"rule": "self.name != 'root'", "message": "not root"}],
    }
    _, errors = validate_and_default({"name": "Abc", "labels": {"k": "long"}}, schema)
    assert _lines(errors) == [
        'name: Invalid value: "string": lowercase only',
        'labels[k]: Invalid value: "string": short values',
    ]
    _, errors = validate_and_default({"name": "root"}, schema)
    assert _lines(errors) == ['<nil>: Invalid value: "object": not root']


def test_rules_skipped_after_type_errors() -> None:
    _, errors = validate_and_default(_device(driver="XR", port="x"), DEVICE_SCHEMA)
    assert _lines(errors) == [
        'spec.port: Invalid value: "string": spec.port in body must be of type integer: "string"',
        '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; '
        "correct the existing errors to complete validation",
    ]


def test_unsupported_rule_reported_at_evaluation() -> None:
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": "self.x.url() == 1"}]}
    _, errors = validate_and_default({"x": "a"}, schema)
    assert len(errors) == 1
    assert "unsupported method 'url'" in errors[0].message


def test_check_rules_reports_compile_errors_with_paths() -> None:
    schema = copy.deepcopy(DEVICE_SCHEMA)
    schema["properties"]["spec"]["x-kubernetes-validations"].append({"rule": "self.a ?. b"})
    schema["properties"]["spec"]["properties"]["taints"]["items"]["x-kubernetes-validations"] = [
        {"rule": "timestamp(self.t) > 1", "messageExpression": "self.(", "reason": "Bogus"}
    ]
    errors = check_rules(schema, "spec.versions[0].schema.openAPIV3Schema")
    base = "spec.versions[0].schema.openAPIV3Schema.properties[spec]"
    assert [e.field for e in errors] == [
        f"{base}.x-kubernetes-validations[2].rule",
        f"{base}.properties[taints].items.x-kubernetes-validations[0].rule",
        f"{base}.properties[taints].items.x-kubernetes-validations[0].messageExpression",
        f"{base}.properties[taints].items.x-kubernetes-validations[0].reason",
    ]
    assert "compilation failed" in errors[0].message
    assert "optional field selection" in errors[0].message
    assert "unsupported function 'timestamp'" in errors[1].message
    assert check_rules(DEVICE_SCHEMA) == []


def test_real_ciscodevice_crd_schema() -> None:
    crd = pytest.importorskip("controller.crd")
    schema = crd.crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert check_rules(schema) == []
    ok = _iface(type="VirtualPortGroup", virtualPortGroup={})
    out, errors = validate_and_default(ok, schema)
    assert errors == []
    assert out["spec"]["xe"]["networking"]["interface"]["virtualPortGroup"]["dhcp"] is True
    _, errors = validate_and_default(_device(driver="OPENCONFIG"), schema)
    assert [e.field for e in errors] == ["spec.driver"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (65535.0, "65535"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.5, "0.5"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (-2.5, "-2.5"),
        (0.0, "0"),
        (123456.0, "123456"),
    ],
)
def test_go_float_formatting(value: float, text: str) -> None:
    assert go_float(value) == text


@pytest.mark.parametrize(
    ("rule", "undefined"),
    [
        ("self.spec.driver == 'XE'", None),
        ("has(self.spec.tls.certFile)", None),
        ("self.metadata.name.size() < 10", None),
        ("self.spec.labels.anything == 'x'", None),  # additionalProperties
        ("self.spec.extra.free.form == 1", None),  # x-kubernetes-preserve-unknown-fields
        ("self.spec.taints.all(t, t.nope == 1)", None),  # comprehension variables are not checked
        ("self.spec.drvier == 'XE'", "drvier"),
        ("has(self.spec.tls.certFiel)", "certFiel"),
        ("self.spec.xe.networking.interface.virtualPortGroup.dhcpp", "dhcpp"),
        ("self.nope", "nope"),
    ],
)
def test_check_rules_finds_undefined_fields(rule: str, undefined: str | None) -> None:
    schema = copy.deepcopy(DEVICE_SCHEMA)
    schema["x-kubernetes-validations"] = [{"rule": rule}]
    errors = check_rules(schema)
    if undefined is None:
        assert errors == []
    else:
        assert _lines(errors) == [
            f'openAPIV3Schema.x-kubernetes-validations[0].rule: Invalid value: "{rule}": compilation failed: '
            f"ERROR: <input>: undefined field '{undefined}'"
        ]


def test_metadata_name_restrictions_apply_and_other_metadata_is_left_alone() -> None:
    schema = copy.deepcopy(DEVICE_SCHEMA)
    schema["properties"]["metadata"] = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 5}, "labels": {"type": "string"}},
    }
    obj = _device()
    obj["metadata"]["name"] = "too-long-name"
    out, errors = validate_and_default(obj, schema)
    assert _lines(errors) == ["metadata.name: Too long: may not be longer than 5"]
    assert out["metadata"]["labels"] == {"x": "y"}
