"""Volume operations. Skiff has no volumes yet: lookups answer dockerd's "no such volume"."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from skiff import errdefs


async def inspect(name: str, **_: Any) -> Response:
    raise errdefs.NotFound(f"get {name}: no such volume")
