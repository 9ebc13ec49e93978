"""Plugin operations. Skiff has no plugins: lookups answer dockerd's "not found"."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from skiff import errdefs


async def inspect(name: str, **_: Any) -> Response:
    raise errdefs.NotFound(f'plugin "{name}" not found')
