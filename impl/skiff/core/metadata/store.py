"""The daemon's records: image names, containers and unpacked layers (containerd's metadata plugin)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.core.metadata.db import Database, Tx

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
  name TEXT PRIMARY KEY,
  target_media_type TEXT NOT NULL,
  target_digest TEXT NOT NULL,
  target_size INTEGER NOT NULL,
  config_digest TEXT NOT NULL,
  created_at TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS images_config ON images(config_digest);
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY,
  image TEXT NOT NULL,
  snapshot_key TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  spec BLOB NOT NULL DEFAULT x'',
  runtime TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS layers (
  chain_id TEXT PRIMARY KEY,
  diff_id TEXT NOT NULL,
  size INTEGER NOT NULL
)
"""

DANGLING_PREFIX = "<dangling>@"  # the record name of an image no name points at


@dataclass(frozen=True)
class ImageRecord:
    name: str
    target_media_type: str
    target_digest: str
    target_size: int
    config_digest: str
    created_at: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def dangling(self) -> bool:
        return self.name.startswith(DANGLING_PREFIX)


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    image: str
    snapshot_key: str
    runtime: str
    created_at: str
    labels: dict[str, str] = field(default_factory=dict)
    spec: bytes = b""


def dangling_name(config_digest: str) -> str:
    return DANGLING_PREFIX + config_digest


class MetadataStore:
    def __init__(self, path: str | Path) -> None:
        self.db = Database(path, SCHEMA)

    def close(self) -> None:
        self.db.close()

    # ---------- images ----------
    @staticmethod
    def _image(row: object) -> ImageRecord:
        r: Any = row
        return ImageRecord(
            name=str(r["name"]),
            target_media_type=str(r["target_media_type"]),
            target_digest=str(r["target_digest"]),
            target_size=int(r["target_size"]),
            config_digest=str(r["config_digest"]),
            created_at=str(r["created_at"]),
            labels=json.loads(str(r["labels"])),
        )

    def image(self, name: str) -> ImageRecord | None:
        rows = self.db.query("SELECT * FROM images WHERE name = ?", (name,))
        return self._image(rows[0]) if rows else None

    def images(self) -> list[ImageRecord]:
        return [self._image(r) for r in self.db.query("SELECT * FROM images ORDER BY name")]

    def images_by_config(self, config_digest: str, tx: Tx | None = None) -> list[ImageRecord]:
        sql, params = "SELECT * FROM images WHERE config_digest = ? ORDER BY name", (config_digest,)
        rows = tx.query(sql, params) if tx else self.db.query(sql, params)
        return [self._image(r) for r in rows]

    def put_image(self, tx: Tx, rec: ImageRecord) -> None:
        """Create or move a name; the dangling record of its config goes away once a name points at it."""
        tx.execute(
            "INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rec.name, rec.target_media_type, rec.target_digest, rec.target_size, rec.config_digest,
             rec.created_at, json.dumps(rec.labels)),
        )

    def delete_image(self, tx: Tx, name: str) -> None:
        tx.execute("DELETE FROM images WHERE name = ?", (name,))

    # ---------- containers ----------
    @staticmethod
    def _container(row: object) -> ContainerRecord:
        r: Any = row
        return ContainerRecord(
            id=str(r["id"]),
            image=str(r["image"]),
            snapshot_key=str(r["snapshot_key"]),
            runtime=str(r["runtime"]),
            created_at=str(r["created_at"]),
            labels=json.loads(str(r["labels"])),
            spec=bytes(r["spec"]),
        )

    def container(self, id: str) -> ContainerRecord:
        rows = self.db.query("SELECT * FROM containers WHERE id = ?", (id,))
        if not rows:
            raise errdefs.NotFound(f"container {id!r}: not found")
        return self._container(rows[0])

    def containers(self) -> list[ContainerRecord]:
        return [self._container(r) for r in self.db.query("SELECT * FROM containers ORDER BY created_at")]

    def put_container(self, tx: Tx, rec: ContainerRecord) -> None:
        tx.execute(
            "INSERT INTO containers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rec.id, rec.image, rec.snapshot_key, json.dumps(rec.labels), rec.spec, rec.runtime,
             rec.created_at),
        )

    def set_container_spec(self, id: str, spec: bytes) -> None:
        with self.db.transaction() as tx:
            tx.execute("UPDATE containers SET spec = ? WHERE id = ?", (spec, id))

    def delete_container(self, tx: Tx, id: str) -> None:
        tx.execute("DELETE FROM containers WHERE id = ?", (id,))

    # ---------- layers ----------
    def put_layer(self, chain_id: str, diff_id: str, size: int) -> None:
        with self.db.transaction() as tx:
            tx.execute("INSERT OR REPLACE INTO layers VALUES (?, ?, ?)", (chain_id, diff_id, size))

    def layer_size(self, chain_id: str) -> int:
        rows = self.db.query("SELECT size FROM layers WHERE chain_id = ?", (chain_id,))
        return int(rows[0]["size"]) if rows else 0

    def delete_layer(self, chain_id: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM layers WHERE chain_id = ?", (chain_id,))
