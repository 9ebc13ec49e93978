"""The shim's JSON codec (``_json`` without ``json``) must give exactly what ``json`` gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from skiff.shim import codec

pytestmark = pytest.mark.unit

VALUES: list[Any] = [
    {},
    [],
    "",
    "plain",
    "tab\tnl\nquote\"back\\slash\x00\x1f\x7f é ü 日本 \U0001f600 \u2028",
    0,
    -1,
    2**70,
    1.5,
    -0.0,
    1e300,
    1e-7,
    float("inf"),
    float("-inf"),
    True,
    False,
    None,
    {"exit_status": 137, "exited_at": "2026-11-27T14:00:00.123456789Z", "pid": 4242},
    {"method": "kill", "params": {"signal": 9, "all": False}},
    {"result": {"id": "c1", "status": "running", "deleted": False, "nested": [[{"a": [None]}], {}]}},
    {"args": ["sh", "-c", "echo 'hi' > /dev/null"], "env": ["PATH=/usr/bin"], "cwd": "/", "terminal": True},
    [1, "two", 3.0, [4, [5, {"six": 6}]]],
    {"é": "key not ascii", "": "empty key"},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_matches_json(value: Any) -> None:
    assert codec.dumps(value) == json.dumps(value)
    assert codec.dumps(value, compact=True) == json.dumps(value, separators=(",", ":"))


def test_dumps_non_str_keys_and_errors_match_json() -> None:
    keys: dict[Any, str] = {1: "a", 2.5: "b", False: "c", None: "d"}
    assert codec.dumps(keys) == json.dumps(keys)
    with pytest.raises(TypeError, match="Object of type bytes is not JSON serializable"):
        codec.dumps({"a": b"x"})
    with pytest.raises(TypeError):
        json.dumps({"a": b"x"})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        codec.dumps(loop)


@pytest.mark.parametrize("value", VALUES)
def test_loads_round_trips_like_json(value: Any) -> None:
    text = json.dumps(value)
    for data in (text, text.encode(), f" \n\t{text}\r\n ", json.dumps(value, indent=2).encode()):
        assert repr(codec.loads(data)) == repr(json.loads(data))


def test_loads_nan_and_duplicate_keys_like_json() -> None:
    assert repr(codec.loads("[NaN, Infinity, -Infinity]")) == repr(json.loads("[NaN, Infinity, -Infinity]"))
    assert codec.loads('{"a": 1, "a": 2}') == json.loads('{"a": 1, "a": 2}')


def test_loads_other_encodings_like_json() -> None:
    for data in ('{"a": "é"}'.encode("utf-16"), '{"a": "é"}'.encode("utf-32-le"), b'\xef\xbb\xbf{"a": 1}'):
        assert codec.loads(data) == json.loads(data)


@pytest.mark.parametrize("bad", ["", "   ", "{", '{"a" 1}', '{"a": 1} x', '"abc', "[1,]", "nul", '"\x01"',
                                 b"\xff", "\ufeff{}", "{}{}"])
def test_loads_errors_are_jsons(bad: str | bytes) -> None:
    with pytest.raises(ValueError) as want:
        json.loads(bad)
    with pytest.raises(ValueError) as got:
        codec.loads(bad)
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value)
