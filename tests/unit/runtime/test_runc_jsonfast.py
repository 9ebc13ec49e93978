"""jsonfast (the _json-based codec that keeps ``import json`` off the start path) agrees with json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from skiff.runtime import jsonfast

pytestmark = pytest.mark.unit

SAMPLES: list[Any] = [
    {}, [], "", 0, -3, 1.5, True, False, None, "é\n\"\\\t\u2028",
    {"ociVersion": "1.0.2-dev", "id": "c1", "pid": 42, "annotations": {"a": "b"}, "list": [1, [2, {}], []]},
    [{"nested": {"deep": [None, True, 1e100]}}],
]


@pytest.mark.parametrize("obj", SAMPLES)
def test_dumps_matches_json(obj: Any) -> None:
    assert jsonfast.dumps(obj) == json.dumps(obj)
    assert jsonfast.dumps(obj, indent=2) == json.dumps(obj, indent=2)
    assert jsonfast.dumps(obj, compact=True) == json.dumps(obj, separators=(",", ":"))
    assert jsonfast.loads(json.dumps(obj)) == obj


def test_tuples_as_lists() -> None:
    assert jsonfast.dumps({"a": (1, 2)}) == '{"a": [1, 2]}'


@pytest.mark.parametrize("bad", ["", "{", '{"a": }', "[1,]", "1 2", "nul"])
def test_loads_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        jsonfast.loads(bad)


def test_loads_bytes_and_whitespace() -> None:
    assert jsonfast.loads(b'  {"a": [1]}\n') == {"a": [1]}


def test_unserializable() -> None:
    with pytest.raises(TypeError):
        jsonfast.dumps({"a": object()})
