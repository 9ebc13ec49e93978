"""ShimAttach: the shim's attach handshake and frames, read on the event loop (a fake shim socket)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.core.tasks.attach import ShimAttach
from skiff.shim import wire

pytestmark = pytest.mark.unit

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _with_shim(handler: Handler, body: Callable[[str], Awaitable[None]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "shim.sock")
        server = await asyncio.start_unix_server(handler, path)
        try:
            await body(path)
        finally:
            server.close()
            await server.wait_closed()


def test_frames_in_order_until_the_output_ends() -> None:
    seen: list[dict[str, object]] = []
    frames = [wire.encode_frame(wire.STDOUT, b"a" * 70000), wire.encode_frame(wire.STDERR, b"b"),
              wire.encode_frame(wire.STDOUT, b"")]

    async def shim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(wire.decode_line(await reader.readline()))
        writer.write(wire.result({}) + b"".join(frames))
        writer.write(wire.encode_frame(wire.STDOUT, b"cut")[:6])  # a torn frame at the end is dropped
        await writer.drain()
        writer.close()

    async def body(path: str) -> None:
        attach = await ShimAttach.open(path, stdout=True, stderr=False, exec_id="e1")
        try:
            got = [frame async for frame in attach.frames()]
        finally:
            attach.close()
        assert got == frames

    asyncio.run(_with_shim(shim, body))
    assert seen == [{"method": "attach", "params": {"stdout": True, "stderr": False, "exec_id": "e1"}}]


def test_a_shim_error_and_a_missing_shim_raise() -> None:
    async def shim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(wire.error("NotFound", "no such exec"))
        await writer.drain()
        writer.close()

    async def body(path: str) -> None:
        with pytest.raises(errdefs.NotFound):
            await ShimAttach.open(path, stdout=True, stderr=True, exec_id="nope")
        with pytest.raises(errdefs.Unavailable):
            await ShimAttach.open(path + ".gone", stdout=True, stderr=True)

    asyncio.run(_with_shim(shim, body))
