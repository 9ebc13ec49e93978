"""Schemathesis extensions loaded with SCHEMATHESIS_HOOKS=conformance.fuzz.hooks.

`docker_error_shape`: every 4xx/5xx that says it is JSON must be Docker's ``{"message": "<text>"}``.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


def _header(response: Any, name: str) -> str:
    value = response.headers.get(name) or response.headers.get(name.lower()) or ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)


@schemathesis.check
def docker_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error answer in JSON is an object with a string `message` (dockerd's errors.go shape)."""
    if response.status_code < 400 or str(getattr(case, "method", "")).upper() == "HEAD":
        return None  # a HEAD answer has no body to shape
    ctype = _header(response, "Content-Type").split(";")[0].strip().lower()
    if ctype != "application/json":
        return None
    try:
        body = json.loads(response.content or b"")
    except ValueError as exc:
        raise AssertionError(f"error body is not JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        raise AssertionError(f'error body is not {{"message": "..."}}: {str(body)[:200]}')
    return None


# Options that name host-global objects: a fuzzed daemon would adopt and later delete them. The spec's own
# NetworkCreate example names `docker0`, the reference's bridge (a fuzz run once removed it that way).
HOST_GLOBAL_KEYS = frozenset({"com.docker.network.bridge.name"})


def scrub(value: Any) -> Any:
    """Drop options naming host-global objects, at any depth of a generated body."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in HOST_GLOBAL_KEYS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    return scrub(body)
