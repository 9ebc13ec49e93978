"""``POST /commit``: a new image whose layers are the container's image's plus the container's own diff.

As dockerd: the container is paused while its layer is read (unless ``pause=false`` or already paused),
events ``pause``, ``commit`` and ``unpause`` follow each other, the history entry is the container's
command, and an unchanged container adds an empty history entry but no layer. Without an overlay
upperdir to read (another snapshotter) the image is one squashed layer of the whole tree instead.
"""

from __future__ import annotations

import copy
from typing import Any

from skiff.core.images import references
from skiff.engine.backend import changes as changes_mod
from skiff.engine.backend import export as export_mod
from skiff.engine.backend import fsdiff, interactive, layerdiff, runspec
from skiff.engine.backend.images import ENGINE_DOCKER_VERSION


async def commit(
    backend: Any,
    ref: str,
    repo: str | None = None,
    tag: str | None = None,
    comment: str | None = None,
    author: str | None = None,
    changes: list[str] | None = None,
    config: dict[str, Any] | None = None,
    pause: bool = True,
) -> str:
    record = backend.get(ref)
    name, _partial, _comment = backend.images.import_options(repo, tag, [], comment)
    new_config = copy.deepcopy(record.config)
    for key, value in (config or {}).items():
        if value not in (None, "", [], {}, False, 0):
            new_config[key] = copy.deepcopy(value)
    changes_mod.apply(new_config, changes or [])
    partial: dict[str, Any] = {
        "config": new_config,
        "container": record.id,
        "container_config": record.config,
        "docker_version": ENGINE_DOCKER_VERSION,
        "author": author or "",
    }
    upper, _lowers = fsdiff.overlay_dirs(record.rootfs_mounts)
    if upper:
        partial["parent"] = record.image
        chunks = layerdiff.stream(upper)
    else:
        layers = runspec.rootfs_layers(record.rootfs_mounts)
        partial["comment"] = comment or ""
        chunks = export_mod.stream(layers, init_layer=False)
    created_by = " ".join(str(a) for a in record.config.get("Cmd") or [])
    paused_here = False
    if pause and record.state.running and not record.state.paused:
        await interactive.pause(backend, record.id)
        paused_here = True
    try:
        image = await backend.images.core.images_import(
            chunks, name=name, config=partial, comment=comment or "", created_by=created_by
        )
        image_ref = references.familiar(name) if name else ""
        backend._publish(record, "commit", comment=comment or "", imageID=image.id, imageRef=image_ref)
    finally:
        if paused_here:
            await interactive.unpause(backend, record.id)
    return str(image.id)
