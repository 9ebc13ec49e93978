"""Docker's engine events (``docker events``): the backends publish, the ``/events`` handler subscribes.

Messages have dockerd's shape (``status``/``id``/``from`` for old clients, ``Type``/``Action``/``Actor``,
``scope``, ``time``, ``timeNano``). A bounded history serves ``since``; slow subscribers lose the
oldest events rather than block the daemon.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

HISTORY = 256
QUEUE = 1024


def message(
    kind: str,
    action: str,
    actor_id: str,
    attributes: Mapping[str, str] | None = None,
    now_ns: int | None = None,
) -> dict[str, Any]:
    ns = time.time_ns() if now_ns is None else now_ns
    attrs = dict(attributes or {})
    out: dict[str, Any] = {}
    if kind in ("container", "image"):
        out["status"] = action
        out["id"] = actor_id
        if kind == "container" and "image" in attrs:
            out["from"] = attrs["image"]
    out.update(
        {
            "Type": kind,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": attrs},
            "scope": "local",
            "time": ns // 1_000_000_000,
            "timeNano": ns,
        }
    )
    return out


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.history: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)

    def publish(
        self, kind: str, action: str, actor_id: str, attributes: Mapping[str, str] | None = None
    ) -> None:
        event = message(kind, action, actor_id, attributes)
        self.history.append(event)
        for queue in list(self._subscribers):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    async def subscribe(self, since_ns: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Past events from ``since_ns`` (when given), then live ones until the caller stops."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE)
        self._subscribers.add(queue)
        try:
            if since_ns:
                for event in list(self.history):
                    if event["timeNano"] >= since_ns:
                        yield event
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)
