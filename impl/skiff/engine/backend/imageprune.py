"""``docker image prune`` / ``POST /images/prune`` as dockerd's ImageService.ImagesPrune answers it.

Only untagged images unless ``dangling=false``; never an image a container uses; with dangling only, an
image that is the parent of another (a commit's base) is not a candidate, and with ``-a`` an untagged one
is not either. SpaceReclaimed is what dockerd counts: the sizes of the layers that went away (the chain
IDs among the ``Deleted`` entries), not of the images, so an image sharing every layer frees 0 bytes.
"""

from __future__ import annotations

from typing import Any

from skiff import errdefs
from skiff.core.images import references
from skiff.core.images.unpack import chain_ids
from skiff.engine.backend import filters as filters_mod
from skiff.engine.backend import imagehistory, timefmt


def _dangling_only(wanted: dict[str, list[str]]) -> bool:
    values = wanted.get("dangling", [])
    if not values:
        return True
    if any(v in ("false", "0") for v in values):
        return False
    if any(v in ("true", "1") for v in values):
        return True
    raise errdefs.InvalidArgument(f"Invalid filter 'dangling=[{' '.join(values)}]'")


async def prune(svc: Any, filters: str | None, config_of: Any, log: Any) -> dict[str, Any]:
    wanted = filters_mod.parse(filters)
    filters_mod.validate(wanted, ("dangling", "label", "label!", "until"))
    dangling_only = _dangling_only(wanted)
    until_ns = 0
    for value in wanted.get("until", []):
        try:
            until_ns = timefmt.parse_timestamp(value)
        except errdefs.InvalidArgument:
            raise errdefs.InvalidArgument(f'failed to parse value as time or duration: "{value}"') from None
    users = svc._users()
    by_id: dict[str, list[Any]] = {}
    layer_sizes: dict[str, int] = {}
    parents: set[str] = set()
    for image in await svc._all():
        by_id.setdefault(image.id, []).append(image)
        config = config_of(image)
        parents.add(imagehistory.parent_of(image, config))
        sizes = imagehistory.layer_sizes(image)
        layer_sizes.update(zip(chain_ids(list(image.diff_ids)), sizes, strict=False))
    deleted: list[dict[str, str]] = []
    for image_id, entries in by_id.items():
        names = sorted({e.name for e in entries if e.name})
        tagged = [n for n in names if "@" not in n]
        if dangling_only and tagged:
            continue
        if image_id in parents and (dangling_only or not names):
            continue
        if users is not None and users.containers_using(image_id):
            continue
        config = config_of(entries[0])
        labels = (config.get("config") or {}).get("Labels") or {}
        if not filters_mod.match_labels(wanted.get("label", []), labels):
            continue
        if not filters_mod.match_not_labels(wanted.get("label!", []), labels):
            continue
        if until_ns and timefmt.parse_ns(str(config.get("created", ""))) > until_ns:
            continue
        mine: list[dict[str, str]] = []
        try:
            for name in names:
                resp = await svc.core.images_delete(name)
                mine += [{"Untagged": references.familiar(u)} for u in resp.untagged]
                mine += [{"Deleted": d} for d in resp.deleted]
            if not any(d.get("Deleted") == image_id for d in mine):
                resp = await svc.core.images_delete(image_id)
                mine += [{"Deleted": d} for d in resp.deleted]
        except errdefs.NotFound:
            pass
        except errdefs.SkiffError as err:
            log.warning("image prune: cannot delete %s: %s", image_id, err)
            continue
        for d in mine:  # dockerd's ImageDelete events
            if "Untagged" in d:
                svc.events.publish("image", "untag", image_id, {"name": d["Untagged"]})
            elif d["Deleted"] == image_id:
                svc.events.publish("image", "delete", image_id, {"name": image_id})
        deleted += mine
    reclaimed = sum(layer_sizes.get(d["Deleted"], 0) for d in deleted if "Deleted" in d)
    return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}
