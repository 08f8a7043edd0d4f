"""Label and field selectors, parsed and matched the way the real API server does.

Label selectors follow k8s.io/apimachinery/pkg/labels: ``key=value``, ``key==value``, ``key!=value``,
``key in (a,b)``, ``key notin (a,b)``, ``key`` (exists), ``!key`` (does not exist), ``key>N`` and
``key<N`` (integer comparison), joined by commas (AND); whitespace between tokens is ignored; keys
must be qualified names and values valid label values, with the same error wording as the server
(the apiserver answers 400 BadRequest with the ``SelectorError`` message).

Field selectors follow k8s.io/apimachinery/pkg/fields: ``path=value``, ``path==value``,
``path!=value`` joined by commas, with ``\\,``, ``\\=`` and ``\\\\`` escapes in values. Only fields in
``allowed`` may be used (``field label not supported: X`` otherwise, as the server's per-kind
conversion functions say). A missing field compares as the empty string, booleans as
``true``/``false`` and numbers in decimal, as the server's field sets do.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "FieldSelector",
    "FieldTerm",
    "LabelSelector",
    "Requirement",
    "SelectorError",
    "parse_field_selector",
    "parse_label_selector",
]


class SelectorError(Exception):
    """A selector that cannot be parsed or names an unsupported field; ``str()`` is the server's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------------
# Validation helpers (k8s.io/apimachinery/pkg/util/validation), with the server's exact wording.

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = f"{_DNS1123_LABEL_FMT}(\\.{_DNS1123_LABEL_FMT})*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """The apimachinery RegexError text (including its double space between examples)."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    out = msg + " (e.g. "
    for i, example in enumerate(examples):
        if i > 0:
            out += " or "
        out += f"'{example}', "
    return out + f"regex used for validation is '{fmt}')"


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def is_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """Errors for a label/annotation key (``[prefix/]name``); empty when valid."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QNAME_RE.match(name):
        errs.append("name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_VALUE_RE.match(value):
        errs.append(regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _go_quote(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _go_str_list(values: list[str]) -> str:
    return "[]string{" + ", ".join(_go_quote(v) for v in values) + "}"


# ---------------------------------------------------------------------------------------------------
# Label selectors

_EQUALS = "="
_DOUBLE_EQUALS = "=="
_NOT_EQUALS = "!="
_IN = "in"
_NOT_IN = "notin"
_EXISTS = "exists"
_NOT_EXISTS = "!"
_GT = "gt"
_LT = "lt"

# token kinds
_T_ID, _T_IN, _T_NOTIN, _T_EOS, _T_COMMA, _T_OPEN, _T_CLOSE = "id", "in", "notin", "eos", ",", "(", ")"
_T_EQ, _T_DEQ, _T_NEQ, _T_NOT, _T_GT, _T_LT, _T_ERR = "=", "==", "!=", "!", ">", "<", "error"
_SYMBOLS = {"=": _T_EQ, "==": _T_DEQ, "!=": _T_NEQ, "!": _T_NOT, ",": _T_COMMA, "(": _T_OPEN, ")": _T_CLOSE,
            ">": _T_GT, "<": _T_LT}
_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")


def _lex(text: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            items.append((_T_EOS, ""))
            return items
        ch = text[i]
        if ch in _SPECIAL:
            buf = ""
            last: tuple[str, str] | None = None
            while i < n and text[i] in _SPECIAL:
                buf += text[i]
                if buf in _SYMBOLS:
                    last = (_SYMBOLS[buf], buf)
                    i += 1
                elif last is not None:
                    break
                else:
                    i += 1
            if last is None:
                items.append((_T_ERR, f"error expected: keyword found '{buf}'"))
                items.append((_T_EOS, ""))
                return items
            items.append(last)
        else:
            start = i
            while i < n and text[i] not in _SPECIAL and text[i] not in _WHITESPACE:
                i += 1
            word = text[start:i]
            if word == "in":
                items.append((_T_IN, word))
            elif word == "notin":
                items.append((_T_NOTIN, word))
            else:
                items.append((_T_ID, word))


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One ANDed term of a label selector. ``operator`` is one of =, ==, !=, in, notin, exists, !, gt, lt."""

    key: str
    operator: str
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (_EQUALS, _DOUBLE_EQUALS, _IN):
            return self.key in labels and labels[self.key] in self.values
        if op in (_NOT_EQUALS, _NOT_IN):
            return self.key not in labels or labels[self.key] not in self.values
        if op == _EXISTS:
            return self.key in labels
        if op == _NOT_EXISTS:
            return self.key not in labels
        # gt / lt: the label must hold an integer
        if self.key not in labels:
            return False
        try:
            have = int(labels[self.key])
        except ValueError:
            return False
        want = int(self.values[0])
        return have > want if op == _GT else have < want

    def __str__(self) -> str:
        if self.operator == _EXISTS:
            return self.key
        if self.operator == _NOT_EXISTS:
            return "!" + self.key
        if self.operator in (_IN, _NOT_IN):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        sym = {_GT: ">", _LT: "<"}.get(self.operator, self.operator)
        return f"{self.key}{sym}{self.values[0]}"


@dataclasses.dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector: all requirements must match. Empty matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _new_requirement(key: str, op: str, values: list[str]) -> Requirement:
    """NewRequirement: validate values for the operator (the key was validated by the parser)."""
    errs: list[str] = []
    vals = sorted(set(values))
    if op in (_IN, _NOT_IN):
        if not vals:
            errs.append(
                f"values: Invalid value: {_go_str_list(vals)}: for 'in', 'notin' operators, "
                "values set can't be empty"
            )
    elif op in (_EQUALS, _DOUBLE_EQUALS, _NOT_EQUALS):
        if len(vals) != 1:
            errs.append(
                f"values: Invalid value: {_go_str_list(vals)}: "
                "exact-match compatibility requires one single value"
            )
    elif op in (_GT, _LT):
        if len(vals) != 1:
            errs.append(
                f"values: Invalid value: {_go_str_list(vals)}: for 'Gt', 'Lt' operators, "
                "exactly one value is required"
            )
        for i, v in enumerate(vals):
            if not re.fullmatch(r"[+-]?[0-9]+", v) or not -(2**63) <= int(v) < 2**63:
                errs.append(
                    f"values[{i}]: Invalid value: {_go_quote(v)}: for 'Gt', 'Lt' operators, "
                    "the value must be an integer"
                )
    for i, v in enumerate(vals):
        verrs = is_valid_label_value(v)
        if verrs:
            errs.append(f"values[{i}][{key}]: Invalid value: {_go_quote(v)}: {'; '.join(verrs)}")
    if errs:
        raise SelectorError(
            "unable to parse requirement: " + (errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]")
        )
    return Requirement(key, op, tuple(vals))


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def lookahead(self, values_ctx: bool = True) -> tuple[str, str]:
        tok, lit = self.items[self.pos]
        if values_ctx and tok in (_T_IN, _T_NOTIN):
            tok = _T_ID
        return tok, lit

    def consume(self, values_ctx: bool = True) -> tuple[str, str]:
        tok, lit = self.lookahead(values_ctx)
        if self.pos < len(self.items) - 1:
            self.pos += 1
        return tok, lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok in (_T_ID, _T_NOT):
                reqs.append(self.parse_requirement())
                tok, lit = self.consume()
                if tok == _T_EOS:
                    return reqs
                if tok == _T_COMMA:
                    tok2, lit2 = self.lookahead()
                    if tok2 not in (_T_ID, _T_NOT):
                        raise SelectorError(f"found '{lit2}', expected: identifier after ','")
                    continue
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            if tok == _T_EOS:
                return reqs
            raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def parse_requirement(self) -> Requirement:
        try:
            key, op = self.parse_key_and_infer_operator()
            if op in (_EXISTS, _NOT_EXISTS):
                return Requirement(key, op, ())
            op = self.parse_operator()
            values = self.parse_values() if op in (_IN, _NOT_IN) else self.parse_exact_value()
        except SelectorError as err:
            raise SelectorError("unable to parse requirement: " + err.message) from None
        return _new_requirement(key, op, values)

    def parse_key_and_infer_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.consume()
        if tok == _T_NOT:
            op = _NOT_EXISTS
            tok, lit = self.consume()
        if tok != _T_ID:
            raise SelectorError(f"found '{lit}', expected: identifier")
        errs = is_qualified_name(lit)
        if errs:
            raise SelectorError(f"<nil>: Invalid value: {_go_quote(lit)}: {'; '.join(errs)}")
        nxt, _ = self.lookahead()
        if nxt in (_T_EOS, _T_COMMA) and op != _NOT_EXISTS:
            op = _EXISTS
        return lit, op

    def parse_operator(self) -> str:
        tok, lit = self.consume(values_ctx=False)
        ops = {_T_IN: _IN, _T_EQ: _EQUALS, _T_DEQ: _DOUBLE_EQUALS, _T_GT: _GT, _T_LT: _LT,
               _T_NOTIN: _NOT_IN, _T_NEQ: _NOT_EQUALS}
        if tok in ops:
            return ops[tok]
        if tok == _T_ERR:
            raise SelectorError(lit)
        raise SelectorError(f"found '{lit}', expected: in, notin, =, ==, !=, gt, lt")

    def parse_values(self) -> list[str]:
        tok, lit = self.consume()
        if tok != _T_OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok in (_T_ID, _T_COMMA):
            values = self.parse_identifiers_list()
            tok, _ = self.consume()
            if tok != _T_CLOSE:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == _T_CLOSE:
            self.consume()
            return [""]
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def parse_identifiers_list(self) -> list[str]:
        values: list[str] = []
        while True:
            tok, lit = self.consume()
            if tok == _T_ID:
                values.append(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == _T_COMMA:
                    continue
                if tok2 == _T_CLOSE:
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _T_COMMA:
                if not values:
                    values.append("")
                tok2, _ = self.lookahead()
                if tok2 == _T_CLOSE:
                    values.append("")
                    return values
                if tok2 == _T_COMMA:
                    self.consume()
                    values.append("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def parse_exact_value(self) -> list[str]:
        tok, _ = self.lookahead()
        if tok in (_T_EOS, _T_COMMA):
            return [""]
        tok, lit = self.consume()
        if tok == _T_ID:
            return [lit]
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a ``labelSelector`` query parameter. Raises ``SelectorError`` with the server's message."""
    if text is None or not text.strip():
        return LabelSelector(())
    return LabelSelector(tuple(_LabelParser(text).parse()))


# ---------------------------------------------------------------------------------------------------
# Field selectors


@dataclasses.dataclass(frozen=True)
class FieldTerm:
    """``field`` ``op`` ``value`` with op one of =, ==, != (value unescaped)."""

    field: str
    op: str
    value: str

    @property
    def positive(self) -> bool:
        return self.op != "!="


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == ",":
            terms.append(text[start:i])
            start = i + 1
        i += 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    i, n = 0, len(term)
    while i < n:
        if term[i] == "\\":
            i += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
        i += 1
    return None


def _unescape(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    in_slash = False
    for ch in value:
        if in_slash:
            if ch in "\\,=":
                out.append(ch)
            else:
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{ch}")
            in_slash = False
            continue
        if ch == "\\":
            in_slash = True
        elif ch in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if in_slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The value of a dotted field path as the server's field sets render it ("" when absent)."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return ""
        cur = cur[part]
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, (int, float, str)):
        return str(cur)
    return ""


@dataclasses.dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector: every term must match. Empty matches everything.

    ``aliases`` maps a selector field to the object path it reads, for fields whose name is not the
    path (events' ``source`` is ``source.component``).
    """

    terms: tuple[FieldTerm, ...] = ()
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for term in self.terms:
            have = field_value(obj, self.aliases.get(term.field, term.field))
            if (have == term.value) != term.positive:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not self.terms

    def required_value(self, field: str) -> str | None:
        """The value an ``=`` term demands for ``field`` (for index look-ups), else None."""
        for term in self.terms:
            if term.field == field and term.positive:
                return term.value
        return None

    def __str__(self) -> str:
        def esc(v: str) -> str:
            return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")

        return ",".join(f"{t.field}{t.op}{esc(t.value)}" for t in self.terms)


def parse_field_selector(
    text: str | None, allowed: frozenset[str], aliases: Mapping[str, str] | None = None
) -> FieldSelector:
    """Parse a ``fieldSelector`` query parameter; fields outside ``allowed`` are refused."""
    if text is None or text == "":
        return FieldSelector((), dict(aliases or {}))
    terms: list[FieldTerm] = []
    for part in sorted(_split_terms(text)):
        if part == "":
            continue
        split = _split_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        value = _unescape(rhs)
        terms.append(FieldTerm(lhs, op, value))
    for term in terms:
        if term.field not in allowed:
            raise SelectorError(f"field label not supported: {term.field}")
    return FieldSelector(tuple(terms), dict(aliases or {}))
