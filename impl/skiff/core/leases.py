"""Leases: what an in-flight operation has written but no image or container refers to yet.

Garbage collection keeps every leased blob and snapshot, so an import racing an ``rmi`` never loses the
layer it just committed. Leases live in memory: an operation does not survive a daemon restart, and its
leftovers are collected by the next GC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Lease:
    def __init__(self, manager: Leases) -> None:
        self._manager = manager
        self.resources: set[str] = set()

    def add(self, resource: str) -> None:
        """Protect a blob digest or a snapshot key until the lease ends."""
        with self._manager.lock:
            self.resources.add(resource)


class Leases:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._active: set[Lease] = set()

    @contextmanager
    def lease(self) -> Iterator[Lease]:
        lease = Lease(self)
        with self.lock:
            self._active.add(lease)
        try:
            yield lease
        finally:
            with self.lock:
                self._active.discard(lease)

    def leased(self) -> set[str]:
        with self.lock:
            return set().union(*(lease.resources for lease in self._active))
