"""The content store interface: immutable blobs addressed by digest (containerd's content.Store)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class Info:
    digest: str  # "sha256:<hex>"
    size: int
    created_at: float


class Writer(Protocol):
    """An in-progress blob: bytes go to an ingest file and become visible only on ``commit``."""

    @property
    def offset(self) -> int: ...

    def write(self, data: bytes) -> int: ...

    def digest(self) -> str:
        """The digest of what has been written so far."""
        ...

    def commit(self, size: int = -1, expected: str = "") -> str:
        """Verify size/digest, fsync and publish atomically; returns the digest. Idempotent if it exists."""
        ...

    def abort(self) -> None:
        """Drop the ingest; nothing is left behind."""
        ...


class Store(Protocol):
    def info(self, digest: str) -> Info:
        """NotFound when there is no such blob."""
        ...

    def read(self, digest: str) -> BinaryIO: ...

    def writer(self, expected: str = "") -> Writer:
        """A new writer; ``expected`` (when known up front) is checked again at commit."""
        ...

    def delete(self, digest: str) -> None: ...

    def walk(self) -> Iterator[Info]: ...


def read_blob(store: Store, digest: str) -> bytes:
    """The whole of a small blob (manifests, configs)."""
    with store.read(digest) as f:
        return f.read()


def write_blob(store: Store, data: bytes, expected: str = "") -> str:
    w = store.writer(expected)
    try:
        w.write(data)
        return w.commit(len(data), expected)
    except BaseException:
        w.abort()
        raise
