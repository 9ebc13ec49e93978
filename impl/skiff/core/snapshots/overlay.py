"""The overlayfs snapshotter.

Every snapshot owns ``snapshots/<id>/fs`` (its layer) and ``snapshots/<id>/work``. Committed snapshots are
read-only lower dirs shared by every child; an active snapshot mounts as overlay with its parents' ``fs``
dirs as ``lowerdir`` (nearest first) and its own ``fs`` as ``upperdir``. Numeric ids keep the mount
options short enough for many layers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from skiff.core.mount import Mount
from skiff.core.snapshots.snapshotter import Info, Kind, Usage
from skiff.core.snapshots.storage import MetaStore, Record, disk_usage


class OverlaySnapshotter:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        (self.root / "snapshots").mkdir(parents=True, exist_ok=True)
        self._ms = MetaStore(self.root / "metadata.db")

    def _dir(self, id: int) -> Path:
        return self.root / "snapshots" / str(id)

    def _mounts(self, rec: Record) -> list[Mount]:
        chain = self._ms.chain(rec.info.key)
        parents = [self._dir(r.id) / "fs" for r in chain[1:]]
        own = self._dir(rec.id)
        if rec.info.kind == Kind.VIEW:
            if not parents:
                return [Mount("bind", str(own / "fs"), ("ro", "rbind"))]
            if len(parents) == 1:
                return [Mount("bind", str(parents[0]), ("ro", "rbind"))]
            return [Mount("overlay", "overlay", ("lowerdir=" + ":".join(map(str, parents)),))]
        if not parents:
            return [Mount("bind", str(own / "fs"), ("rw", "rbind"))]
        return [Mount("overlay", "overlay", (
            "index=off",
            f"workdir={own / 'work'}",
            f"upperdir={own / 'fs'}",
            "lowerdir=" + ":".join(map(str, parents)),
        ))]

    def stat(self, key: str) -> Info:
        return self._ms.get(key).info

    def mounts(self, key: str) -> list[Mount]:
        return self._mounts(self._ms.get(key))

    def _create(self, kind: Kind, key: str, parent: str, labels: dict[str, str] | None) -> list[Mount]:
        rec = self._ms.create(key, kind, parent, labels)
        d = self._dir(rec.id)
        try:
            shutil.rmtree(d, ignore_errors=True)  # a leftover of a crash between mkdir and commit
            (d / "fs").mkdir(parents=True, mode=0o755)
            (d / "work").mkdir(mode=0o700)
            return self._mounts(rec)
        except BaseException:
            self._ms.remove(key)
            shutil.rmtree(d, ignore_errors=True)
            raise

    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(Kind.ACTIVE, key, parent, labels)

    def view(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(Kind.VIEW, key, parent, labels)

    def commit(self, name: str, key: str) -> None:
        rec = self._ms.commit(name, key)
        shutil.rmtree(self._dir(rec.id) / "work", ignore_errors=True)
        (self._dir(rec.id) / "work").mkdir(mode=0o700, exist_ok=True)

    def remove(self, key: str) -> None:
        rec = self._ms.remove(key)
        shutil.rmtree(self._dir(rec.id), ignore_errors=True)

    def walk(self) -> Iterator[Info]:
        return self._ms.walk()

    def usage(self, key: str) -> Usage:
        return disk_usage(self._dir(self._ms.get(key).id) / "fs")

    def upper_dir(self, key: str) -> Path:
        """The directory holding ``key``'s own layer (for appliers and diff sizes)."""
        return self._dir(self._ms.get(key).id) / "fs"

    def close(self) -> None:
        self._ms.close()
