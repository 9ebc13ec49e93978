"""Query parameters follow dockerd: Docker's boolean words and first-value semantics."""

from __future__ import annotations

import pytest
from skiff.engine.querybool import DockerURIParser, docker_bool

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("word", ["", "0", "no", "false", "none", "FALSE", "No", " 0 "])
def test_false_words(word: str) -> None:
    assert docker_bool(word) is False


@pytest.mark.parametrize("word", ["1", "true", "yes", "abc", "2", "True", "on"])
def test_true_words(word: str) -> None:
    assert docker_bool(word) is True


PARAMS = [
    {"name": "all", "in": "query", "type": "boolean", "default": False},
    {"name": "limit", "in": "query", "type": "integer"},
    {"name": "filters", "in": "query", "type": "string"},
    {"name": "id", "in": "path", "type": "string", "required": True},
]


def test_parser_converts_booleans_and_takes_first_value() -> None:
    parser = DockerURIParser(PARAMS, {})
    resolved = parser.resolve_query({"all": ["1", "0"], "limit": ["3", "9"], "filters": ['{"a":1}']})
    assert resolved == {"all": True, "limit": 3, "filters": '{"a":1}'}
    assert parser.resolve_query({"all": ["no"]}) == {"all": False}
    assert parser.resolve_query({"all": [""]}) == {"all": False}
    assert parser.resolve_query({"all": ["whatever"]}) == {"all": True}


def test_unknown_parameters_pass_through() -> None:
    parser = DockerURIParser(PARAMS, {})
    assert parser.resolve_query({"zzz": ["1"]}) == {"zzz": ["1"]}
