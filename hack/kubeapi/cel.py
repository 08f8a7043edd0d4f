"""A small, safe CEL evaluator for CRD ``x-kubernetes-validations`` rules (a parser and a tree walker).

No ``eval``/``exec``: expressions are tokenized, parsed into a tree and interpreted over plain JSON
values (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``). ``compile_expression``
raises ``CelError`` for syntax errors and for any construct outside the subset below, naming it; the
API server then reports the rule as failed to compile, as the real one does. Evaluation failures
(missing key, index out of range, overflow, wrong operand types) raise ``CelEvalError``.

Supported subset
----------------
- Literals: ints (decimal, ``0x`` hex), uints (``1u``, treated as ints), doubles (``1.5``, ``1e3``),
  strings (``'..'``, ``".."``, triple-quoted, raw ``r'..'``, with CEL escapes), ``true``, ``false``,
  ``null``, lists ``[a, b]``, maps ``{'k': v}``.
- Variables: ``self``, ``oldSelf`` (transition rules), and any name passed to ``evaluate``.
- Field selection ``a.b`` (on maps; Kubernetes' escaped names ``__dash__``, ``__dot__``,
  ``__slash__``, ``__underscores__``, ``__<keyword>__`` resolve to the real keys), ``has(a.b)``,
  indexing ``list[i]``, ``map[key]``.
- Operators: ``! - * / % + - < <= > >= == != in && || ?:`` with CEL precedence. ``&&``/``||`` are
  commutative over errors (``false && error`` is false), like CEL. ``==`` is heterogeneous (values of
  different types are unequal; ints and doubles compare by value); ints are 64-bit and overflow is an
  error; ``/`` and ``%`` on ints truncate toward zero. ``+`` concatenates strings and lists.
- Functions: ``size()`` (function and method form, on strings, lists, maps), ``matches(s, re)``,
  ``int()``, ``uint()``, ``double()``, ``string()``, ``bool()``, ``dyn()``.
- String methods: ``startsWith``, ``endsWith``, ``contains``, ``matches`` (Python ``re.search``,
  close to RE2 for the patterns CRDs use), ``lowerAscii``, ``upperAscii``, ``trim``, ``split``,
  ``replace``, ``substring``, ``indexOf``, ``lastIndexOf``, ``charAt``, ``find``, ``findAll``
  (Kubernetes' strings and regex libraries). List methods: ``join``, ``isSorted``, ``sum``, ``min``,
  ``max``, ``indexOf``, ``lastIndexOf`` (Kubernetes' lists library).
- Macros on lists (and on maps, over their keys): ``all``, ``exists``, ``exists_one``, ``map`` (2 and
  3 arguments), ``filter``.

Not supported (``CelError`` at compile time): optional syntax (``?.``, ``.?``, ``[?``), message
construction (``Foo{..}``), bytes literals, ``timestamp``/``duration`` and their methods, ``type()``,
``quantity``/``url``/``ip``/``cidr`` libraries, and any other function or method, each named in the
error. Differences from real CEL: the only static check is for fields the schema does not declare
(``hack.kubeapi.schema.check_rules``, via ``Program.field_chains``); there is no type check, so a rule
real CEL rejects for types (``self.port == 'x'`` on an integer) is evaluated here and is simply false;
strings with ``format: date-time`` stay strings (compared as text, not as timestamps); ``uint`` is not a
separate type; ints and doubles may be mixed in arithmetic (the result is a double); no cost budget
(expressions are bounded by ``MAX_EXPRESSION_LENGTH`` and ``MAX_DEPTH``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CelError", "CelEvalError", "Program", "compile_expression", "evaluate", "unescape_field_name"]

MAX_EXPRESSION_LENGTH = 10_000
MAX_DEPTH = 100
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1

_RESERVED = frozenset({
    "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop", "package",
    "namespace", "return", "var", "void", "while",
})
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


class CelError(Exception):
    """The expression cannot be compiled: a syntax error or a construct outside the supported subset."""


class CelEvalError(CelError):
    """The expression failed while evaluating (no such key, index out of range, overflow, no overload)."""


# ---------------------------------------------------------------------------------------------------
# Lexer

_PUNCT = ["&&", "||", "==", "!=", "<=", ">=", "?.", ".?", "(", ")", "[", "]", "{", "}", ".", ",", ":", "?",
          "!", "-", "+", "*", "/", "%", "<", ">"]


@dataclasses.dataclass(frozen=True)
class _Tok:
    kind: str  # ident, int, double, string, punct, eof
    value: Any
    pos: int


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?"}


def _read_string(src: str, i: int) -> tuple[str, int]:
    raw = False
    if src[i] in "rR":
        raw = True
        i += 1
    if src[i] in "bB":
        raise CelError(f"bytes literals are not supported (at offset {i})")
    quote = src[i]
    triple = src.startswith(quote * 3, i)
    delim = quote * 3 if triple else quote
    i += len(delim)
    out: list[str] = []
    while True:
        if i >= len(src):
            raise CelError("unterminated string literal")
        if src.startswith(delim, i):
            return "".join(out), i + len(delim)
        ch = src[i]
        if ch == "\n" and not triple:
            raise CelError("newline in string literal")
        if ch == "\\" and not raw:
            i += 1
            if i >= len(src):
                raise CelError("unterminated string literal")
            esc = src[i]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i += 1
            elif esc in "xX":
                out.append(chr(int(src[i + 1:i + 3], 16)))
                i += 3
            elif esc == "u":
                out.append(chr(int(src[i + 1:i + 5], 16)))
                i += 5
            elif esc == "U":
                out.append(chr(int(src[i + 1:i + 9], 16)))
                i += 9
            elif esc in "0123":
                out.append(chr(int(src[i:i + 3], 8)))
                i += 3
            else:
                raise CelError(f"invalid escape sequence \\{esc} in string literal")
            continue
        out.append(ch)
        i += 1


_NUM_RE = re.compile(r"0[xX][0-9a-fA-F]+[uU]?|([0-9]+\.[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)|[0-9]+[uU]?")


def _lex(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if src.startswith("//", i):
            while i < n and src[i] != "\n":
                i += 1
            continue
        if ch in "'\"" or (ch in "rRbB" and i + 1 < n and src[i + 1] in "'\""):
            value, end = _read_string(src, i)
            toks.append(_Tok("string", value, i))
            i = end
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and src[i + 1].isdigit()):
            m = _NUM_RE.match(src, i)
            if ch == "." or m is None:
                raise CelError(f"invalid number at offset {i}")
            text = m.group(0)
            if m.group(1):
                toks.append(_Tok("double", float(text), i))
            else:
                try:
                    ival = int(text.rstrip("uU"), 0)
                except ValueError:
                    raise CelError(f"invalid integer literal {text!r}") from None
                if ival > 2**64 - 1 or (not text.endswith(("u", "U")) and ival > _INT_MAX + 1):
                    raise CelError(f"integer literal out of range: {text}")
                toks.append(_Tok("int", ival, i))
            i = m.end()
            continue
        if ch.isalpha() or ch == "_":
            start = i
            while i < n and (src[i].isalnum() or src[i] == "_"):
                i += 1
            toks.append(_Tok("ident", src[start:i], start))
            continue
        for p in _PUNCT:
            if src.startswith(p, i):
                if p in ("?.", ".?"):
                    raise CelError(f"optional field selection '{p}' is not supported")
                toks.append(_Tok("punct", p, i))
                i += len(p)
                break
        else:
            raise CelError(f"unexpected character {ch!r} at offset {i}")
    toks.append(_Tok("eof", None, n))
    return toks


# ---------------------------------------------------------------------------------------------------
# AST


@dataclasses.dataclass(frozen=True)
class Node:
    pass


@dataclasses.dataclass(frozen=True)
class Lit(Node):
    value: Any


@dataclasses.dataclass(frozen=True)
class Ident(Node):
    name: str


@dataclasses.dataclass(frozen=True)
class Select(Node):
    operand: Node
    field: str
    test_only: bool = False  # has(operand.field)


@dataclasses.dataclass(frozen=True)
class Index(Node):
    operand: Node
    index: Node


@dataclasses.dataclass(frozen=True)
class Call(Node):
    function: str
    target: Node | None
    args: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Comprehension(Node):
    macro: str
    target: Node
    var: str
    args: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclasses.dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclasses.dataclass(frozen=True)
class Logic(Node):
    op: str  # && or ||
    operands: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Cond(Node):
    cond: Node
    then: Node
    other: Node


@dataclasses.dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class MapLit(Node):
    entries: tuple[tuple[Node, Node], ...]


_GLOBAL_FUNCS: Mapping[str, frozenset[int]] = {
    "size": frozenset({1}), "int": frozenset({1}), "uint": frozenset({1}), "double": frozenset({1}),
    "string": frozenset({1}), "bool": frozenset({1}), "dyn": frozenset({1}), "matches": frozenset({2}),
}
_METHODS: Mapping[str, frozenset[int]] = {
    "size": frozenset({0}), "startsWith": frozenset({1}), "endsWith": frozenset({1}),
    "contains": frozenset({1}), "matches": frozenset({1}), "lowerAscii": frozenset({0}),
    "upperAscii": frozenset({0}), "trim": frozenset({0}), "split": frozenset({1, 2}),
    "replace": frozenset({2, 3}), "substring": frozenset({1, 2}), "indexOf": frozenset({1, 2}),
    "lastIndexOf": frozenset({1, 2}), "charAt": frozenset({1}), "join": frozenset({0, 1}),
    "isSorted": frozenset({0}), "sum": frozenset({0}), "min": frozenset({0}), "max": frozenset({0}),
    "find": frozenset({1}), "findAll": frozenset({1, 2}),
}


def _check_arity(kind: str, name: str, allowed: frozenset[int], got: int) -> None:
    if got not in allowed:
        counts = " or ".join(str(c) for c in sorted(allowed))
        raise CelError(f"{kind} '{name}' takes {counts} argument(s), got {got}")


class _Parser:
    def __init__(self, src: str) -> None:
        self.toks = _lex(src)
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def next(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def accept(self, punct: str) -> bool:
        tok = self.peek()
        if tok.kind == "punct" and tok.value == punct:
            self.pos += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        tok = self.peek()
        if not self.accept(punct):
            found = "end of input" if tok.kind == "eof" else repr(tok.value)
            raise CelError(f"syntax error at offset {tok.pos}: expected '{punct}', found {found}")

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "eof":
            raise CelError(f"syntax error at offset {tok.pos}: unexpected {tok.value!r}")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CelError(f"expression nested deeper than {MAX_DEPTH} levels")
        cond = self.or_expr()
        if self.accept("?"):
            then = self.or_expr()
            self.expect(":")
            other = self.expr()
            cond = Cond(cond, then, other)
        self.depth -= 1
        return cond

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.accept("||"):
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Logic("||", tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.relation()]
        while self.accept("&&"):
            operands.append(self.relation())
        return operands[0] if len(operands) == 1 else Logic("&&", tuple(operands))

    def relation(self) -> Node:
        node = self.addition()
        while True:
            tok = self.peek()
            if tok.kind == "punct" and tok.value in ("<", "<=", ">", ">=", "==", "!="):
                self.next()
                node = Binary(tok.value, node, self.addition())
            elif tok.kind == "ident" and tok.value == "in":
                self.next()
                node = Binary("in", node, self.addition())
            else:
                return node

    def addition(self) -> Node:
        node = self.multiplication()
        while True:
            tok = self.peek()
            if tok.kind == "punct" and tok.value in ("+", "-"):
                self.next()
                node = Binary(tok.value, node, self.multiplication())
            else:
                return node

    def multiplication(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok.kind == "punct" and tok.value in ("*", "/", "%"):
                self.next()
                node = Binary(tok.value, node, self.unary())
            else:
                return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "punct" and tok.value in ("!", "-"):
            self.next()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise CelError(f"expression nested deeper than {MAX_DEPTH} levels")
            if tok.value == "-" and self.peek().kind in ("int", "double"):
                lit = self.next()
                value = -lit.value
                if isinstance(value, int) and value < _INT_MIN:
                    raise CelError(f"integer literal out of range: {value}")
                node: Node = self.member(Lit(value))
            else:
                node = Unary(tok.value, self.unary())
            self.depth -= 1
            return node
        return self.member(self.primary())

    def args(self) -> tuple[Node, ...]:
        args: list[Node] = []
        if not self.accept(")"):
            while True:
                args.append(self.expr())
                if self.accept(")"):
                    break
                self.expect(",")
        return tuple(args)

    def member(self, node: Node) -> Node:
        while True:
            if self.accept("."):
                tok = self.next()
                if tok.kind != "ident":
                    raise CelError(f"syntax error at offset {tok.pos}: expected a field name after '.'")
                name = tok.value
                if self.accept("("):
                    args = self.args()
                    node = self.method(node, name, args, tok.pos)
                else:
                    node = Select(node, name)
            elif self.accept("["):
                if self.peek().kind == "punct" and self.peek().value == "?":
                    raise CelError("optional index '[?' is not supported")
                index = self.expr()
                self.expect("]")
                node = Index(node, index)
            elif self.peek().kind == "punct" and self.peek().value == "{":
                raise CelError("message construction (Type{...}) is not supported")
            else:
                return node

    def method(self, target: Node, name: str, args: tuple[Node, ...], pos: int) -> Node:
        if name in _MACROS:
            if not args or not isinstance(args[0], Ident):
                raise CelError(f"macro '{name}' needs an iteration variable as its first argument")
            want = (2, 3) if name == "map" else (2,)
            if len(args) not in want:
                raise CelError(f"macro '{name}' takes {' or '.join(str(w - 1) for w in want)} "
                               f"arguments after the variable, got {len(args) - 1}")
            return Comprehension(name, target, args[0].name, args[1:])
        if name not in _METHODS:
            raise CelError(f"unsupported method '{name}' (at offset {pos})")
        _check_arity("method", name, _METHODS[name], len(args))
        return Call(name, target, args)

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind in ("int", "double", "string"):
            if tok.kind == "int" and tok.value > _INT_MAX:
                raise CelError(f"integer literal out of range: {tok.value}")
            return Lit(tok.value)
        if tok.kind == "ident":
            name = tok.value
            if name == "true":
                return Lit(True)
            if name == "false":
                return Lit(False)
            if name == "null":
                return Lit(None)
            if name in _RESERVED or name == "in":
                raise CelError(f"reserved word '{name}' cannot be used as an identifier")
            if self.accept("("):
                args = self.args()
                if name == "has":
                    if len(args) != 1 or not isinstance(args[0], Select):
                        raise CelError("has() needs a field selection argument, e.g. has(self.field)")
                    return Select(args[0].operand, args[0].field, test_only=True)
                if name not in _GLOBAL_FUNCS:
                    raise CelError(f"unsupported function '{name}' (at offset {tok.pos})")
                _check_arity("function", name, _GLOBAL_FUNCS[name], len(args))
                return Call(name, None, args)
            if self.peek().kind == "punct" and self.peek().value == "{":
                raise CelError("message construction (Type{...}) is not supported")
            return Ident(name)
        if tok.kind == "punct":
            if tok.value == "(":
                node = self.expr()
                self.expect(")")
                return node
            if tok.value == "[":
                items: list[Node] = []
                if not self.accept("]"):
                    while True:
                        items.append(self.expr())
                        if self.accept("]"):
                            break
                        self.expect(",")
                        if self.accept("]"):
                            break
                return ListLit(tuple(items))
            if tok.value == "{":
                entries: list[tuple[Node, Node]] = []
                if not self.accept("}"):
                    while True:
                        key = self.expr()
                        self.expect(":")
                        entries.append((key, self.expr()))
                        if self.accept("}"):
                            break
                        self.expect(",")
                        if self.accept("}"):
                            break
                return MapLit(tuple(entries))
        found = "end of input" if tok.kind == "eof" else repr(tok.value)
        raise CelError(f"syntax error at offset {tok.pos}: unexpected {found}")


# ---------------------------------------------------------------------------------------------------
# Interpreter


def _type_name(v: Any) -> str:
    if v is None:
        return "null_type"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "map"
    return type(v).__name__


def _no_overload(op: str, *vals: Any) -> CelEvalError:
    return CelEvalError(f"no such overload: {op}({', '.join(_type_name(v) for v in vals)})")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_int(v: int) -> int:
    if not _INT_MIN <= v <= _INT_MAX:
        raise CelEvalError("integer overflow")
    return v


def cel_equal(a: Any, b: Any) -> bool:
    if _is_num(a) and _is_num(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(cel_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(cel_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _compare(op: str, a: Any, b: Any) -> bool:
    ok = (_is_num(a) and _is_num(b)) or (type(a) is type(b) and isinstance(a, (str, bool)))
    if not ok:
        raise _no_overload(op, a, b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def unescape_field_name(name: str) -> str:
    """Kubernetes' CEL escaping of property names (``__dash__``, ``__dot__``, ``__namespace__``...)."""
    if name.startswith("__") and name.endswith("__") and len(name) > 4:
        inner = name[2:-2]
        if inner in _RESERVED or inner in ("true", "false", "null", "in"):
            return inner
    return (name.replace("__underscores__", "\x00").replace("__dot__", ".").replace("__dash__", "-")
            .replace("__slash__", "/").replace("\x00", "__"))


def _select(obj: Any, field: str) -> tuple[bool, Any]:
    if not isinstance(obj, dict):
        raise CelEvalError(f"cannot select field '{field}' from {_type_name(obj)}")
    if field in obj:
        return True, obj[field]
    real = unescape_field_name(field)
    if real in obj:
        return True, obj[real]
    return False, None


def _size(v: Any) -> int:
    if isinstance(v, (str, list, dict)):
        return len(v)
    raise _no_overload("size", v)


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        if isinstance(a, str) and isinstance(b, str):
            return a + b
        if isinstance(a, list) and isinstance(b, list):
            return a + b
    if not (_is_num(a) and _is_num(b)):
        raise _no_overload(op, a, b)
    both_int = isinstance(a, int) and isinstance(b, int)
    if op == "+":
        return _check_int(a + b) if both_int else float(a + b)
    if op == "-":
        return _check_int(a - b) if both_int else float(a - b)
    if op == "*":
        return _check_int(a * b) if both_int else float(a * b)
    if op == "/":
        if both_int:
            if b == 0:
                raise CelEvalError("division by zero")
            q = abs(a) // abs(b)
            return _check_int(q if (a >= 0) == (b >= 0) else -q)
        if b == 0:
            return math.copysign(math.inf, a) if a != 0 else math.nan
        return float(a / b)
    if op == "%":
        if not both_int:
            raise _no_overload(op, a, b)
        if b == 0:
            raise CelEvalError("modulus by zero")
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    raise _no_overload(op, a, b)


def _to_int(v: Any) -> int:
    if isinstance(v, bool):
        raise _no_overload("int", v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise CelEvalError("double out of int range")
        return _check_int(int(v))
    if isinstance(v, str):
        try:
            return _check_int(int(v, 10))
        except ValueError:
            raise CelEvalError(f"cannot convert string {v!r} to int") from None
    raise _no_overload("int", v)


def _to_string(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    raise _no_overload("string", v)


def _expect(name: str, v: Any, kind: type) -> Any:
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise _no_overload(name, v)
    return v


def _method(name: str, target: Any, args: list[Any]) -> Any:
    n = len(args)
    if name == "size":
        return _size(target)
    if isinstance(target, list):
        if name == "join":
            sep = _expect(name, args[0], str) if n == 1 else ""
            if not all(isinstance(x, str) for x in target):
                raise _no_overload(name, target)
            return sep.join(target)
        if name == "isSorted":
            return all(_compare("<=", a, b) for a, b in itertools.pairwise(target))
        if name == "sum":
            total: Any = 0
            for x in target:
                total = _arith("+", total, x)
            return total
        if name in ("min", "max"):
            if not target:
                raise CelEvalError(f"{name}() called on an empty list")
            best = target[0]
            for x in target[1:]:
                if _compare("<" if name == "min" else ">", x, best):
                    best = x
            return best
        if name in ("indexOf", "lastIndexOf") and n == 1:
            idx = [i for i, x in enumerate(target) if cel_equal(x, args[0])]
            if not idx:
                return -1
            return idx[0] if name == "indexOf" else idx[-1]
        raise _no_overload(name, target)
    s = _expect(name, target, str)
    if name in ("startsWith", "endsWith", "contains"):
        arg = _expect(name, args[0], str)
        if name == "startsWith":
            return s.startswith(arg)
        if name == "endsWith":
            return s.endswith(arg)
        return arg in s
    if name == "matches":
        return _matches(s, _expect(name, args[0], str))
    if name == "find":
        m = _regex(_expect(name, args[0], str)).search(s)
        return m.group(0) if m else ""
    if name == "findAll":
        found = [m.group(0) for m in _regex(_expect(name, args[0], str)).finditer(s)]
        if n == 2:
            limit = _expect(name, args[1], int)
            return found if limit < 0 else found[:limit]
        return found
    if name == "lowerAscii":
        return "".join(c.lower() if c.isascii() else c for c in s)
    if name == "upperAscii":
        return "".join(c.upper() if c.isascii() else c for c in s)
    if name == "trim":
        return s.strip()
    if name == "split":
        sep = _expect(name, args[0], str)
        if n == 2:
            limit = _expect(name, args[1], int)
            if limit == 0:
                return []
            return s.split(sep, limit - 1) if limit > 0 else s.split(sep)
        return list(s) if sep == "" else s.split(sep)
    if name == "replace":
        old, new = _expect(name, args[0], str), _expect(name, args[1], str)
        if n == 3:
            return s.replace(old, new, _expect(name, args[2], int))
        return s.replace(old, new)
    if name == "substring":
        start = _expect(name, args[0], int)
        end = _expect(name, args[1], int) if n == 2 else len(s)
        if not 0 <= start <= end <= len(s):
            raise CelEvalError(f"substring index out of range: {start}, {end}")
        return s[start:end]
    if name in ("indexOf", "lastIndexOf"):
        sub = _expect(name, args[0], str)
        if n == 2:
            at = _expect(name, args[1], int)
            if not 0 <= at <= len(s):
                raise CelEvalError(f"index out of range: {at}")
            return s.find(sub, at) if name == "indexOf" else s.rfind(sub, 0, at + len(sub))
        return s.find(sub) if name == "indexOf" else s.rfind(sub)
    if name == "charAt":
        i = _expect(name, args[0], int)
        if not 0 <= i <= len(s):
            raise CelEvalError(f"index out of range: {i}")
        return s[i:i + 1]
    raise _no_overload(name, target)


_RE_CACHE: dict[str, re.Pattern[str]] = {}


def _matches(s: str, pattern: str) -> bool:
    return _regex(pattern).search(s) is not None


def _regex(pattern: str) -> re.Pattern[str]:
    rx = _RE_CACHE.get(pattern)
    if rx is None:
        try:
            rx = re.compile(pattern)
        except re.error as err:
            raise CelEvalError(f"invalid regular expression {pattern!r}: {err}") from None
        if len(_RE_CACHE) < 512:
            _RE_CACHE[pattern] = rx
    return rx


class _Error:
    """A deferred evaluation error, for the error-absorbing ``&&``, ``||`` and macros."""

    def __init__(self, err: CelEvalError) -> None:
        self.err = err


class _Interp:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self.vars: dict[str, Any] = dict(variables)

    def eval(self, node: Node) -> Any:
        method: Callable[[Any], Any] = getattr(self, "e_" + type(node).__name__)
        return method(node)

    def soft(self, node: Node) -> Any:
        try:
            return self.eval(node)
        except CelEvalError as err:
            return _Error(err)

    def e_Lit(self, node: Lit) -> Any:
        return node.value

    def e_Ident(self, node: Ident) -> Any:
        if node.name not in self.vars:
            raise CelEvalError(f"undeclared reference to '{node.name}'")
        return self.vars[node.name]

    def e_Select(self, node: Select) -> Any:
        obj = self.eval(node.operand)
        found, value = _select(obj, node.field)
        if node.test_only:
            return found
        if not found:
            raise CelEvalError(f"no such key: {node.field}")
        return value

    def e_Index(self, node: Index) -> Any:
        obj = self.eval(node.operand)
        idx = self.eval(node.index)
        if isinstance(obj, list):
            if isinstance(idx, float) and idx.is_integer():
                idx = int(idx)
            if not isinstance(idx, int) or isinstance(idx, bool):
                raise _no_overload("_[_]", obj, idx)
            if not 0 <= idx < len(obj):
                raise CelEvalError(f"index out of range: {idx}")
            return obj[idx]
        if isinstance(obj, dict):
            for key in obj:
                if cel_equal(key, idx):
                    return obj[key]
            raise CelEvalError(f"no such key: {idx}")
        raise _no_overload("_[_]", obj, idx)

    def e_Unary(self, node: Unary) -> Any:
        v = self.eval(node.operand)
        if node.op == "!":
            if not isinstance(v, bool):
                raise _no_overload("!_", v)
            return not v
        if not _is_num(v):
            raise _no_overload("-_", v)
        return _check_int(-v) if isinstance(v, int) else -v

    def e_Logic(self, node: Logic) -> Any:
        short = node.op == "||"  # the value that decides the result
        pending: Any = None
        for operand in node.operands:
            v = self.soft(operand)
            if v is short:
                return short
            if isinstance(v, _Error):
                pending = pending or v
            elif not isinstance(v, bool):
                pending = pending or _Error(_no_overload(node.op, v))
        if pending is not None:
            raise pending.err
        return not short

    def e_Binary(self, node: Binary) -> Any:
        # Evaluate a left-leaning chain (a + b + c ...) iteratively, so long expressions do not recurse.
        spine: list[Binary] = []
        cur: Node = node
        while isinstance(cur, Binary):
            spine.append(cur)
            cur = cur.left
        acc = self.eval(cur)
        for b in reversed(spine):
            acc = self._binop(b.op, acc, self.eval(b.right))
        return acc

    def _binop(self, op: str, a: Any, b: Any) -> Any:
        if op == "==":
            return cel_equal(a, b)
        if op == "!=":
            return not cel_equal(a, b)
        if op in ("<", "<=", ">", ">="):
            return _compare(op, a, b)
        if op == "in":
            if isinstance(b, list):
                return any(cel_equal(a, x) for x in b)
            if isinstance(b, dict):
                return any(cel_equal(a, k) for k in b)
            raise _no_overload("in", a, b)
        return _arith(op, a, b)

    def e_Cond(self, node: Cond) -> Any:
        cond = self.eval(node.cond)
        if not isinstance(cond, bool):
            raise _no_overload("_?_:_", cond)
        return self.eval(node.then if cond else node.other)

    def e_ListLit(self, node: ListLit) -> Any:
        return [self.eval(item) for item in node.items]

    def e_MapLit(self, node: MapLit) -> Any:
        out: dict[Any, Any] = {}
        for knode, vnode in node.entries:
            key = self.eval(knode)
            if not isinstance(key, (str, int, bool)):
                raise CelEvalError(f"unsupported map key type: {_type_name(key)}")
            if key in out:
                raise CelEvalError(f"repeated key in map literal: {key!r}")
            out[key] = self.eval(vnode)
        return out

    def e_Call(self, node: Call) -> Any:
        if node.target is not None:
            target = self.eval(node.target)
            return _method(node.function, target, [self.eval(a) for a in node.args])
        args = [self.eval(a) for a in node.args]
        name = node.function
        if name == "matches":
            return _matches(_expect(name, args[0], str), _expect(name, args[1], str))
        v = args[0]
        if name == "size":
            return _size(v)
        if name in ("int", "uint"):
            out = _to_int(v)
            if name == "uint" and out < 0:
                raise CelEvalError("uint out of range")
            return out
        if name == "double":
            if _is_num(v):
                return float(v)
            if isinstance(v, str):
                try:
                    return float(v)
                except ValueError:
                    raise CelEvalError(f"cannot convert string {v!r} to double") from None
            raise _no_overload(name, v)
        if name == "string":
            return _to_string(v)
        if name == "bool":
            if isinstance(v, bool):
                return v
            if v in ("true", "True", "TRUE", "t", "1"):
                return True
            if v in ("false", "False", "FALSE", "f", "0"):
                return False
            raise _no_overload(name, v)
        return v  # dyn

    def e_Comprehension(self, node: Comprehension) -> Any:
        target = self.eval(node.target)
        if isinstance(target, list):
            items = list(target)
        elif isinstance(target, dict):
            items = list(target.keys())
        else:
            raise _no_overload(node.macro, target)
        saved = self.vars.get(node.var, _MISSING)
        try:
            return self._comprehend(node, items)
        finally:
            if saved is _MISSING:
                self.vars.pop(node.var, None)
            else:
                self.vars[node.var] = saved

    def _pred(self, node: Node, macro: str) -> Any:
        v = self.soft(node)
        if not isinstance(v, (bool, _Error)):
            raise _no_overload(macro, v)
        return v

    def _comprehend(self, node: Comprehension, items: list[Any]) -> Any:
        macro, var = node.macro, node.var
        if macro in ("all", "exists"):
            decisive = macro == "exists"
            error: _Error | None = None
            for item in items:
                self.vars[var] = item
                v = self._pred(node.args[0], macro)
                if v is decisive:
                    return decisive
                if isinstance(v, _Error) and error is None:
                    error = v
            if error is not None:
                raise error.err
            return not decisive
        if macro == "exists_one":
            count = 0
            for item in items:
                self.vars[var] = item
                v = self.eval(node.args[0])
                if not isinstance(v, bool):
                    raise _no_overload(macro, v)
                count += v
            return count == 1
        if macro == "filter":
            out = []
            for item in items:
                self.vars[var] = item
                v = self.eval(node.args[0])
                if not isinstance(v, bool):
                    raise _no_overload(macro, v)
                if v:
                    out.append(item)
            return out
        # map
        out = []
        for item in items:
            self.vars[var] = item
            if len(node.args) == 2:
                keep = self.eval(node.args[0])
                if not isinstance(keep, bool):
                    raise _no_overload(macro, keep)
                if not keep:
                    continue
            out.append(self.eval(node.args[-1]))
        return out


_MISSING = object()


def _references(root: Node, name: str) -> bool:
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Ident):
            if node.name == name:
                return True
            continue
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, tuple):
                    stack.extend(c for c in child if isinstance(c, Node))
                elif isinstance(child, Node):
                    stack.append(child)
    return False


@dataclasses.dataclass(frozen=True)
class Program:
    """A compiled expression. ``evaluate`` may be called many times, also concurrently."""

    source: str
    ast: Node
    uses_old_self: bool  # a transition rule: it reads ``oldSelf``

    def field_chains(self) -> list[tuple[str, tuple[str, ...]]]:
        """Field selections rooted at a variable: ``self.a.b`` and ``has(self.a.b)`` give ("self", ("a", "b")).

        Used to check rules against the schema the way CEL's type checker does (undefined fields).
        Names are as written (escaped); see ``unescape_field_name``.
        """
        chains: list[tuple[str, tuple[str, ...]]] = []
        stack: list[Node] = [self.ast]
        while stack:
            node = stack.pop()
            if isinstance(node, Select):
                names: list[str] = []
                cur: Node = node
                while isinstance(cur, Select):
                    names.append(cur.field)
                    cur = cur.operand
                if isinstance(cur, Ident):
                    chains.append((cur.name, tuple(reversed(names))))
            for f in dataclasses.fields(node):
                value = getattr(node, f.name)
                for child in value if isinstance(value, tuple) else (value,):
                    if isinstance(child, tuple):
                        stack.extend(c for c in child if isinstance(c, Node))
                    elif isinstance(child, Node):
                        stack.append(child)
        return chains

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        try:
            return _Interp(variables).eval(self.ast)
        except RecursionError:
            raise CelEvalError("expression too deeply nested to evaluate") from None


def compile_expression(source: str) -> Program:
    """Parse ``source``; ``CelError`` names the syntax error or the unsupported construct."""
    if not isinstance(source, str):
        raise CelError("a CEL expression must be a string")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise CelError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    if not source.strip():
        raise CelError("empty expression")
    ast = _Parser(source).parse()
    return Program(source, ast, _references(ast, "oldSelf"))


def evaluate(source: str, **variables: Any) -> Any:
    """Compile and evaluate in one go (tests and one-off checks)."""
    return compile_expression(source).evaluate(variables)
