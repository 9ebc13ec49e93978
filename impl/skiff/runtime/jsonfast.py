"""JSON for skiff-runc without importing ``json``.

``import json`` pulls in ``re``, ``enum``, ``functools`` and ``collections``: about 8 ms of a ~28 ms
``skiff-runc state`` on this machine, paid by every create/start/state/kill/delete. The C accelerator
``_json`` (what ``json`` itself uses) needs none of that, so decoding uses its scanner directly and
encoding is a small writer over ``_json.encode_basestring_ascii``. Output matches
``json.dumps(obj, indent=...)`` / compact separators for the types we write (dict, list, str, int,
float, bool, None); tests/unit/runtime/test_runc_jsonfast.py checks that against ``json``.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Context:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str]

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]
_WS = " \t\n\r"


def loads(text: str | bytes) -> Any:
    if isinstance(text, bytes):
        text = text.decode()
    start = len(text) - len(text.lstrip(_WS))
    try:
        obj, end = _scan(text, start)
    except StopIteration as exc:
        raise ValueError(f"invalid JSON at character {exc.value}") from None
    if text[end:].strip(_WS):
        raise ValueError(f"extra data after JSON at character {end}")
    return obj


def dumps(obj: Any, indent: int | None = None, compact: bool = False) -> str:
    """``json.dumps(obj, indent=indent)``; ``compact`` gives ``separators=(",", ":")``."""
    out: list[str] = []
    _write(obj, out, indent, 0, ":" if compact else ": ", "," if compact or indent is not None else ", ")
    return "".join(out)


def _write(obj: Any, out: list[str], indent: int | None, level: int, colon: str, comma: str) -> None:
    if isinstance(obj, str):
        out.append(_json.encode_basestring_ascii(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        out.append(float.__repr__(obj))
    elif isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        out.append("{")
        sep = comma + ("\n" + " " * (indent * (level + 1)) if indent is not None else "")
        if indent is not None:
            out.append("\n" + " " * (indent * (level + 1)))
        for i, (key, value) in enumerate(obj.items()):
            if i:
                out.append(sep)
            out.append(_json.encode_basestring_ascii(str(key)))
            out.append(colon)
            _write(value, out, indent, level + 1, colon, comma)
        if indent is not None:
            out.append("\n" + " " * (indent * level))
        out.append("}")
    elif isinstance(obj, list | tuple):
        if not obj:
            out.append("[]")
            return
        out.append("[")
        sep = comma + ("\n" + " " * (indent * (level + 1)) if indent is not None else "")
        if indent is not None:
            out.append("\n" + " " * (indent * (level + 1)))
        for i, value in enumerate(obj):
            if i:
                out.append(sep)
            _write(value, out, indent, level + 1, colon, comma)
        if indent is not None:
            out.append("\n" + " " * (indent * level))
        out.append("]")
    else:
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
