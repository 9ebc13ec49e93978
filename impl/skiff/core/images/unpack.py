"""Unpack an image's layers into committed snapshots named by chain ID (shared by every image)."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import dataclass

from skiff import errdefs
from skiff.core.content.store import Store
from skiff.core.diff.apply import apply_layer
from skiff.core.leases import Lease
from skiff.core.metadata.store import MetadataStore
from skiff.core.snapshots.snapshotter import Snapshotter

EXTRACT_PREFIX = "extract-"


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln))."""
    out: list[str] = []
    for diff_id in diff_ids:
        chained = "sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest() if out else diff_id
        out.append(chained)
    return out


@dataclass(frozen=True)
class Layer:
    digest: str  # the blob in the content store (maybe compressed)
    diff_id: str  # the uncompressed digest the config promises


class Unpacker:
    def __init__(self, store: Store, snapshotter: Snapshotter, meta: MetadataStore) -> None:
        self.store = store
        self.snapshotter = snapshotter
        self.meta = meta

    def _exists(self, key: str) -> bool:
        try:
            self.snapshotter.stat(key)
            return True
        except errdefs.NotFound:
            return False

    def unpack(self, layers: list[Layer], lease: Lease) -> str:
        """Apply each layer not yet unpacked; returns the top chain ID ("" for no layers)."""
        parent = ""
        for layer, chain in zip(layers, chain_ids([lay.diff_id for lay in layers]), strict=True):
            lease.add(chain)
            if not self._exists(chain):
                self._apply(layer, chain, parent, lease)
            parent = chain
        return parent

    def _apply(self, layer: Layer, chain: str, parent: str, lease: Lease) -> None:
        key = f"{EXTRACT_PREFIX}{uuid.uuid4().hex}-{chain}"
        lease.add(key)
        mounts = self.snapshotter.prepare(key, parent)
        try:
            with self.store.read(layer.digest) as blob:
                # an uncompressed blob is its own diff: the store verified that digest when it was written
                result = apply_layer(blob, mounts, layer.diff_id if layer.digest == layer.diff_id else "")
            if result.diff_id != layer.diff_id:
                raise errdefs.InvalidArgument(
                    f"layer {layer.digest}: its content has diff ID {result.diff_id}, "
                    f"the image says {layer.diff_id}"
                )
            try:
                self.snapshotter.commit(chain, key)
            except errdefs.AlreadyExists:  # unpacked meanwhile by a concurrent import
                self.snapshotter.remove(key)
            self.meta.put_layer(chain, layer.diff_id, result.size)
        except BaseException:
            with contextlib.suppress(errdefs.NotFound):
                self.snapshotter.remove(key)
            raise
