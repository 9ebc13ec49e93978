"""Volume operations over the containers backend's local volumes (``skiff.engine.backend.volumes``).

Only inspect and delete so far; without a backend, lookups answer dockerd's "no such volume".
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from skiff import errdefs
from skiff.engine.context import services
from skiff.engine.responses import json_response


def _containers() -> Any:
    containers = services().containers
    return containers if getattr(containers, "volumes", None) is not None else None


async def inspect(name: str, **_: Any) -> Response:
    containers = _containers()
    if containers is None:
        raise errdefs.NotFound(f"get {name}: no such volume")
    return json_response(containers.volumes.inspect(name))


async def delete(name: str, force: bool = False, **_: Any) -> Response:
    containers = _containers()
    if containers is None:
        if force:
            return Response(status_code=204)
        raise errdefs.NotFound(f"get {name}: no such volume")
    containers.volumes.remove(name, containers.volume_users(name), force)
    return Response(status_code=204)
