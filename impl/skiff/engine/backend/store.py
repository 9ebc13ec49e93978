"""The container store: records on disk under ``<data-root>/containers/<id>/`` and name/ID lookup."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.engine.backend.record import Container

log = logging.getLogger("skiff.engine.backend.store")

CONFIG_FILE = "config.v2.json"
HOSTCONFIG_FILE = "hostconfig.json"


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write-then-fsync-rename, so a crash leaves the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    data = json.dumps(obj, separators=(",", ":")).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class NameConflict(errdefs.Conflict):
    pass


class Store:
    """Records by ID, a unique name index, Docker's lookup order (full ID, name, unique ID prefix)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_id: dict[str, Container] = {}
        self._names: dict[str, str] = {}  # "/name" -> id

    def dir(self, container_id: str) -> Path:
        return self.root / container_id

    def load(self) -> list[Container]:
        """Read every record at start-up; broken ones are logged and skipped."""
        self.root.mkdir(parents=True, exist_ok=True)
        for entry in sorted(self.root.iterdir()):
            cfg = entry / CONFIG_FILE
            if not cfg.is_file():
                continue
            try:
                data = json.loads(cfg.read_text())
                hc_path = entry / HOSTCONFIG_FILE
                host_config = json.loads(hc_path.read_text()) if hc_path.is_file() else {}
                record = Container.from_json(data, host_config)
            except (OSError, ValueError, KeyError) as err:
                log.warning("skipping unreadable container record %s: %s", entry, err)
                continue
            self._by_id[record.id] = record
            self._names[record.name] = record.id
        return list(self._by_id.values())

    def reserve(self, name: str, container_id: str) -> None:
        holder = self._names.get(name)
        if holder is not None and holder != container_id:
            raise NameConflict(
                f'Conflict. The container name "{name}" is already in use by container "{holder}". '
                "You have to remove (or rename) that container to be able to reuse that name."
            )
        self._names[name] = container_id

    def release(self, name: str, container_id: str) -> None:
        if self._names.get(name) == container_id:
            del self._names[name]

    def is_reserved(self, container_id: str) -> bool:
        """A name is held for this ID (a create in flight, or a record)."""
        return container_id in self._names.values()

    def name_taken(self, name: str) -> bool:
        return ("/" + name.lstrip("/")) in self._names

    def add(self, record: Container) -> None:
        self.reserve(record.name, record.id)
        self._by_id[record.id] = record
        self.save(record)

    def save(self, record: Container) -> None:
        d = self.dir(record.id)
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_json(d / HOSTCONFIG_FILE, record.host_config)
        atomic_write_json(d / CONFIG_FILE, record.to_json())

    def remove(self, record: Container) -> None:
        self._by_id.pop(record.id, None)
        self.release(record.name, record.id)
        shutil.rmtree(self.dir(record.id), ignore_errors=True)

    def get(self, ref: str) -> Container:
        """Docker's GetContainer: full ID, then name, then a unique ID prefix."""
        if not ref:
            raise errdefs.NotFound("No such container: ")
        found = self._by_id.get(ref)
        if found is not None:
            return found
        by_name = self._names.get("/" + ref.lstrip("/"))
        if by_name is not None:
            return self._by_id[by_name]
        matches = [cid for cid in self._by_id if cid.startswith(ref)]
        if len(matches) > 1:
            raise errdefs.Unknown(f"multiple IDs found with provided prefix: {ref}")
        if matches:
            return self._by_id[matches[0]]
        raise errdefs.NotFound(f"No such container: {ref}")

    def find(self, container_id: str) -> Container | None:
        return self._by_id.get(container_id)

    def __iter__(self) -> Iterator[Container]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)
