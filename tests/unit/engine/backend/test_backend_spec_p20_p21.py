"""Spec patches P20 (logs since/until as decimal strings) and P21 (optional commit body)."""

from __future__ import annotations

from typing import Any

import pytest
from skiff.engine import spec as specmod

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return specmod._yaml_load(specmod.SPEC_FILE.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def patched() -> dict[str, Any]:
    return specmod.build_spec()


def param(spec: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    return next(p for p in spec["paths"][path][method]["parameters"] if p["name"] == name)  # type: ignore[no-any-return]


def test_p20_logs_since_until_are_strings(raw: dict[str, Any], patched: dict[str, Any]) -> None:
    """The CLI sends "1767225600.000000000": an integer type refused it before the handler saw it."""
    for path, names in [
        ("/containers/{id}/logs", ("since", "until")),
        ("/services/{id}/logs", ("since",)),
        ("/tasks/{id}/logs", ("since",)),
    ]:
        for name in names:
            before, after = param(raw, path, "get", name), param(patched, path, "get", name)
            assert (before["type"], before.get("default")) == ("integer", 0)
            assert after["type"] == "string" and "default" not in after


def test_p21_commit_body_is_nullable(raw: dict[str, Any], patched: dict[str, Any]) -> None:
    assert "x-nullable" not in param(raw, "/commit", "post", "containerConfig")
    assert param(patched, "/commit", "post", "containerConfig")["x-nullable"] is True


def test_p20_p21_are_loaded_by_name() -> None:
    names = {p.name for p in specmod.load_patches()}
    assert {"P20-logs-since-until-decimal", "P21-commit-body-optional"} <= names
