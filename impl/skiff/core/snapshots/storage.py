"""Snapshot bookkeeping shared by the snapshotters: key -> (numeric id, kind, parent), in SQLite."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.core.metadata.db import Database
from skiff.core.snapshots.snapshotter import Info, Kind, Usage

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  parent TEXT NOT NULL DEFAULT '',
  labels TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Record:
    id: int
    info: Info


class MetaStore:
    def __init__(self, path: str | Path) -> None:
        self.db = Database(path, SCHEMA)

    @staticmethod
    def _record(row: object) -> Record:
        r: Any = row
        info = Info(str(r["key"]), Kind(str(r["kind"])), str(r["parent"]), json.loads(str(r["labels"])),
                    float(r["created_at"]))
        return Record(int(r["id"]), info)

    def get(self, key: str) -> Record:
        rows = self.db.query("SELECT * FROM snapshots WHERE key = ?", (key,))
        if not rows:
            raise errdefs.NotFound(f"snapshot {key}: not found")
        return self._record(rows[0])

    def chain(self, key: str) -> list[Record]:
        """``key``'s record, then its parent's, up to the root."""
        out = [self.get(key)]
        while out[-1].info.parent:
            out.append(self.get(out[-1].info.parent))
        return out

    def create(self, key: str, kind: Kind, parent: str, labels: dict[str, str] | None) -> Record:
        with self.db.transaction() as tx:
            if tx.query("SELECT 1 FROM snapshots WHERE key = ?", (key,)):
                raise errdefs.AlreadyExists(f"snapshot {key}: already exists")
            if parent:
                rows = tx.query("SELECT kind FROM snapshots WHERE key = ?", (parent,))
                if not rows:
                    raise errdefs.NotFound(f"parent snapshot {parent}: not found")
                if rows[0]["kind"] != Kind.COMMITTED:
                    raise errdefs.InvalidArgument(f"parent snapshot {parent} is not committed")
            tx.execute(
                "INSERT INTO snapshots (key, kind, parent, labels, created_at) VALUES (?, ?, ?, ?, ?)",
                (key, kind.value, parent, json.dumps(labels or {}), time.time()),
            )
        return self.get(key)

    def commit(self, name: str, key: str) -> Record:
        with self.db.transaction() as tx:
            rows = tx.query("SELECT kind FROM snapshots WHERE key = ?", (key,))
            if not rows:
                raise errdefs.NotFound(f"snapshot {key}: not found")
            if rows[0]["kind"] != Kind.ACTIVE:
                raise errdefs.FailedPrecondition(f"snapshot {key} is not active")
            if tx.query("SELECT 1 FROM snapshots WHERE key = ?", (name,)):
                raise errdefs.AlreadyExists(f"snapshot {name}: already exists")
            tx.execute("UPDATE snapshots SET key = ?, kind = ? WHERE key = ?",
                       (name, Kind.COMMITTED.value, key))
        return self.get(name)

    def remove(self, key: str) -> Record:
        rec = self.get(key)
        with self.db.transaction() as tx:
            if tx.query("SELECT 1 FROM snapshots WHERE parent = ?", (key,)):
                raise errdefs.FailedPrecondition(f"cannot remove snapshot {key}: it has children")
            tx.execute("DELETE FROM snapshots WHERE key = ?", (key,))
        return rec

    def walk(self) -> Iterator[Info]:
        for row in self.db.query("SELECT * FROM snapshots ORDER BY id"):
            yield self._record(row).info

    def close(self) -> None:
        self.db.close()


def disk_usage(path: Path) -> Usage:
    """Bytes of the non-directories under ``path`` (Docker's SizeRw), each hard-linked inode once."""
    seen: set[tuple[int, int]] = set()
    size = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            if name not in dirnames:
                size += st.st_size
    return Usage(size, len(seen))
