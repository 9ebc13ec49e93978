"""Volume operations over the containers backend's local volumes (``skiff.engine.backend.volumes``),
with labels, driver options, list, prune (``skiff.engine.backend.volume_meta``).

Without a backend, lookups answer dockerd's "no such volume".
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from skiff import errdefs
from skiff.engine.backend import volume_meta
from skiff.engine.context import services
from skiff.engine.responses import json_response


def _containers() -> Any:
    containers = services().containers
    return containers if getattr(containers, "volumes", None) is not None else None


def _need() -> Any:
    containers = _containers()
    if containers is None:
        raise errdefs.NotImplemented_("volumes are not available in this daemon")
    return containers


async def inspect(name: str, **_: Any) -> Response:
    containers = _containers()
    if containers is None:
        raise errdefs.NotFound(f"get {name}: no such volume")
    return json_response(volume_meta.describe(containers.volumes, name))


async def delete(name: str, force: bool = False, **_: Any) -> Response:
    containers = _containers()
    if containers is None:
        if force:
            return Response(status_code=204)
        raise errdefs.NotFound(f"get {name}: no such volume")
    containers.volumes.remove(name, containers.volume_users(name), force)
    return Response(status_code=204)


async def create(volume_config: Any = None, **_: Any) -> Response:
    containers = _need()
    body = volume_config if isinstance(volume_config, dict) else {}
    driver = str(body.get("Driver") or "local")
    if driver != "local":
        raise errdefs.NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
    name = str(body.get("Name") or "")
    store = containers.volumes
    existed = bool(name) and store.exists(name)
    name = store.create(name or None)
    labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
    options = {str(k): str(v) for k, v in (body.get("DriverOpts") or {}).items()}
    if not existed:
        try:
            volume_meta.save(store, name, labels, options)
        except errdefs.SkiffError:
            volume_meta.remove_meta(store, name)
            raise
    return json_response(volume_meta.describe(store, name), status=201)


async def list_(filters: str | None = None, **_: Any) -> Response:
    containers = _containers()
    if containers is None:
        return json_response({"Volumes": [], "Warnings": None})
    vols = volume_meta.listing(containers.volumes, containers.volume_users, filters)
    return json_response({"Volumes": vols, "Warnings": None})


async def prune(filters: str | None = None, **_: Any) -> Response:
    containers = _need()
    deleted, reclaimed = volume_meta.prune(containers.volumes, containers.volume_users, filters)
    return json_response({"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed})
