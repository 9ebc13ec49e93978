"""Streams handlers return: the hijacked raw stream of attach/exec start, and Docker's stdcopy framing.

``HijackResponse`` is the handler-facing side of ``skiff.engine.hijack`` (the uvicorn protocol): on a
connection served by that protocol it answers ``101 UPGRADED`` (client sent ``Upgrade: tcp``) or
``200 OK`` and then raw bytes, delivers the client's later bytes and its half-close to ``stdin``, and closes
the connection when ``output`` is exhausted. Elsewhere (in-process test clients) it degrades to a plain
200 streaming response without stdin.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"
HIJACK_EXTENSION = "skiff.hijack"

StdinCallback = Callable[[AsyncIterator[bytes]], Awaitable[None]]


class HijackChannel:
    """Per-request state shared by the protocol (producer of stdin) and ``HijackResponse`` (consumer).

    The protocol puts it in ``scope["extensions"]["skiff.hijack"]`` for hijackable requests.
    """

    def __init__(self, upgrade: bool) -> None:
        self.upgrade = upgrade  # the client asked for ``Connection: Upgrade`` + ``Upgrade: tcp``
        self.active = False  # set by HijackResponse just before its start message
        self.closed = False  # the connection is gone: stop producing output
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.on_consumed: Callable[[], None] = lambda: None  # protocol hook for read flow control
        # set by the protocol once the head is written: output straight to the connection, past the ASGI
        # middleware stack's ``send`` wrappers (each output chunk of an attach otherwise crosses all of them)
        self.raw_write: Callable[[bytes], Awaitable[None]] | None = None

    # producer side (protocol)
    def feed(self, data: bytes) -> None:
        if data:
            self._stdin.put_nowait(data)

    def feed_eof(self) -> None:
        self._stdin.put_nowait(None)

    def connection_lost(self) -> None:
        self.closed = True
        self._stdin.put_nowait(None)

    @property
    def pending(self) -> int:
        return self._stdin.qsize()

    # consumer side (HijackResponse)
    async def stdin(self) -> AsyncIterator[bytes]:
        """The client's bytes until its half-close (or disconnect)."""
        while True:
            chunk = await self._stdin.get()
            self.on_consumed()
            if chunk is None:
                return
            yield chunk


class HijackResponse(Response):
    """The raw stream of ``attach`` / ``exec start``; see the module docstring."""

    def __init__(self, output: AsyncIterator[bytes], media_type: str = RAW_STREAM,
                 stdin: StdinCallback | None = None, headers: dict[str, str] | None = None) -> None:
        self.output = output
        self.stdin_callback = stdin
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.body = b""
        self.init_headers(headers)
        # no content-length: the stream's end is the connection's end
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = scope.get("extensions", {}).get(HIJACK_EXTENSION)
        if not isinstance(channel, HijackChannel):
            await self._plain(send)
            return
        channel.active = True
        status = 101 if channel.upgrade else 200
        headers = list(self.raw_headers)
        if channel.upgrade:
            headers += [(b"connection", b"Upgrade"), (b"upgrade", b"tcp")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        stdin_task: asyncio.Task[None] | None = None
        if self.stdin_callback is not None:
            stdin_task = asyncio.ensure_future(self.stdin_callback(channel.stdin()))
        try:
            async for chunk in self.output:
                if channel.closed:
                    break
                if chunk:
                    if channel.raw_write is not None:
                        await channel.raw_write(chunk)
                    else:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            with contextlib.suppress(Exception):
                await self.output.aclose()  # type: ignore[attr-defined]
            if stdin_task is not None and not stdin_task.done():
                stdin_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await stdin_task
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _plain(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        async for chunk in self.output:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# --- stdcopy: Docker's multiplexing of stdout/stderr on one stream (non-tty attach, logs, exec) ---


class StdType(enum.IntEnum):
    STDIN = 0
    STDOUT = 1
    STDERR = 2
    SYSTEM = 3  # moby's stdcopy.Systemerr: an error message that ends the stream


_HEADER = struct.Struct(">BxxxL")
HEADER_SIZE = _HEADER.size  # 8
MAX_FRAME = 0xFFFFFFFF


def encode_frame(stream: StdType | int, data: bytes) -> bytes:
    """One frame: ``[stream, 0, 0, 0, size (big-endian uint32)]`` then ``data``; splits are the caller's."""
    if len(data) > MAX_FRAME:
        raise ValueError("stdcopy frame too large")
    return _HEADER.pack(int(stream), len(data)) + data


def encode_frames(stream: StdType | int, data: bytes, max_size: int = 32 * 1024) -> Iterator[bytes]:
    """Frames of at most ``max_size`` payload bytes (Docker writes 32 KiB at most per frame)."""
    for i in range(0, len(data), max_size):
        yield encode_frame(stream, data[i:i + max_size])


@dataclass
class StdcopyDecoder:
    """Incremental decoder: ``feed`` bytes as they arrive, get complete ``(stream, data)`` frames."""

    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[tuple[StdType, bytes]]:
        self._buffer += data
        frames: list[tuple[StdType, bytes]] = []
        while len(self._buffer) >= HEADER_SIZE:
            stream, size = _HEADER.unpack_from(self._buffer)
            if stream not in StdType._value2member_map_:
                raise ValueError(f"unrecognized stdcopy stream id {stream}")
            if len(self._buffer) < HEADER_SIZE + size:
                break
            frames.append((StdType(stream), bytes(self._buffer[HEADER_SIZE:HEADER_SIZE + size])))
            del self._buffer[:HEADER_SIZE + size]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still buffered (non-zero at end of stream means truncation)."""
        return len(self._buffer)


def decode(data: bytes) -> list[tuple[StdType, bytes]]:
    """Decode a complete stdcopy stream; raises ``ValueError`` if it ends mid-frame."""
    decoder = StdcopyDecoder()
    frames = decoder.feed(data)
    if decoder.pending:
        raise ValueError("truncated stdcopy stream")
    return frames
