"""Progress messages of transfers, and a throttle so a fast download does not flood the stream."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    id: str = ""
    status: str = ""
    current: int = 0
    total: int = 0
    digest: str = ""
    size: int = 0
    image_id: str = ""
    updated: bool = False


Emit = Callable[[Progress], None]


def short_id(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class Throttle:
    """Let a byte-count update through at most every ``interval`` seconds (the last one always)."""

    def __init__(self, emit: Emit, interval: float = 0.1) -> None:
        self.emit = emit
        self.interval = interval
        self._last = 0.0

    def update(self, p: Progress, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self._last = now
            self.emit(p)
