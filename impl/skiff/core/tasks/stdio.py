"""Interactive verbs of a task: stdin streams, CloseIO, pty resize, pause/resume.

Each stdin stream gets a shim connection of its own (the shim writes its bytes to the process's stdin), so a
slow reader inside the container never holds up the task's request connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from skiff.core.tasks.attach import copy_stdin, open_stdin
from skiff.core.tasks.service import TaskService


async def write_stdin(tasks: TaskService, container_id: str, chunks: AsyncIterator[bytes],
                      close_on_eof: bool, exec_id: str = "") -> None:
    """Copy ``chunks`` to the process's stdin; at their end close it if ``close_on_eof``."""
    sock = await open_stdin(tasks.shim_socket(container_id), close_on_eof, exec_id)
    await copy_stdin(sock, container_id, chunks)


async def close_io(tasks: TaskService, container_id: str, exec_id: str = "") -> None:
    await tasks.shim_call(container_id, lambda s: s.close_io(exec_id))


async def resize(tasks: TaskService, container_id: str, width: int, height: int, exec_id: str = "") -> None:
    await tasks.shim_call(container_id, lambda s: s.resize(width, height, exec_id))


async def pause(tasks: TaskService, container_id: str) -> None:
    await tasks.shim_call(container_id, lambda s: s.pause())


async def resume(tasks: TaskService, container_id: str) -> None:
    await tasks.shim_call(container_id, lambda s: s.resume())
