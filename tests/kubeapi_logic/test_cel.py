"""The CEL subset used by CRD validation rules: parsing, evaluation, errors."""

from __future__ import annotations

from typing import Any

import pytest

from hack.kubeapi.cel import CelError, CelEvalError, compile_expression, evaluate

DEVICE = {
    "driver": "XE",
    "address": "10.0.0.1",
    "port": 443,
    "labels": {"site": "lab", "rack": "r1"},
    "taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoExecute"}],
    "xe": {"networking": {"interface": {"type": "VirtualPortGroup", "virtualPortGroup": {"dhcp": True}}}},
    "dash-name": 1,
    "namespace": "x",
}

CASES: list[tuple[str, Any]] = [
    # literals and arithmetic
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("7 / 2", 3),
    ("-7 / 2", -3),
    ("-7 % 3", -1),
    ("7 % -3", 1),
    ("1.5 * 2.0", 3.0),
    ("0x10 + 1u", 17),
    ("1e3", 1000.0),
    ("'a' + \"b\"", "ab"),
    ("'''x'y'''", "x'y"),
    (r"r'\d+'", r"\d+"),
    (r"'\n\x41\u00e9'", "\nA\u00e9"),
    ("[1, 2] + [3]", [1, 2, 3]),
    ("{'a': 1}['a']", 1),
    ("null == null", True),
    ("true && !false", True),
    # comparison and equality
    ("1 == 1.0", True),
    ("1 < 2.5", True),
    ("'abc' < 'abd'", True),
    ("[1, [2]] == [1, [2]]", True),
    ("{'a': 1} != {'a': 2}", True),
    ("1 == 'a'", False),
    ("true == 1", False),
    # ternary and precedence
    ("true ? 1 : 2", 1),
    ("false ? 1 : true ? 2 : 3", 2),
    ("1 < 2 && 2 < 3 || false", True),
    ("!true || true", True),
    # self, field access, has, in
    ("self.driver == 'XE'", True),
    ("self.port > 0 && self.port <= 65535", True),
    ("has(self.port)", True),
    ("has(self.password)", False),
    ("!has(self.password) || !has(self.credentialSecretRef)", True),
    ("self.labels.site", "lab"),
    ("self.labels['rack']", "r1"),
    ("'site' in self.labels", True),
    ("self.driver in ['XE', 'FAKE']", True),
    ("!(self.driver in ['XR', 'NXOS', 'OPENCONFIG'])", True),
    ("self.taints[1].key", "b"),
    ("self.xe.networking.interface.type", "VirtualPortGroup"),
    (
        "has(self.xe.networking.interface.virtualPortGroup) ? self.xe.networking.interface.type == 'VirtualPortGroup'"
        " : true",
        True,
    ),
    ("self.dash__dash__name", 1),
    ("self.__namespace__", "x"),
    # strings
    ("size(self.address)", 8),
    ("self.address.size()", 8),
    ("self.address.startsWith('10.')", True),
    ("self.address.endsWith('.1')", True),
    ("self.address.contains('0.0')", True),
    ("self.address.matches('^[0-9.]+$')", True),
    ("matches('abc', 'b')", True),
    ("'AbC'.lowerAscii() + 'd'.upperAscii()", "abcD"),
    ("' x '.trim()", "x"),
    ("'a,b,c'.split(',')", ["a", "b", "c"]),
    ("'a,b,c'.split(',', 2)", ["a", "b,c"]),
    ("['a', 'b'].join('-')", "a-b"),
    ("'hello'.substring(1, 3)", "el"),
    ("'hello'.indexOf('l')", 2),
    ("'hello'.lastIndexOf('l')", 3),
    ("'hello'.charAt(1)", "e"),
    ("'a.b'.replace('.', '-')", "a-b"),
    ("'ab 12 c345'.find('[0-9]+')", "12"),
    ("'abc'.find('[0-9]+')", ""),
    ("'ab 12 c345 6'.findAll('[0-9]+')", ["12", "345", "6"]),
    ("'ab 12 c345 6'.findAll('[0-9]+', 2)", ["12", "345"]),
    # conversions
    ("int('42') + int(2.9)", 44),
    ("double(1) / 2.0", 0.5),
    ("string(12) + string(true)", "12true"),
    ("bool('true')", True),
    ("dyn(3) == 3", True),
    # macros
    ("self.taints.all(t, t.effect in ['NoSchedule', 'NoExecute'])", True),
    ("self.taints.exists(t, t.key == 'b')", True),
    ("self.taints.exists_one(t, t.key.startsWith('a'))", True),
    ("self.taints.map(t, t.key)", ["a", "b"]),
    ("self.taints.map(t, t.key == 'b', t.effect)", ["NoExecute"]),
    ("self.taints.filter(t, t.key != 'a').size()", 1),
    ("self.labels.all(k, k.size() > 2)", True),
    ("self.labels.exists(k, self.labels[k] == 'r1')", True),
    ("[has(self.port), has(self.password), has(self.labels)].filter(x, x).size() == 2", True),
    ("[3, 1, 2].sum() == 6 && [3, 1, 2].min() == 1 && [3, 1, 2].max() == 3", True),
    ("[1, 2, 2].isSorted() && ![2, 1].isSorted()", True),
    ("[[1], [2]].all(x, x.size() == 1)", True),
    ("[1, 2].map(x, [1, 2].map(y, x * y))", [[1, 2], [2, 4]]),
    # error absorption of && and || and the macros, like CEL
    ("false && self.missing == 1", False),
    ("self.missing == 1 && false", False),
    ("true || self.missing == 1", True),
    ("self.missing == 1 || true", True),
    ("[0, 1].exists(x, 10 / x == 10)", True),
    ("[0, 1].all(x, x == 5 && 10 / x == 1)", False),
]


@pytest.mark.parametrize(("expr", "expected"), CASES)
def test_evaluate(expr: str, expected: Any) -> None:
    result = evaluate(expr, self=DEVICE)
    assert result == expected
    assert type(result) is type(expected)


def test_transition_rules() -> None:
    prog = compile_expression("!has(oldSelf.nodeName) || (has(self.nodeName) && self.nodeName == oldSelf.nodeName)")
    assert prog.uses_old_self
    assert prog.evaluate({"self": {"nodeName": "a"}, "oldSelf": {"nodeName": "a"}}) is True
    assert prog.evaluate({"self": {"nodeName": "b"}, "oldSelf": {"nodeName": "a"}}) is False
    assert prog.evaluate({"self": {}, "oldSelf": {"nodeName": "a"}}) is False
    assert prog.evaluate({"self": {"nodeName": "b"}, "oldSelf": {}}) is True
    assert not compile_expression("self.oldSelfish == 1").uses_old_self
    assert compile_expression("self == oldSelf").evaluate({"self": [1], "oldSelf": [1]}) is True


EVAL_ERRORS = [
    ("self.missing", "no such key: missing"),
    ("self.labels['nope']", "no such key: nope"),
    ("self.taints[5]", "index out of range: 5"),
    ("1 / 0", "division by zero"),
    ("1 % 0", "modulus by zero"),
    ("9223372036854775807 + 1", "integer overflow"),
    ("-9223372036854775808 - 1", "integer overflow"),
    ("'a' + 1", "no such overload: +(string, int)"),
    ("'a' < 1", "no such overload: <(string, int)"),
    ("!1", "no such overload: !_(int)"),
    ("self.port.startsWith('4')", "no such overload: startsWith(int)"),
    ("1 ? 2 : 3", "no such overload: _?_:_(int)"),
    ("self.driver.x", "cannot select field 'x' from string"),
    ("has(self.driver.x)", "cannot select field 'x' from string"),
    ("nope == 1", "undeclared reference to 'nope'"),
    ("int('x')", "cannot convert string 'x' to int"),
    ("[1].all(x, x)", "no such overload: all(int)"),
    ("self.missing == 1 && true", "no such key: missing"),
    ("[].min()", "min() called on an empty list"),
    ("'a'.matches('(')", "invalid regular expression '('"),
]


@pytest.mark.parametrize(("expr", "message"), EVAL_ERRORS)
def test_evaluation_errors(expr: str, message: str) -> None:
    with pytest.raises(CelEvalError) as info:
        evaluate(expr, self=DEVICE)
    assert str(info.value).startswith(message)


COMPILE_ERRORS = [
    ("self.x ?", "syntax error"),
    ("(1 + 2", "expected ')'"),
    ("self.", "expected a field name"),
    ("1 +", "unexpected end of input"),
    ("self.a ?. b", "optional field selection '?.' is not supported"),
    ("self.?a", "optional field selection '.?' is not supported"),
    ("self[?0]", "optional index '[?' is not supported"),
    ("Foo{a: 1}", "message construction (Type{...}) is not supported"),
    ("b'abc'", "bytes literals are not supported"),
    ("timestamp('2020-01-01T00:00:00Z')", "unsupported function 'timestamp'"),
    ("duration('1s') > duration('0s')", "unsupported function 'duration'"),
    ("type(self) == int", "unsupported function 'type'"),
    ("self.url().getHost()", "unsupported method 'url'"),
    ("quantity('1Gi').isGreaterThan(quantity('1Mi'))", "unsupported function 'quantity'"),
    ("self.all(x)", "macro 'all' takes 1 arguments after the variable, got 0"),
    ("self.all(1, true)", "macro 'all' needs an iteration variable"),
    ("has(self)", "has() needs a field selection argument"),
    ("size(1, 2)", "function 'size' takes 1 argument(s), got 2"),
    ("'a'.startsWith()", "method 'startsWith' takes 1 argument(s), got 0"),
    ("self.if", "expected a field name after '.'") if False else ("if", "reserved word 'if'"),
    ("9223372036854775808", "integer literal out of range"),
    ("'abc", "unterminated string literal"),
    ("1 # 2", "unexpected character '#'"),
    ("", "empty expression"),
    ("(" * 150 + "1" + ")" * 150, "expression nested deeper than 100 levels"),
    ("1" + " + 1" * 5000, "expression longer than 10000 characters"),
]


@pytest.mark.parametrize(("expr", "message"), COMPILE_ERRORS)
def test_compile_errors(expr: str, message: str) -> None:
    with pytest.raises(CelError) as info:
        compile_expression(expr)
    assert not isinstance(info.value, CelEvalError)
    assert message in str(info.value)


def test_no_python_eval_escape() -> None:
    # Python syntax and dunder access are not CEL: they never reach Python's evaluator.
    for expr in ("__import__('os')", "self.__class__", "().__class__", "lambda: 1", "[x for x in self]"):
        with pytest.raises(CelError):
            evaluate(expr, self={"a": 1})


def test_long_flat_expression_evaluates() -> None:
    expr = " && ".join(["self.a == 1"] * 500)
    assert evaluate(expr, self={"a": 1}) is True


def test_program_is_reusable() -> None:
    prog = compile_expression("self.size() > 1")
    assert prog.evaluate({"self": [1, 2]}) is True
    assert prog.evaluate({"self": "x"}) is False
    assert prog.source == "self.size() > 1"


def test_long_chains_do_not_exhaust_the_stack() -> None:
    assert compile_expression("1" + " + 1" * 2000).evaluate({}) == 2001
    assert compile_expression("[" + ",".join(["1"] * 3000) + "].size()").evaluate({}) == 3000
    deep = compile_expression("self" + ".a" * 4000)
    with pytest.raises(CelEvalError):
        deep.evaluate({"self": {}})
