"""An in-memory Cgroups for unit tests."""

from __future__ import annotations


class FakeCgroups:
    def __init__(self, path: str = "/fake") -> None:
        self._paths = {"fake": path}
        self.created = False
        self.members: list[int] = []
        self.limits: tuple[int | None, int | None] = (None, None)
        self.destroyed = False

    @property
    def paths(self) -> dict[str, str]:
        return dict(self._paths)

    def create(self) -> None:
        self.created = True

    def add(self, pid: int) -> None:
        self.members.append(pid)

    def set_limits(self, memory_limit: int | None, pids_limit: int | None) -> None:
        self.limits = (memory_limit, pids_limit)

    def pids(self) -> list[int]:
        return list(self.members)

    def destroy(self, timeout: float = 5.0) -> None:
        self.destroyed = True
