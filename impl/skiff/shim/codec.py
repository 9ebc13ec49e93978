"""JSON for the shim process without importing :mod:`json`.

``import json`` pulls in ``re`` and ``enum``: about 1 MB of anonymous memory in every idle shim, one per
container. Its C accelerator ``_json`` needs none of that, so this module drives the C scanner and encoder
directly. Anything the fast path does not accept (malformed input, a byte-order mark, another encoding) is
handed to :mod:`json` itself, imported only then, so results and error messages stay exactly
``json.loads``'s; encoding is byte-identical to ``json.dumps`` (tests/unit/shim/test_shim_codec.py).
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False  # typing costs ~8 ms of imports at run time; annotations only need it for mypy
if TYPE_CHECKING:
    from typing import Any

_WS = " \t\n\r"
_NAN = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Decoder:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder`` with default options."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_NAN.__getitem__)


_scan = _json.make_scanner(_Decoder())  # type: ignore[arg-type]


def _default(obj: Any) -> Any:
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


def _encoder(item_separator: str, key_separator: str) -> Any:
    # what json.JSONEncoder.iterencode passes for its defaults (ensure_ascii, check_circular, allow_nan)
    return _json.make_encoder({}, _default, _json.encode_basestring_ascii, None, key_separator,
                              item_separator, False, False, True)


_compact = _encoder(",", ":")
_spaced = _encoder(", ", ": ")


def loads(data: str | bytes) -> Any:
    """``json.loads(data)``."""
    try:
        text = data.decode() if isinstance(data, bytes) else data
        start = len(text) - len(text.lstrip(_WS))
        obj, end = _scan(text, start)
        if not text[end:].strip(_WS):
            return obj
    except Exception:  # the slow path below gives json's own error
        pass
    import json  # only for input the fast path refuses: json's exact result or error

    return json.loads(data)


def dumps(obj: Any, compact: bool = False) -> str:
    """``json.dumps(obj)``; ``compact`` gives ``separators=(",", ":")``."""
    if isinstance(obj, str):
        return str(_json.encode_basestring_ascii(obj))
    return "".join((_compact if compact else _spaced)(obj, 0))
