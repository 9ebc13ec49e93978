"""Containers: metadata plus a writable snapshot keyed by the container id on top of its image."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skiff import errdefs
from skiff.core.events import Event
from skiff.core.images.service import ImageService
from skiff.core.metadata.store import ContainerRecord, MetadataStore
from skiff.core.mount import Mount
from skiff.core.snapshots.snapshotter import Snapshotter
from skiff.core.timeutil import now


def default_runtime() -> str:
    """``skiff-runc`` from this interpreter's environment."""
    return str(Path(sys.executable).parent / "skiff-runc")


@dataclass(frozen=True)
class Container:
    record: ContainerRecord
    mounts: list[Mount]


class ContainerService:
    def __init__(
        self,
        meta: MetadataStore,
        snapshotter: Snapshotter,
        images: ImageService,
        has_task: Callable[[str], bool],
        publish: Callable[[Event], None],
        runtime: str = "",
    ) -> None:
        self.meta = meta
        self.snapshotter = snapshotter
        self.images = images
        self.has_task = has_task
        self.publish = publish
        self.runtime = runtime or default_runtime()

    def _mounts(self, rec: ContainerRecord) -> list[Mount]:
        try:
            return self.snapshotter.mounts(rec.snapshot_key)
        except errdefs.NotFound:
            return []

    def create(self, id: str, image: str, labels: dict[str, str], runtime: str = "") -> Container:
        if not id or "/" in id or id in (".", ".."):
            raise errdefs.InvalidArgument(f"invalid container id {id!r}")
        with self.images.lock:  # GC must not take the image's snapshots between resolve and prepare
            image_id, parent = "", ""
            if image:
                img = self.images.get(image)
                image_id, parent = img.record.config_digest, img.chain_id
            with contextlib.suppress(errdefs.NotFound):
                self.meta.container(id)
                raise errdefs.AlreadyExists(f"container {id}: already exists")
            mounts = self.snapshotter.prepare(id, parent, {"container": id})
            rec = ContainerRecord(id, image_id, id, runtime or self.runtime, now(), dict(labels))
            try:
                with self.meta.db.transaction() as tx:
                    self.meta.put_container(tx, rec)
            except BaseException:
                self.snapshotter.remove(id)
                raise
        self.publish(Event("/containers/create", container_id=id, attributes={"image": image_id}))
        return Container(rec, mounts)

    def get(self, id: str) -> Container:
        rec = self.meta.container(id)
        return Container(rec, self._mounts(rec))

    def list_(self) -> list[Container]:
        return [Container(rec, self._mounts(rec)) for rec in self.meta.containers()]

    def delete(self, id: str) -> None:
        rec = self.meta.container(id)
        if self.has_task(id):
            raise errdefs.FailedPrecondition(
                f"cannot delete container {id}: it has a task; delete the task first")
        with self.images.lock:
            with contextlib.suppress(errdefs.NotFound):
                self.snapshotter.remove(rec.snapshot_key)
            with self.meta.db.transaction() as tx:
                self.meta.delete_container(tx, id)
        self.images.collect()  # the layers of an image deleted while this container stood on them
        self.publish(Event("/containers/delete", container_id=id))

    def usage(self, id: str) -> int:
        rec = self.meta.container(id)
        return self.snapshotter.usage(rec.snapshot_key).size
