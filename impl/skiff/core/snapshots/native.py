"""The native snapshotter: every snapshot is a full copy of its parent (slow, but needs no overlayfs)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from skiff import errdefs
from skiff.core.mount import Mount
from skiff.core.snapshots.snapshotter import Info, Kind, Usage
from skiff.core.snapshots.storage import MetaStore, disk_usage


class NativeSnapshotter:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        (self.root / "snapshots").mkdir(parents=True, exist_ok=True)
        self._ms = MetaStore(self.root / "metadata.db")

    def _dir(self, id: int) -> Path:
        return self.root / "snapshots" / str(id)

    def stat(self, key: str) -> Info:
        return self._ms.get(key).info

    def mounts(self, key: str) -> list[Mount]:
        rec = self._ms.get(key)
        mode = "ro" if rec.info.kind == Kind.VIEW else "rw"
        return [Mount("bind", str(self._dir(rec.id)), (mode, "rbind"))]

    def _create(self, kind: Kind, key: str, parent: str, labels: dict[str, str] | None) -> list[Mount]:
        rec = self._ms.create(key, kind, parent, labels)
        d = self._dir(rec.id)
        try:
            shutil.rmtree(d, ignore_errors=True)
            if parent:
                src = self._dir(self._ms.get(parent).id)
                proc = subprocess.run(["cp", "-a", "--", str(src), str(d)], capture_output=True, text=True)
                if proc.returncode != 0:
                    raise errdefs.Unknown(f"copy snapshot {parent}: {proc.stderr.strip()}")
            else:
                d.mkdir(mode=0o755)
            return self.mounts(key)
        except BaseException:
            self._ms.remove(key)
            shutil.rmtree(d, ignore_errors=True)
            raise

    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(Kind.ACTIVE, key, parent, labels)

    def view(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        return self._create(Kind.VIEW, key, parent, labels)

    def commit(self, name: str, key: str) -> None:
        self._ms.commit(name, key)

    def remove(self, key: str) -> None:
        rec = self._ms.remove(key)
        shutil.rmtree(self._dir(rec.id), ignore_errors=True)

    def walk(self) -> Iterator[Info]:
        return self._ms.walk()

    def usage(self, key: str) -> Usage:
        return disk_usage(self._dir(self._ms.get(key).id))

    def close(self) -> None:
        self._ms.close()
