"""``GET /system/df``: images, containers, volumes and build cache, with sizes, as dockerd reports them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from skiff.engine.backend import volume_meta


async def data_usage(containers: Any, images: Any) -> dict[str, Any]:
    ctrs = await containers.list_(all_=True, size=True)
    imgs = await images.list_(all_=False) if images is not None else []
    per_image: dict[str, int] = {}
    for c in ctrs:
        per_image[c["ImageID"]] = per_image.get(c["ImageID"], 0) + 1
    for img in imgs:
        img["Containers"] = per_image.get(img["Id"], 0)
        img.setdefault("SharedSize", 0)
    vols = []
    store = getattr(containers, "volumes", None)
    if store is not None:
        for name in store.names():
            v = volume_meta.describe(store, name)
            size = await asyncio.to_thread(volume_meta.dir_size, Path(store.mountpoint(name)))
            v["UsageData"] = {"Size": size, "RefCount": len(containers.volume_users(name))}
            vols.append(v)
    return {
        "LayersSize": sum(int(i.get("Size") or 0) for i in imgs),
        "Images": imgs,
        "Containers": ctrs,
        "Volumes": vols,
        "BuildCache": [],
    }
