"""Label and field selectors: parsing, matching and the server's error wording."""

from __future__ import annotations

from typing import Any

import pytest

from hack.kubeapi.selectors import (
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

LABELS = {"app": "web", "tier": "frontend", "env": "prod", "version": "12", "example.com/role": "edge"}

LABEL_CASES = [
    # (selector, matches LABELS)
    ("", True),
    ("   ", True),
    ("app=web", True),
    ("app==web", True),
    ("app=db", False),
    ("app!=db", True),
    ("app!=web", False),
    ("missing!=x", True),
    ("app in (web,db)", True),
    ("app in (db, cache)", False),
    ("app notin (db,cache)", True),
    ("app notin (web)", False),
    ("missing notin (a)", True),
    ("missing in (a)", False),
    ("app", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("app=web,tier=frontend", True),
    ("app=web,tier=backend", False),
    ("  app = web ,  tier  in ( frontend , x ) ", True),
    ("example.com/role=edge", True),
    ("example.com/role", True),
    ("version>10", True),
    ("version>12", False),
    ("version<13", True),
    ("app>1", False),  # not an integer label: never matches
    ("missing<5", False),
    ("app=", False),
    ("missing=", False),
    ("in=x", False),  # keywords are identifiers in key position
    ("app in (web),!missing,env", True),
]


@pytest.mark.parametrize(("selector", "expected"), LABEL_CASES)
def test_label_selector_matches(selector: str, expected: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is expected


def test_label_selector_empty_value_matches_empty_label() -> None:
    sel = parse_label_selector("app=")
    assert sel.matches({"app": ""})
    assert not sel.matches({})
    assert parse_label_selector("app in ()").matches({"app": ""})


def test_label_selector_none_labels() -> None:
    assert parse_label_selector("!a").matches(None)
    assert not parse_label_selector("a").matches(None)


def test_label_selector_requirements_exposed() -> None:
    sel = parse_label_selector("b in (y,x),a")
    assert [(r.key, r.operator, r.values) for r in sel.requirements] == [
        ("b", "in", ("x", "y")),
        ("a", "exists", ()),
    ]
    assert str(sel) == "b in (x,y),a"
    assert not sel.empty
    assert parse_label_selector("").empty


QNAME_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

LABEL_ERRORS = [
    ("app=web,", "found '', expected: identifier after ','"),
    (",app", "found ',', expected: !, identifier, or 'end of string'"),
    ("app=web tier=x", "found 'tier', expected: ',' or 'end of string'"),
    ("app in web", "unable to parse requirement: found 'web' expected: '('"),
    ("app in (web", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("app notin", "unable to parse requirement: found '' expected: '('"),
    ("app ~ web", "unable to parse requirement: found '~', expected: in, notin, =, ==, !=, gt, lt"),
    ("app = (x)", "unable to parse requirement: found '(', expected: identifier"),
    ("=web", "found '=', expected: !, identifier, or 'end of string'"),
    ("!=web", "found '!=', expected: !, identifier, or 'end of string'"),
    ("! =web", "unable to parse requirement: found '=', expected: identifier"),
    ("!app=web", "found '=', expected: ',' or 'end of string'"),
    ("-app=x", f'unable to parse requirement: <nil>: Invalid value: "-app": {QNAME_RULE}'),
    ("Example.com/x=y", "unable to parse requirement: <nil>: Invalid value: \"Example.com/x\": prefix part "
     "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
     "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    ("/x", 'unable to parse requirement: <nil>: Invalid value: "/x": prefix part must be non-empty'),
    ("app=-web-", f'unable to parse requirement: values[0][app]: Invalid value: "-web-": {VALUE_RULE}'),
    ("app=" + "a" * 64, 'unable to parse requirement: values[0][app]: Invalid value: "' + "a" * 64
     + '": must be no more than 63 characters'),
    ("app>x", 'unable to parse requirement: values[0]: Invalid value: "x": for \'Gt\', \'Lt\' operators, '
     "the value must be an integer"),
    ("app=>1", "unable to parse requirement: found '>', expected: identifier"),
]


@pytest.mark.parametrize(("selector", "message"), LABEL_ERRORS)
def test_label_selector_errors(selector: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_label_selector(selector)
    assert str(info.value) == message


POD: dict[str, Any] = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "iosxe-sw1", "unschedulable": True, "priority": 5},
    "status": {"phase": "Running"},
}
EVENT: dict[str, Any] = {
    "metadata": {"name": "e1", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"},
    "reason": "Started",
    "source": {"component": "kubelet"},
}
POD_FIELDS = frozenset({"metadata.name", "metadata.namespace", "spec.nodeName", "status.phase",
                        "spec.unschedulable", "spec.priority", "spec.schedulerName"})
EVENT_FIELDS = frozenset({"metadata.name", "involvedObject.kind", "involvedObject.name", "reason", "source"})

FIELD_CASES = [
    (POD, POD_FIELDS, "", True),
    (POD, POD_FIELDS, "metadata.name=web-1", True),
    (POD, POD_FIELDS, "metadata.name==web-1", True),
    (POD, POD_FIELDS, "metadata.name!=web-1", False),
    (POD, POD_FIELDS, "spec.nodeName=iosxe-sw1,status.phase=Running", True),
    (POD, POD_FIELDS, "spec.nodeName=iosxe-sw1,status.phase!=Running", False),
    (POD, POD_FIELDS, "spec.nodeName=other", False),
    (POD, POD_FIELDS, "spec.schedulerName=", True),  # absent field compares as ""
    (POD, POD_FIELDS, "spec.nodeName!=", True),
    (POD, POD_FIELDS, "spec.unschedulable=true", True),
    (POD, POD_FIELDS, "spec.priority=5", True),
    (POD, POD_FIELDS, "metadata.namespace=default,", True),
    (EVENT, EVENT_FIELDS, "involvedObject.kind=Pod,involvedObject.name=web-1", True),
    (EVENT, EVENT_FIELDS, "involvedObject.kind=Node", False),
    (EVENT, EVENT_FIELDS, "reason=Started", True),
]


@pytest.mark.parametrize(("obj", "allowed", "selector", "expected"), FIELD_CASES)
def test_field_selector_matches(obj: dict[str, Any], allowed: frozenset[str], selector: str,
                                expected: bool) -> None:
    assert parse_field_selector(selector, allowed).matches(obj) is expected


def test_field_selector_escapes() -> None:
    sel = parse_field_selector(r"metadata.name=a\,b\=c\\d", POD_FIELDS)
    assert sel.terms[0].value == "a,b=c\\d"
    assert sel.matches({"metadata": {"name": "a,b=c\\d"}})
    assert str(sel) == r"metadata.name=a\,b\=c\\d"


def test_field_selector_alias_and_index_hint() -> None:
    sel = parse_field_selector(
        "source=kubelet,reason=Started", EVENT_FIELDS, aliases={"source": "source.component"}
    )
    assert sel.matches(EVENT)
    assert not sel.matches({**EVENT, "source": {"component": "other"}})
    pods = parse_field_selector("spec.nodeName=n1,status.phase!=Failed", POD_FIELDS)
    assert pods.required_value("spec.nodeName") == "n1"
    assert pods.required_value("status.phase") is None
    assert parse_field_selector("", POD_FIELDS).empty


FIELD_ERRORS = [
    ("spec.foo=x", "field label not supported: spec.foo"),
    ("metadata.name=a,spec.bar!=y", "field label not supported: spec.bar"),
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("metadata.name=a,b", "invalid selector: 'metadata.name=a,b'; can't understand 'b'"),
    (r"metadata.name=a\x", r"invalid field selector: invalid escape sequence: \x"),
    ("metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
    ("metadata.name =a", "field label not supported: metadata.name "),
]


@pytest.mark.parametrize(("selector", "message"), FIELD_ERRORS)
def test_field_selector_errors(selector: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_field_selector(selector, POD_FIELDS)
    assert str(info.value) == message
