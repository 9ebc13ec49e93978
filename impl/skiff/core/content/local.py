"""A content store on the local filesystem: ``blobs/sha256/<hex>``, written through ``ingest/``.

A blob becomes visible only by rename after its digest is verified and the data fsynced, so a crash or a
bad digest never leaves a partial blob where readers look.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from skiff import errdefs
from skiff.core.content.store import Info

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def validate_digest(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise errdefs.InvalidArgument(f"invalid digest {digest!r}")
    return digest


class LocalWriter:
    def __init__(self, store: LocalStore, expected: str) -> None:
        self._store = store
        self._expected = validate_digest(expected) if expected else ""
        fd, name = tempfile.mkstemp(dir=store.ingest_dir, prefix="ingest-")
        self._path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._offset = 0
        self._done = False

    @property
    def offset(self) -> int:
        return self._offset

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self._hash.update(data)
        self._offset += len(data)
        return len(data)

    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def commit(self, size: int = -1, expected: str = "") -> str:
        try:
            actual = self.digest()
            for want in (expected, self._expected):
                if want and want != actual:
                    raise errdefs.FailedPrecondition(f"unexpected commit digest {actual}, expected {want}")
            if size >= 0 and size != self._offset:
                raise errdefs.FailedPrecondition(f"unexpected commit size {self._offset}, expected {size}")
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            target = self._store.blob_path(actual)
            if target.exists():
                self._path.unlink()
            else:
                os.chmod(self._path, 0o444)
                os.rename(self._path, target)
                dfd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
            self._done = True
            return actual
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._file.close()
        self._path.unlink(missing_ok=True)


class LocalStore:
    """Blobs under ``<root>/blobs/sha256``; in-progress writes under ``<root>/ingest``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.blobs_dir = self.root / "blobs" / "sha256"
        self.ingest_dir = self.root / "ingest"
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.ingest_dir.iterdir():  # ingests do not survive a restart
            stale.unlink(missing_ok=True)

    def blob_path(self, digest: str) -> Path:
        return self.blobs_dir / validate_digest(digest).split(":", 1)[1]

    def info(self, digest: str) -> Info:
        try:
            st = self.blob_path(digest).stat()
        except FileNotFoundError:
            raise errdefs.NotFound(f"content {digest}: not found") from None
        return Info(digest, st.st_size, st.st_mtime)

    def read(self, digest: str) -> BinaryIO:
        try:
            return open(self.blob_path(digest), "rb")
        except FileNotFoundError:
            raise errdefs.NotFound(f"content {digest}: not found") from None

    def writer(self, expected: str = "") -> LocalWriter:
        return LocalWriter(self, expected)

    def delete(self, digest: str) -> None:
        try:
            self.blob_path(digest).unlink()
        except FileNotFoundError:
            raise errdefs.NotFound(f"content {digest}: not found") from None

    def walk(self) -> Iterator[Info]:
        for p in sorted(self.blobs_dir.iterdir()):
            if len(p.name) == 64:
                st = p.stat()
                yield Info("sha256:" + p.name, st.st_size, st.st_mtime or time.time())
