"""JSON the way Docker's Go daemon writes it: compact, HTML-escaped, newline-terminated.

Handlers return ``json_response(obj)`` (a Starlette ``Response``) rather than dicts: connexion 3 fails on
dict returns for operations that inherit two ``produces`` types (engine-api-notes C3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                             "\u2029": "\\u2029"})


def go_json(obj: Any) -> bytes:
    """Encode like Go's ``json.NewEncoder(w).Encode``: no spaces, ``<>&`` escaped, trailing newline."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text.translate(_GO_ESCAPES) + "\n").encode()


def json_response(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A ``application/json`` response with Docker's encoding (no body for 204 and 304)."""
    if status in (204, 304):
        return Response(status_code=status, headers=dict(headers or {}))
    return Response(go_json(obj), status_code=status, headers=dict(headers or {}),
                    media_type="application/json")
