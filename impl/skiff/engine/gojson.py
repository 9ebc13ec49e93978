"""Go's ``encoding/json`` as dockerd's answers to bad request bodies show it (Go 1.19, Docker 20.10).

dockerd decodes request bodies with ``json.NewDecoder(body).Decode(&v)`` and answers a failure as a 500
whose message is the Go error text. To answer identically, this module reproduces:

- the scanner's syntax errors (``invalid character 'b' looking for beginning of object key string``),
  with the Decoder's rules (``EOF`` for an empty body, ``unexpected EOF`` for a truncated one, anything
  after the first value ignored) or Unmarshal's (``unexpected end of JSON input``, ``after top-level
  value``);
- type mismatches against a model of the Go types (``json: cannot unmarshal string into Go struct field
  ContainerConfigWrapper.Env of type []string``): the first mismatch in document order wins, except that an
  error from a custom ``UnmarshalJSON`` (``strslice.StrSlice``) aborts decoding at once, as in Go.

Decoding also gives the value Go would have built, in the API's JSON shape: keys matched
case-insensitively become the field's name, unknown keys are dropped, duplicate keys merge like Go (last
scalar wins, structs and maps merge), a ``StrSlice`` given as one string becomes a list, invalid UTF-8 and
lone surrogates become U+FFFD.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_NESTING_DEPTH = 10000  # Go's scanner limit (since Go 1.15)
_SPACE = b" \t\r\n"
_SPACE_STR = " \t\r\n"


# --- errors ----------------------------------------------------------------------------------------

class GoJSONError(Exception):
    """A Go ``encoding/json`` error; ``str()`` is Go's ``err.Error()``."""


class GoSyntaxError(GoJSONError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class GoTypeError(GoJSONError):
    """``*json.UnmarshalTypeError``; ``value`` is Go's word for the JSON (``number``, ``number 1.5``)."""

    def __init__(self, value: str, type_name: str, struct: str = "", field_path: str = "") -> None:
        self.value = value
        self.type_name = type_name
        self.struct = struct
        self.field_path = field_path
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.struct or self.field_path:
            return (f"json: cannot unmarshal {self.value} into Go struct field "
                    f"{self.struct}.{self.field_path} of type {self.type_name}")
        return f"json: cannot unmarshal {self.value} into Go value of type {self.type_name}"

    def __str__(self) -> str:
        return self.message


# --- the scanner (Go's encoding/json/scanner.go state machine) --------------------------------------

def _is_print_latin1(c: int) -> bool:
    """Go's ``strconv.IsPrint`` for runes up to U+00FF."""
    return 0x20 <= c <= 0x7E or (0xA1 <= c <= 0xFF and c != 0xAD)


def quote_char(c: int) -> str:
    """Go's ``quoteChar``: the byte as a rune, quoted like ``strconv.Quote`` but in single quotes."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    if c == 0x5C:
        return "'\\\\'"
    if _is_print_latin1(c):
        return f"'{chr(c)}'"
    named = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}
    if c in named:
        return f"'{named[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    return f"'\\u{c:04x}'"


# scan results
_CONTINUE, _SKIP, _END_OBJECT, _END_ARRAY, _END, _ERROR = range(6)
# parse states
_OBJECT_KEY, _OBJECT_VALUE, _ARRAY_VALUE = range(3)

_Step = Callable[["_Scanner", int], int]
_LITERALS = {ord("t"): b"rue", ord("f"): b"alse", ord("n"): b"ull"}
_LITERAL_NAMES = {ord("t"): "true", ord("f"): "false", ord("n"): "null"}


class _Scanner:
    """One step per byte, as Go's ``scanner``; ``err`` is set once a step fails."""

    def __init__(self) -> None:
        self.step: _Step = _Scanner.begin_value
        self.stack: list[int] = []
        self.top_done = False
        self.err: str | None = None
        self.literal = b""
        self.literal_name = ""
        self.hex_left = 0

    def error(self, c: int, context: str) -> int:
        self.step = _Scanner.stopped
        self.err = f"invalid character {quote_char(c)} {context}"
        return _ERROR

    def push(self, c: int, state: int) -> int:
        self.stack.append(state)
        if len(self.stack) <= MAX_NESTING_DEPTH:
            return _CONTINUE
        return self.error(c, "exceeded max depth")

    def pop(self) -> None:
        self.stack.pop()
        if not self.stack:
            self.step = _Scanner.end_top
            self.top_done = True
        else:
            self.step = _Scanner.end_value

    def stopped(self, c: int) -> int:
        return _ERROR

    def begin_value_or_empty(self, c: int) -> int:
        if c in _SPACE:
            return _SKIP
        if c == 0x5D:  # ]
            return self.end_value(c)
        return self.begin_value(c)

    def begin_value(self, c: int) -> int:
        if c in _SPACE:
            return _SKIP
        if c == 0x7B:  # {
            self.step = _Scanner.begin_string_or_empty
            return self.push(c, _OBJECT_KEY)
        if c == 0x5B:  # [
            self.step = _Scanner.begin_value_or_empty
            return self.push(c, _ARRAY_VALUE)
        if c == 0x22:
            self.step = _Scanner.in_string
        elif c == 0x2D:  # -
            self.step = _Scanner.neg
        elif c == 0x30:
            self.step = _Scanner.zero
        elif 0x31 <= c <= 0x39:
            self.step = _Scanner.one
        elif c in _LITERALS:
            self.literal, self.literal_name = _LITERALS[c], _LITERAL_NAMES[c]
            self.step = _Scanner.in_literal
        else:
            return self.error(c, "looking for beginning of value")
        return _CONTINUE

    def begin_string_or_empty(self, c: int) -> int:
        if c in _SPACE:
            return _SKIP
        if c == 0x7D:  # }
            self.stack[-1] = _OBJECT_VALUE
            return self.end_value(c)
        return self.begin_string(c)

    def begin_string(self, c: int) -> int:
        if c in _SPACE:
            return _SKIP
        if c == 0x22:
            self.step = _Scanner.in_string
            return _CONTINUE
        return self.error(c, "looking for beginning of object key string")

    def end_value(self, c: int) -> int:
        if not self.stack:
            self.step = _Scanner.end_top
            self.top_done = True
            return self.end_top(c)
        if c in _SPACE:
            self.step = _Scanner.end_value
            return _SKIP
        state = self.stack[-1]
        if state == _OBJECT_KEY:
            if c == 0x3A:  # :
                self.stack[-1] = _OBJECT_VALUE
                self.step = _Scanner.begin_value
                return _CONTINUE
            return self.error(c, "after object key")
        if state == _OBJECT_VALUE:
            if c == 0x2C:  # ,
                self.stack[-1] = _OBJECT_KEY
                self.step = _Scanner.begin_string
                return _CONTINUE
            if c == 0x7D:
                self.pop()
                return _END_OBJECT
            return self.error(c, "after object key:value pair")
        if c == 0x2C:
            self.step = _Scanner.begin_value
            return _CONTINUE
        if c == 0x5D:
            self.pop()
            return _END_ARRAY
        return self.error(c, "after array element")

    def end_top(self, c: int) -> int:
        if c not in _SPACE:
            self.error(c, "after top-level value")  # reported on the next step, as in Go
        return _END

    def in_string(self, c: int) -> int:
        if c == 0x22:
            self.step = _Scanner.end_value
        elif c == 0x5C:
            self.step = _Scanner.in_string_esc
        elif c < 0x20:
            return self.error(c, "in string literal")
        return _CONTINUE

    def in_string_esc(self, c: int) -> int:
        if c in b'bfnrt\\/"':
            self.step = _Scanner.in_string
            return _CONTINUE
        if c == 0x75:  # u
            self.hex_left = 4
            self.step = _Scanner.in_string_esc_u
            return _CONTINUE
        return self.error(c, "in string escape code")

    def in_string_esc_u(self, c: int) -> int:
        if c in b"0123456789abcdefABCDEF":
            self.hex_left -= 1
            if not self.hex_left:
                self.step = _Scanner.in_string
            return _CONTINUE
        return self.error(c, "in \\u hexadecimal character escape")

    def neg(self, c: int) -> int:
        if c == 0x30:
            self.step = _Scanner.zero
            return _CONTINUE
        if 0x31 <= c <= 0x39:
            self.step = _Scanner.one
            return _CONTINUE
        return self.error(c, "in numeric literal")

    def one(self, c: int) -> int:
        if 0x30 <= c <= 0x39:
            return _CONTINUE
        return self.zero(c)

    def zero(self, c: int) -> int:
        if c == 0x2E:  # .
            self.step = _Scanner.dot
            return _CONTINUE
        if c in b"eE":
            self.step = _Scanner.exp
            return _CONTINUE
        return self.end_value(c)

    def dot(self, c: int) -> int:
        if 0x30 <= c <= 0x39:
            self.step = _Scanner.dot0
            return _CONTINUE
        return self.error(c, "after decimal point in numeric literal")

    def dot0(self, c: int) -> int:
        if 0x30 <= c <= 0x39:
            return _CONTINUE
        if c in b"eE":
            self.step = _Scanner.exp
            return _CONTINUE
        return self.end_value(c)

    def exp(self, c: int) -> int:
        if c in b"+-":
            self.step = _Scanner.exp_sign
            return _CONTINUE
        return self.exp_sign(c)

    def exp_sign(self, c: int) -> int:
        if 0x30 <= c <= 0x39:
            self.step = _Scanner.exp0
            return _CONTINUE
        return self.error(c, "in exponent of numeric literal")

    def exp0(self, c: int) -> int:
        if 0x30 <= c <= 0x39:
            return _CONTINUE
        return self.end_value(c)

    def in_literal(self, c: int) -> int:
        expected = self.literal[0]
        if c != expected:
            return self.error(c, f"in literal {self.literal_name} (expecting '{chr(expected)}')")
        self.literal = self.literal[1:]
        if not self.literal:
            self.step = _Scanner.end_value
        return _CONTINUE


def scan_first_value(data: bytes) -> int:
    """Where the first JSON value of ``data`` ends, by ``json.Decoder``'s rules (it reads no further).

    Raises ``GoJSONError``: ``EOF`` when there is nothing but space, ``unexpected EOF`` when the value is
    cut short, a ``GoSyntaxError`` at the first invalid byte.
    """
    scanner = _Scanner()
    for i, c in enumerate(data):
        result = scanner.step(scanner, c)
        if result == _END:
            return i
        if result in (_END_OBJECT, _END_ARRAY) and _Scanner.end_value(scanner, 0x20) == _END:
            return i + 1
        if result == _ERROR:
            raise GoSyntaxError(scanner.err or "", i)
    if scanner.step(scanner, 0x20) == _END:
        return len(data)
    if data.strip(_SPACE):
        raise GoJSONError("unexpected EOF")
    raise GoJSONError("EOF")


def check_valid(data: bytes) -> None:
    """``json.Unmarshal``'s ``checkValid``: exactly one value, then only space."""
    scanner = _Scanner()
    for i, c in enumerate(data):
        if scanner.step(scanner, c) == _ERROR:
            raise GoSyntaxError(scanner.err or "", i)
    if scanner.err is not None:
        raise GoSyntaxError(scanner.err, len(data))
    if scanner.top_done:
        return
    scanner.step(scanner, 0x20)
    if scanner.top_done:
        return
    raise GoSyntaxError(scanner.err or "unexpected end of JSON input", len(data))


# --- parsing into a tree that keeps what Go's decoder sees --------------------------------------------

class Num(str):
    """A JSON number's literal text (Go's messages quote it: ``number 1.5``)."""


class Pairs(list[tuple[str, Any]]):
    """A JSON object's members in order, duplicates kept."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def _fix_text(node: Any) -> Any:
    """Go decodes invalid UTF-8 and lone surrogates in strings as U+FFFD."""
    if isinstance(node, Pairs):
        return Pairs((_fix_text(k), _fix_text(v)) for k, v in node)
    if isinstance(node, list):
        return [_fix_text(v) for v in node]
    if type(node) is str:
        return _SURROGATE.sub("\ufffd", node)
    return node


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # NaN/Infinity: not JSON for Go


_DECODER = json.JSONDecoder(object_pairs_hook=Pairs, parse_int=Num, parse_float=Num,
                            parse_constant=_no_constants)


def parse_first_value(data: bytes) -> Any:
    """The first JSON value of ``data`` as a tree (``Pairs``, ``list``, ``str``, ``Num``, bool, None).

    Errors are the Decoder's. Python's parser does the work; Go's scanner runs only to name an error.
    """
    text = data.decode("utf-8", "surrogateescape")
    start = len(text) - len(text.lstrip(_SPACE_STR))
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except RecursionError:
        end = scan_first_value(data)  # Go allows 10000 levels, Python's parser fewer
        return _parse_deep(text, start, end)
    except ValueError:
        scan_first_value(data)  # raises Go's error for anything malformed
        raise  # pragma: no cover - Python refused what Go accepts
    if isinstance(value, Num):
        scan_first_value(data)  # Python stops a number where Go's scanner fails ("1." or "1e" then EOF)
    return _fix_text(value) if _SURROGATE.search(text) else value


_TOKEN = re.compile(r'[ \t\r\n]*(?:("(?:[^"\\]|\\.)*")|(-?[0-9][0-9.eE+-]*)|(true|false|null)|([{}\[\]:,]))')
_LITERAL_VALUES = {"true": True, "false": False, "null": None}


def _parse_deep(text: str, start: int, end: int) -> Any:
    """Parse a value Go's scanner accepted but that nests too deeply for Python's recursive parser."""
    stack: list[Any] = []
    keys: list[str | None] = []
    pos, result = start, None
    while pos < end:
        match = _TOKEN.match(text, pos)
        assert match is not None, "the scanner accepted this value"
        pos = match.end()
        string, number, literal, punct = match.groups()
        if punct in ("{", "["):
            stack.append(Pairs() if punct == "{" else [])
            keys.append(None)
            continue
        if punct in (",", ":"):
            continue
        if punct in ("}", "]"):
            value = stack.pop()
            keys.pop()
        elif string is not None:
            value = _fix_text(json.loads(string))
            if isinstance(stack[-1], Pairs) and keys[-1] is None:
                keys[-1] = value
                continue
        else:
            value = Num(number) if number is not None else _LITERAL_VALUES[literal]
        if not stack:
            result = value
            break
        if isinstance(stack[-1], Pairs):
            key = keys[-1]
            assert key is not None
            stack[-1].append((key, value))
            keys[-1] = None
        else:
            stack[-1].append(value)
    return result


# --- the Go type model -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scalar:
    """A Go basic kind (string, bool, int, uint or float); ``name`` is ``reflect.Type.String()``."""

    name: str
    kind: str
    bits: int = 64


@dataclass(frozen=True)
class Slice:
    elem: GoType
    name: str = ""

    @property
    def type_name(self) -> str:
        return self.name or "[]" + go_string(self.elem)


@dataclass(frozen=True)
class Array:
    elem: GoType
    length: int

    @property
    def type_name(self) -> str:
        return f"[{self.length}]{go_string(self.elem)}"


@dataclass(frozen=True)
class Map:
    """A map with string keys."""

    elem: GoType
    name: str = ""

    @property
    def type_name(self) -> str:
        return self.name or "map[string]" + go_string(self.elem)


@dataclass(frozen=True)
class Struct:
    """``name`` is ``reflect.Type.String()`` (``container.HostConfig``); fields in declaration order, embedded
    structs flattened, each as (JSON name, type)."""

    name: str
    fields: tuple[tuple[str, GoType], ...] = field(default=())

    @property
    def short_name(self) -> str:
        """``reflect.Type.Name()``: what Go's messages put before the field path."""
        return "" if self.name.startswith("struct") else self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Ptr:
    elem: GoType


@dataclass(frozen=True)
class StrSlice:
    """``strslice.StrSlice``: its ``UnmarshalJSON`` takes a list of strings or one string."""

    name: str = "strslice.StrSlice"


@dataclass(frozen=True)
class Interface:
    """``interface{}``: anything."""

    name: str = "interface {}"


GoType = Scalar | Slice | Array | Map | Struct | Ptr | StrSlice | Interface

STRING = Scalar("string", "string")
BOOL = Scalar("bool", "bool")
INT = Scalar("int", "int")
INT64 = Scalar("int64", "int")
UINT = Scalar("uint", "uint")
UINT16 = Scalar("uint16", "uint", 16)
UINT32 = Scalar("uint32", "uint", 32)
UINT64 = Scalar("uint64", "uint")
FLOAT64 = Scalar("float64", "float")
EMPTY_STRUCT = Struct("struct {}")


def go_string(t: GoType) -> str:
    """``reflect.Type.String()``."""
    if isinstance(t, Ptr):
        return "*" + go_string(t.elem)
    if isinstance(t, Slice | Array | Map):
        return t.type_name
    return t.name


def type_name(t: GoType) -> str:
    """The type Go names in a mismatch: pointers are dereferenced first."""
    while isinstance(t, Ptr):
        t = t.elem
    return go_string(t)


def zero(t: GoType) -> Any:
    """The Go zero value in JSON shape (``None`` for nil)."""
    if isinstance(t, Scalar):
        return {"string": "", "bool": False, "float": 0.0}.get(t.kind, 0)
    if isinstance(t, Array):
        return [zero(t.elem) for _ in range(t.length)]
    if isinstance(t, Struct):
        return {}
    return None


_INT = re.compile(r"-?[0-9]+\Z")
_UINT = re.compile(r"[0-9]+\Z")


def _describe(node: Any) -> str:
    if isinstance(node, Pairs):
        return "object"
    if isinstance(node, list):
        return "array"
    if isinstance(node, Num):
        return "number"
    if isinstance(node, str):
        return "string"
    return "bool"


class _Abort(Exception):
    """A custom unmarshaler failed: Go stops decoding and returns that error."""


class _Decoder:
    def __init__(self) -> None:
        self.saved: GoTypeError | None = None
        self.fields: list[str] = []
        self.struct: Struct | None = None

    def _with_context(self, err: GoTypeError) -> GoTypeError:
        if self.struct is not None or self.fields:
            err.struct = self.struct.short_name if self.struct is not None else ""
            err.field_path = ".".join(self.fields)
        return err

    def save(self, value: str, t: GoType) -> None:
        if self.saved is None:
            self.saved = self._with_context(GoTypeError(value, type_name(t)))

    def value(self, node: Any, t: GoType, prev: Any) -> Any:
        if isinstance(t, StrSlice):
            return self.strslice(node)
        if node is None:  # null: pointers, slices, maps, interfaces become nil; the rest is unchanged
            return None if isinstance(t, Ptr | Slice | Map | Interface) else prev
        if isinstance(t, Ptr):
            return self.value(node, t.elem, prev)
        if isinstance(t, Interface):
            return self.any_(node)
        if isinstance(t, Scalar):
            return self.scalar(node, t, prev)
        if isinstance(t, Slice | Array):
            if not isinstance(node, list) or isinstance(node, Pairs):
                self.save(_describe(node), t)
                return prev
            if isinstance(t, Slice):
                return [self.element(item, t.elem) for item in node]
            items = [self.element(item, t.elem) for item in node[: t.length]]
            return items + [zero(t.elem) for _ in range(t.length - len(items))]
        if not isinstance(node, Pairs):
            self.save(_describe(node), t)
            return prev
        if isinstance(t, Map):
            result = dict(prev) if isinstance(prev, dict) else {}
            for key, item in node:
                result[key] = self.element(item, t.elem)
            return result
        return self.struct_(node, t, prev)

    def element(self, node: Any, t: GoType) -> Any:
        """A slice, array or map element: decoded into a fresh zero value."""
        result = self.value(node, t, zero(t))
        return result

    def struct_(self, node: Pairs, t: Struct, prev: Any) -> dict[str, Any]:
        result = dict(prev) if isinstance(prev, dict) else {}
        exact = dict(t.fields)
        for key, item in node:
            name, ftype = key, exact.get(key)
            if ftype is None:
                folded = key.casefold()
                for fname, candidate in t.fields:
                    if fname.casefold() == folded:
                        name, ftype = fname, candidate
                        break
            if ftype is None:
                continue  # unknown fields are ignored
            outer_fields, outer_struct = len(self.fields), self.struct
            self.fields.append(name)
            self.struct = t
            result[name] = self.value(item, ftype, result.get(name))
            del self.fields[outer_fields:]
            self.struct = outer_struct
        return result

    def scalar(self, node: Any, t: Scalar, prev: Any) -> Any:
        kind = t.kind
        if isinstance(node, Num):
            if kind == "int" and _INT.match(node) and -(2 ** (t.bits - 1)) <= int(node) < 2 ** (t.bits - 1):
                return int(node)
            if kind == "uint" and _UINT.match(node) and int(node) < 2 ** t.bits:
                return int(node)
            if kind == "float":
                number = float(node)
                if math.isfinite(number) and (t.bits == 64 or abs(number) <= 3.4028234663852886e38):
                    return number
            self.save(f"number {node}" if kind in ("int", "uint", "float") else "number", t)
            return prev
        if isinstance(node, bool):
            if kind == "bool":
                return node
        elif isinstance(node, str) and kind == "string":
            return node
        self.save(_describe(node), t)
        return prev

    def any_(self, node: Any) -> Any:
        if isinstance(node, Pairs):
            return {k: self.any_(v) for k, v in node}
        if isinstance(node, list):
            return [self.any_(v) for v in node]
        if isinstance(node, Num):
            number = float(node)
            if not math.isfinite(number):
                self.save(f"number {node}", FLOAT64)
                return None
            return number
        return node

    def strslice(self, node: Any) -> list[str] | None:
        if node is None:
            return None
        if isinstance(node, list) and not isinstance(node, Pairs):
            if all(item is None or (type(item) is str) for item in node):
                return ["" if item is None else item for item in node]
        elif type(node) is str:
            return [node]
        raise _Abort(self._with_context(GoTypeError(_describe(node), "string")))


def decode_tree(tree: Any, t: GoType) -> Any:
    """Decode a parsed tree into ``t`` as Go would; raises the ``GoTypeError`` Go reports."""
    decoder = _Decoder()
    try:
        result = decoder.value(tree, t, zero(t) if not isinstance(t, Ptr) else None)
    except _Abort as abort:
        err = abort.args[0]
        assert isinstance(err, GoTypeError)
        raise err from None
    if decoder.saved is not None:
        raise decoder.saved
    return result


def decode(data: bytes, t: GoType) -> Any:
    """``json.NewDecoder(bytes.NewReader(data)).Decode(&v)`` with ``v`` of type ``t``: the value in JSON
    shape, or the ``GoJSONError`` whose text dockerd would answer."""
    return decode_tree(parse_first_value(data), t)
