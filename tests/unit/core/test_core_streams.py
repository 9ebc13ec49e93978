"""QueueReader: async producer, blocking consumer, bounded, and errors reach the reader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from skiff.core.streams import QueueReader

pytestmark = pytest.mark.unit


async def chunks(n: int, size: int) -> AsyncIterator[bytes]:
    for i in range(n):
        yield bytes([i % 256]) * size


def test_reads_everything_in_order() -> None:
    async def main() -> bytes:
        reader = QueueReader(asyncio.get_running_loop(), depth=2)
        feeder = asyncio.create_task(reader.feed(chunks(50, 1000)))
        data = await asyncio.to_thread(reader.read)
        await feeder
        return data

    data = asyncio.run(main())
    assert data == b"".join(bytes([i]) * 1000 for i in range(50))


def test_a_failed_request_stream_fails_the_reader() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x"
        raise RuntimeError("client went away")

    async def main() -> None:
        reader = QueueReader(asyncio.get_running_loop(), depth=1)
        feeder = asyncio.create_task(reader.feed(broken()))
        with pytest.raises(ConnectionError):
            await asyncio.to_thread(reader.read)
        with pytest.raises(RuntimeError):
            await feeder

    asyncio.run(main())


def test_fail_never_blocks() -> None:
    async def main() -> None:
        reader = QueueReader(asyncio.get_running_loop(), depth=1)
        await reader.put(b"full")
        reader.fail(ConnectionError("gone"))
        with pytest.raises(ConnectionError):
            await asyncio.to_thread(reader.read)

    asyncio.run(main())
