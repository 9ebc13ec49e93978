"""The snapshotter interface (containerd's snapshots.Snapshotter) and its value types.

A snapshot is either *committed* (immutable, addressed by name, may be a parent) or *active* (writable,
addressed by key, made by ``prepare``) or a *view* (read-only, made by ``view``). Mounts describe how to
see a snapshot's filesystem; callers never look inside a snapshotter's directories.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from skiff.core.mount import Mount


class Kind(enum.StrEnum):
    VIEW = "view"
    ACTIVE = "active"
    COMMITTED = "committed"


@dataclass(frozen=True)
class Info:
    key: str  # the name of a committed snapshot, the key of an active one or view
    kind: Kind
    parent: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0


@dataclass(frozen=True)
class Usage:
    size: int  # bytes in this snapshot's own layer
    inodes: int


class Snapshotter(Protocol):
    def stat(self, key: str) -> Info:
        """NotFound when there is no such snapshot."""
        ...

    def mounts(self, key: str) -> list[Mount]:
        """How to mount an active snapshot or a view."""
        ...

    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        """A new writable snapshot on top of the committed ``parent``; AlreadyExists, NotFound (parent)."""
        ...

    def view(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        """A new read-only snapshot of the committed ``parent``."""
        ...

    def commit(self, name: str, key: str) -> None:
        """Turn the active snapshot ``key`` into the committed snapshot ``name``."""
        ...

    def remove(self, key: str) -> None:
        """FailedPrecondition while another snapshot has it as parent."""
        ...

    def walk(self) -> Iterator[Info]: ...

    def usage(self, key: str) -> Usage: ...

    def close(self) -> None: ...
