"""Bridges between gRPC's async request streams and the blocking readers the image code consumes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import queue
from collections.abc import AsyncIterator
from typing import Any


class QueueReader(io.RawIOBase):
    """A blocking, read-only file fed chunk by chunk from the event loop (at most ``depth`` chunks ahead)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int = 8) -> None:
        self._loop = loop
        self._q: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=depth)
        self._buf = b""
        self._eof = False
        self._space = asyncio.Event()
        self._error: BaseException | None = None
        self.abandoned = False  # the consumer stopped reading: the producer can stop

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._error is not None:
            raise self._error
        while not self._buf and not self._eof:
            item = self._q.get()
            self._loop.call_soon_threadsafe(self._space.set)
            if item is None:
                self._eof = True
            elif isinstance(item, BaseException):
                self._error = item
                raise item
            else:
                self._buf = item
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def abandon(self) -> None:
        self.abandoned = True
        self._loop.call_soon_threadsafe(self._space.set)

    def fail(self, err: BaseException) -> None:
        """End the stream with ``err`` without blocking (the producer is gone: nobody else will feed it)."""
        while True:
            try:
                self._q.put_nowait(err)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._q.get_nowait()

    async def put(self, item: bytes | BaseException | None) -> None:
        while not self.abandoned:
            try:
                self._q.put_nowait(item)
                return
            except queue.Full:
                self._space.clear()
                if self._q.full() and not self.abandoned:
                    await self._space.wait()

    async def feed(self, chunks: AsyncIterator[bytes]) -> None:
        """Copy ``chunks`` in, then end-of-file; an error in the request stream reaches the reader."""
        try:
            async for chunk in chunks:
                if self.abandoned:
                    return
                if chunk:
                    await self.put(chunk)
        except BaseException as err:
            self.fail(ConnectionError(f"request stream failed: {err!r}"))
            raise
        await self.put(None)
