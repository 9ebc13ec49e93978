"""The narrow interface every reference-Docker backend implements (local daemon now, a VM later)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Status:
    """What `status` reports: whether the daemon answers /_ping, and the PID we would stop."""

    running: bool
    pid: int | None
    host: str


class Backend(Protocol):
    """Start, stop and inspect one reference Docker daemon reachable at `host`."""

    host: str

    def start(self) -> bool:
        """Make the daemon answer; return True if this call started it (False: it already answered)."""
        ...

    def stop(self) -> bool:
        """Stop the daemon this backend owns (by its PID); return True if something was stopped."""
        ...

    def status(self) -> Status: ...
