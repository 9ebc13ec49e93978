"""skiffd's direct stdio: the gRPC Attach/Stdin take over when the shim's socket is out of reach."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from skiff import errdefs
from skiff.core import directio

pytestmark = pytest.mark.unit


class FakeStream:
    def __init__(self, frames: list[bytes]) -> None:
        self.frames = list(frames)
        self.readied = False
        self.cancelled = False

    async def ready(self) -> None:
        self.readied = True

    async def __anext__(self) -> bytes:
        if not self.frames:
            raise StopAsyncIteration
        return self.frames.pop(0)

    def cancel(self) -> None:
        self.cancelled = True


async def _chunks(items: list[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


@pytest.mark.parametrize("endpoint", ["", "missing.sock", errdefs.NotImplemented_("old core")])
def test_attach_falls_back_to_grpc(tmp_path: Path, endpoint: Any) -> None:
    fake = FakeStream([b"\x01\x00\x00\x00\x00\x00\x00\x01a"])

    async def where() -> str:
        if isinstance(endpoint, Exception):
            raise endpoint
        return str(tmp_path / endpoint) if endpoint else ""

    async def run() -> list[bytes]:
        stream = directio.DirectAttach(where, lambda: fake, True, True, "")
        await stream.ready()
        got = [frame async for frame in stream]
        stream.cancel()
        return got

    assert asyncio.run(run()) == [b"\x01\x00\x00\x00\x00\x00\x00\x01a"]
    assert fake.readied and fake.cancelled


def test_stdin_falls_back_with_every_chunk(tmp_path: Path) -> None:
    seen: list[bytes] = []

    async def where() -> str:
        return str(tmp_path / "missing.sock")

    async def grpc(chunks: AsyncIterator[bytes]) -> None:
        seen.extend([c async for c in chunks])

    asyncio.run(directio.write_stdin(where, grpc, "c1", _chunks([b"a", b"b"]), True, ""))
    assert seen == [b"a", b"b"]
