"""The input side of attach and the terminal of a container: stdin to the task, resize, pause/unpause.

An attach may arrive before the container starts (``docker run -i`` attaches first): its stdin waits in the
hijacked connection until the task runs, then streams to it. With ``StdinOnce`` the client's half-close
closes the container's stdin (Docker's rule); otherwise the stdin stays open for the next attach.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from skiff import errdefs

log = logging.getLogger(__name__)


async def _running(backend: Any, cid: str) -> bool:
    """Wait until the container runs; False if it was removed first."""
    record = backend.get(cid)
    async with backend.changed:
        await backend.changed.wait_for(lambda: record.state.running or backend._runtime(cid).removed)
    return bool(record.state.running)


async def pump_stdin(backend: Any, ref: str, chunks: AsyncIterator[bytes]) -> None:
    """Copy the attached client's bytes to the container's stdin (the attach's ``stdin`` callback)."""
    record = backend.get(ref)
    if not record.config.get("OpenStdin"):
        async for _ in chunks:  # dockerd reads and drops them
            pass
        return
    if not await _running(backend, record.id):
        return
    close_on_eof = bool(record.config.get("StdinOnce"))
    try:
        await backend.core.tasks_stdin(record.id, chunks, close_on_eof=close_on_eof)
    except errdefs.SkiffError as err:
        log.debug("stdin of %s: %s", record.id, err)


async def resize(backend: Any, ref: str, height: int, width: int) -> None:
    record = backend.get(ref)
    if not record.state.running:
        raise errdefs.Conflict(f"Container {record.id} is not running")
    if not record.config.get("Tty"):
        return  # dockerd answers 200 for a container without a terminal... and the runtime errors; we don't
    if not (0 <= height < 65536 and 0 <= width < 65536):
        raise errdefs.InvalidArgument(f"invalid terminal size {height}x{width}")
    try:
        await backend.core.tasks_resize(record.id, width, height)
    except errdefs.FailedPrecondition as err:
        raise errdefs.Unknown(f"Cannot resize container {record.id}: {err}") from None

