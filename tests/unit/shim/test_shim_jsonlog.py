"""The json-file writer must match Docker's bytes exactly (checked against the reference dockerd's logs)."""

from __future__ import annotations

import json

import pytest
from skiff.shim import jsonlog
from skiff.shim.timestamps import rfc3339nano

pytestmark = pytest.mark.unit

T = "2026-11-27T13:02:51.621858377Z"


def test_record_format_is_dockers() -> None:
    assert jsonlog.record(b"hello\n", "stdout", T) == (
        b'{"log":"hello\\n","stream":"stdout","time":"2026-11-27T13:02:51.621858377Z"}\n')


@pytest.mark.parametrize(("raw", "quoted"), [
    # observed on dockerd 20.10: printf 'a\tb<&>\n'
    (b"a\tb<&>\n", b'"a\\u0009b\\u003c\\u0026\\u003e\\n"'),
    # printf 'x\xe2\x82y\n': a truncated sequence is one replacement per byte, like Go's decoder
    (b"x\xe2\x82y\n", b'"x\\ufffd\\ufffdy\\n"'),
    (b'q"b\\s\r', b'"q\\"b\\\\s\\r"'),
    (b"\x00\x1b\x7f", b'"\\u0000\\u001b\x7f"'),
    ("é€😀".encode(), '"é€😀"'.encode()),
    ("\u2028\u2029".encode(), b'"\\u2028\\u2029"'),
    ("\ufffd".encode(), '"\ufffd"'.encode()),  # a real U+FFFD stays raw
    (b"\xff", b'"\\ufffd"'),
    (b"\xed\xa0\x80", b'"\\ufffd\\ufffd\\ufffd"'),  # an encoded surrogate is invalid UTF-8
])
def test_quote_escapes_like_moby(raw: bytes, quoted: bytes) -> None:
    assert jsonlog.quote(raw) == quoted


def test_records_are_valid_json() -> None:
    line = jsonlog.record(b"a\tb\x00\xffc\n", "stderr", T)
    assert json.loads(line) == {"log": "a\tb\x00\ufffdc\n", "stream": "stderr", "time": T}


def test_splitter_cuts_at_newlines_and_keeps_them() -> None:
    s = jsonlog.LineSplitter()
    assert list(s.feed(b"one\ntw")) == [b"one\n"]
    assert list(s.feed(b"o\nthree\nfo")) == [b"two\n", b"three\n"]
    assert list(s.flush()) == [b"fo"]
    assert list(s.flush()) == []


def test_splitter_flushes_partial_lines_at_16k() -> None:
    s = jsonlog.LineSplitter()
    data = b"x" * (16 * 1024 * 2 + 10) + b"\n"
    msgs = list(s.feed(data))
    assert [len(m) for m in msgs] == [16384, 16384, 11]
    assert msgs[-1].endswith(b"\n") and not msgs[0].endswith(b"\n")
    assert list(s.flush()) == []


def test_splitter_16k_counts_only_the_pending_line() -> None:
    s = jsonlog.LineSplitter()
    assert list(s.feed(b"ab\n" + b"y" * 16383)) == [b"ab\n"]
    assert list(s.feed(b"y")) == [b"y" * 16384]
    assert list(s.feed(b"\n")) == [b"\n"]


def test_splitter_line_of_exactly_16k_plus_newline() -> None:
    s = jsonlog.LineSplitter()
    assert list(s.feed(b"z" * 16384 + b"\n")) == [b"z" * 16384, b"\n"]


def test_partial_record_has_no_newline_in_log() -> None:
    s = jsonlog.LineSplitter()
    list(s.feed(b"partial"))
    (msg,) = list(s.flush())
    assert json.loads(jsonlog.record(msg, "stdout", T))["log"] == "partial"


@pytest.mark.parametrize(("ns", "text"), [
    (1_795_784_254_216_258_281, "2026-11-27T12:57:34.216258281Z"),
    (1_795_784_254_216_258_000, "2026-11-27T12:57:34.216258Z"),
    (1_795_784_254_000_000_000, "2026-11-27T12:57:34Z"),
    (1_795_784_254_100_000_000, "2026-11-27T12:57:34.1Z"),
])
def test_rfc3339nano_trims_zeros_like_go(ns: int, text: str) -> None:
    assert rfc3339nano(ns) == text
