"""Docker's json-file log format, byte for byte.

Each record is ``{"log":...,"stream":...,"time":...}`` plus a newline. The ``log`` string is escaped the
way moby's jsonlog writer does it, which differs from :func:`json.dumps`: every control byte other than
``\\n`` and ``\\r`` becomes ``\\u00XX`` (so a tab is ``\\u0009``), ``<``, ``>`` and ``&`` are escaped,
U+2028/U+2029 are escaped, and every byte that is not part of valid UTF-8 becomes ``\\ufffd`` (one per
byte, as Go's decoder does). Other non-ASCII text is written raw.

Lines are cut the way Docker's log copier cuts them: at each newline (kept in ``log``), or when 16 KiB have
accumulated without one, or at EOF; those partial records carry no trailing newline.
"""

from __future__ import annotations

import codecs

TYPE_CHECKING = False  # collections.abc costs imports at run time; annotations only need it for mypy
if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_LINE = 16 * 1024
"""Docker's copier buffer: a partial record is emitted once this many bytes arrive without a newline."""

_BAD_BYTE = "\ud800"  # a lone surrogate never comes out of a successful decode, so it marks a bad byte


def _one_bad_byte(exc: UnicodeError) -> tuple[str, int]:
    assert isinstance(exc, UnicodeDecodeError)
    return _BAD_BYTE, exc.start + 1


codecs.register_error("skiff-jsonlog", _one_bad_byte)

_ESCAPES: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update({
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
    ord(_BAD_BYTE): "\\ufffd",
})


def quote(data: bytes) -> bytes:
    """JSON string literal for ``data`` exactly as Docker's jsonlog writer produces it."""
    text = data.decode("utf-8", "skiff-jsonlog").translate(_ESCAPES)
    return b'"' + text.encode("utf-8") + b'"'


def record(log: bytes, stream: str, time: str) -> bytes:
    """One json-file line, newline included."""
    return b"".join((b'{"log":', quote(log), b',"stream":"', stream.encode(), b'","time":"', time.encode(),
                     b'"}\n'))


class LineSplitter:
    """Cuts one stream's bytes into log messages the way Docker's copier does."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._pending = bytearray()
        self._max = max_line

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Yield every complete message (newline-terminated, or ``max_line`` bytes) that ``data`` finishes."""
        self._pending += data
        start = 0
        buf = self._pending
        while True:
            nl = buf.find(b"\n", start, start + self._max)
            if nl >= 0:
                yield bytes(buf[start:nl + 1])
                start = nl + 1
            elif len(buf) - start >= self._max:
                yield bytes(buf[start:start + self._max])
                start += self._max
            else:
                break
        del buf[:start]

    def flush(self) -> Iterator[bytes]:
        """At EOF: whatever is left, as a partial message."""
        if self._pending:
            yield bytes(self._pending)
            self._pending.clear()
