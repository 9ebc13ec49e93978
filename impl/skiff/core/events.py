"""The event exchange: publishers (any thread) fan events out to every live subscriber."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from skiff.core.timeutil import now


@dataclass(frozen=True)
class Event:
    topic: str  # "/tasks/exit", "/images/create", ...
    container_id: str = ""
    pid: int = 0
    exit_status: int = 0
    exited_at: str = ""
    timestamp: str = field(default_factory=now)
    attributes: dict[str, str] = field(default_factory=dict)


class Exchange:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def publish(self, event: Event) -> None:
        """Safe from any thread; events are delivered on the loop in publication order."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._fan_out(event)
        else:
            self._loop.call_soon_threadsafe(self._fan_out, event)

    def _fan_out(self, event: Event) -> None:
        for q in self._subscribers:
            q.put_nowait(event)

    def subscribe(self) -> Subscription:
        """A subscription registered now: it sees every event published from here on."""
        return Subscription(self)


class Subscription:
    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        exchange._subscribers.add(self._queue)

    def close(self) -> None:
        self._exchange._subscribers.discard(self._queue)

    async def events(self) -> AsyncIterator[Event]:
        try:
            while True:
                yield await self._queue.get()
        finally:
            self.close()
