"""Garbage collection: remove blobs and committed snapshots that no image, container or lease refers to.

Roots are the image records (their manifest, config and layer blobs; the chain IDs of their layers), every
active snapshot or view (a container's rootfs and its parents) and every leased resource.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from skiff import errdefs
from skiff.core.content.store import Store, read_blob
from skiff.core.images.unpack import chain_ids
from skiff.core.metadata.store import MetadataStore
from skiff.core.snapshots.snapshotter import Kind, Snapshotter


@dataclass
class Collected:
    blobs: list[str] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)


def _image_refs(store: Store, meta: MetadataStore) -> tuple[set[str], set[str]]:
    blobs: set[str] = set()
    snapshots: set[str] = set()
    for rec in meta.images():
        blobs.update((rec.target_digest, rec.config_digest))
        try:
            manifest = json.loads(read_blob(store, rec.target_digest))
            blobs.update(layer["digest"] for layer in manifest.get("layers", []))
            config = json.loads(read_blob(store, rec.config_digest))
            snapshots.update(chain_ids(list(config.get("rootfs", {}).get("diff_ids", []))))
        except (errdefs.NotFound, ValueError, KeyError):
            continue
    return blobs, snapshots


def collect(store: Store, snapshotter: Snapshotter, meta: MetadataStore, leased: set[str]) -> Collected:
    """One mark-and-sweep pass; the caller holds the lock that orders GC against image writes."""
    blobs, keep = _image_refs(store, meta)
    infos = {i.key: i for i in snapshotter.walk()}
    roots = keep | leased | {k for k, i in infos.items() if i.kind != Kind.COMMITTED}
    marked: set[str] = set()
    for key in roots:
        while key and key in infos and key not in marked:
            marked.add(key)
            key = infos[key].parent
    out = Collected()
    doomed = [k for k in infos if k not in marked]
    while doomed:  # children before parents
        parents = {infos[k].parent for k in doomed}
        leaves = [k for k in doomed if k not in parents] or doomed[:1]
        for key in leaves:
            try:
                snapshotter.remove(key)
                meta.delete_layer(key)
                out.snapshots.append(key)
            except (errdefs.NotFound, errdefs.FailedPrecondition):
                pass
            doomed.remove(key)
    for info in store.walk():
        if info.digest not in blobs and info.digest not in leased:
            store.delete(info.digest)
            out.blobs.append(info.digest)
    return out
