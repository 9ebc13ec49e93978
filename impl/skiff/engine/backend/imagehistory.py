"""``docker history`` and an image's Parent, as dockerd's ImageService.ImageHistory answers them.

Each history entry that is not an empty layer takes the next layer's own size (core reports them in the
image's ``io.skiff.image.layer-sizes`` label). IDs and tags follow the Parent chain that commits record
(``io.skiff.image.parent``): the newest entry is the image, the next its parent, and so on; entries beyond
the chain are ``<missing>``, as for any pulled or loaded image.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from skiff import errdefs
from skiff.engine.backend import timefmt

PARENT_LABEL = "io.skiff.image.parent"
LAYER_SIZES_LABEL = "io.skiff.image.layer-sizes"


def parent_of(image: Any, config: dict[str, Any]) -> str:
    """Docker's Parent: what a commit was made over (or a legacy config's ``parent``)."""
    return str(dict(image.labels).get(PARENT_LABEL) or config.get("parent") or "")


def layer_sizes(image: Any) -> list[int]:
    try:
        sizes = json.loads(dict(image.labels).get(LAYER_SIZES_LABEL) or "[]")
        return [int(s) for s in sizes]
    except (ValueError, TypeError):
        return []


async def history(
    image: Any,
    config_of: Callable[[Any], dict[str, Any]],
    resolve: Callable[[str], Awaitable[Any]],
    tags_of: Callable[[str], Awaitable[list[str]]],
) -> list[dict[str, Any]]:
    config = config_of(image)
    sizes = layer_sizes(image)
    out: list[dict[str, Any]] = []
    layer = 0
    for entry in config.get("history") or []:
        size = 0
        if not entry.get("empty_layer"):
            size = sizes[layer] if layer < len(sizes) else 0
            layer += 1
        out.insert(0, {
            "Comment": str(entry.get("comment", "")),
            "Created": timefmt.parse_ns(str(entry.get("created", ""))) // 1_000_000_000,
            "CreatedBy": str(entry.get("created_by", "")),
            "Id": "<missing>",
            "Size": size,
            "Tags": None,
        })
    current: Any = image
    for item in out:
        item["Id"] = current.id
        item["Tags"] = await tags_of(current.id) or None
        parent = parent_of(current, config_of(current))
        if not parent:
            break
        try:
            current = await resolve(parent)
        except errdefs.NotFound:
            break
    return out
