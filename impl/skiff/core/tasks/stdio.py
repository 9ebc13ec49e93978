"""Interactive verbs of a task: stdin streams, CloseIO, pty resize, pause/resume.

Each stdin stream gets a shim connection of its own (the shim writes its bytes to the process's stdin), so a
slow reader inside the container never holds up the task's request connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from skiff import errdefs
from skiff.core.tasks.service import TaskService
from skiff.shim.protocol import ShimClient


async def write_stdin(tasks: TaskService, container_id: str, chunks: AsyncIterator[bytes],
                      close_on_eof: bool, exec_id: str = "") -> None:
    """Copy ``chunks`` to the process's stdin; at their end close it if ``close_on_eof``."""
    path = tasks.shim_socket(container_id)
    sock = await asyncio.to_thread(lambda: ShimClient(path).stdin(close_on_eof, exec_id))
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    try:
        async for data in chunks:
            if data:
                try:
                    await loop.sock_sendall(sock, data)
                except OSError as err:  # the shim went away: the process is gone
                    raise errdefs.FailedPrecondition(f"stdin of {container_id} is closed: {err}") from None
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            # the shim closes once it has handled the EOF: then the stdin is closed for sure
            while await loop.sock_recv(sock, 4096):
                pass
    finally:
        sock.close()


async def close_io(tasks: TaskService, container_id: str, exec_id: str = "") -> None:
    await tasks.shim_call(container_id, lambda s: s.close_io(exec_id))


async def resize(tasks: TaskService, container_id: str, width: int, height: int, exec_id: str = "") -> None:
    await tasks.shim_call(container_id, lambda s: s.resize(width, height, exec_id))


async def pause(tasks: TaskService, container_id: str) -> None:
    await tasks.shim_call(container_id, lambda s: s.pause())


async def resume(tasks: TaskService, container_id: str) -> None:
    await tasks.shim_call(container_id, lambda s: s.resume())
