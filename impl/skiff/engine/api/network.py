"""Network operations. Skiff has no networks yet: lookups answer dockerd's "not found".

dockerd 20.10 has the predefined ``bridge``, ``host`` and ``none``; skiff answers 404 for them too until
networking exists (``docker inspect`` falls through container -> image -> network -> volume -> plugin and
needs a 404 here to print ``No such object``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from skiff import errdefs


async def inspect(id_: str, **_: Any) -> Response:
    raise errdefs.NotFound(f"network {id_} not found")
