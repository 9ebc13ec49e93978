"""A shim's attach stream read on the event loop, and a stdin stream written from it.

Both speak the shim's wire format (docs/contracts.md) on a connection of their own. The core's Attach and
Stdin use them; so does skiffd's :mod:`skiff.core.directio`, which reaches the shim's socket itself.

The output frames of an attached process go from the shim's socket straight to the gRPC stream on the
loop: no reader thread and no hand-off per frame (a thread hand-off cost more than the rest of the hop).
Back-pressure is the stream reader's: it stops reading the socket while its buffer is full, and it is only
drained as fast as the caller takes frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from skiff import errdefs
from skiff.shim import unixsock
from skiff.shim.protocol import AttachRequest, ShimClient, decode_response, encode_request
from skiff.shim.wire import FRAME_HEADER, decode_frame_header

HANDSHAKE_TIMEOUT_S = 30.0
READ_LIMIT = 256 * 1024  # bytes the reader buffers ahead of the caller before it stops reading the socket


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(HANDSHAKE_TIMEOUT_S)
    try:
        unixsock.connect(sock, path)
    except OSError as err:
        sock.close()
        raise errdefs.Unavailable(f"shim at {path} is unavailable: {err.strerror or err}") from err
    sock.setblocking(False)
    return sock


class ShimAttach:
    """One attach connection to a shim; ``open`` returns once the shim is forwarding output."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, path: str, stdout: bool, stderr: bool, exec_id: str = "") -> ShimAttach:
        sock = await asyncio.to_thread(_connect, path)
        try:
            reader, writer = await asyncio.open_unix_connection(sock=sock, limit=READ_LIMIT)
        except BaseException:
            sock.close()
            raise
        self = cls(reader, writer)
        try:
            writer.write(encode_request(AttachRequest(stdout=stdout, stderr=stderr, exec_id=exec_id)))
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                await writer.drain()
                line = await reader.readline()
            decode_response(line)
        except (OSError, TimeoutError) as err:
            self.close()
            raise errdefs.Unavailable(f"shim at {path}: {err}") from err
        except BaseException:
            self.close()
            raise
        return self

    async def frames(self) -> AsyncIterator[bytes]:
        """Stdcopy frames (header included) until the output ends or the connection breaks."""
        reader = self._reader
        size = FRAME_HEADER.size
        while True:
            try:
                header = await reader.readexactly(size)
                _, length = decode_frame_header(header)
                payload = await reader.readexactly(length) if length else b""
            except (asyncio.IncompleteReadError, OSError):
                return
            yield header + payload

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self._writer.close()


async def open_stdin(path: str, close_on_eof: bool, exec_id: str = "") -> socket.socket:
    """A non-blocking connection whose bytes go to the process's stdin (errdefs.Unavailable when the shim's
    socket cannot be reached)."""
    sock = await asyncio.to_thread(lambda: ShimClient(path).stdin(close_on_eof, exec_id))
    sock.setblocking(False)
    return sock


async def copy_stdin(sock: socket.socket, label: str, chunks: AsyncIterator[bytes]) -> None:
    """Send ``chunks`` on an :func:`open_stdin` connection, then end it and wait until the shim has
    handled the end (so a ``close_on_eof`` stdin is closed for sure); closes ``sock``."""
    loop = asyncio.get_running_loop()
    try:
        async for data in chunks:
            if data:
                try:
                    await loop.sock_sendall(sock, data)
                except OSError as err:  # the shim went away: the process is gone
                    raise errdefs.FailedPrecondition(f"stdin of {label} is closed: {err}") from None
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            while await loop.sock_recv(sock, 4096):
                pass
    finally:
        sock.close()
