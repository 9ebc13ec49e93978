"""skiffd's attach and stdin straight to a task's shim, past the core's gRPC hop.

dockerd reads and writes a container's stdio FIFOs itself; containerd only names them. Here the core names
the shim's socket (``Tasks.Stdio``) and :class:`~skiff.core.client.CoreClient` speaks the shim's ``attach``
and ``stdin`` wire format on it (docs/contracts.md), through :mod:`skiff.core.tasks.attach`, so the engine
never imports the shim. When there is no path or it cannot be reached (a remote core, an older core, a
finished task) the gRPC ``Attach``/``Stdin`` are used instead, with their exact semantics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from skiff import errdefs
from skiff.core.tasks.attach import ShimAttach, copy_stdin, open_stdin

log = logging.getLogger(__name__)

Endpoint = Callable[[], Awaitable[str]]  # the shim's socket path, "" when there is none to use


async def _endpoint(endpoint: Endpoint) -> str:
    try:
        return await endpoint()
    except errdefs.SkiffError as err:  # the gRPC call answers the same error with its exact semantics
        log.debug("no stdio endpoint: %s", err)
        return ""


class DirectAttach:
    """A ``tasks_attach`` stream read from the shim's socket (``ready()``, ``async for``, ``cancel()``),
    or the gRPC stream ``fallback()`` makes when the socket is out of reach."""

    def __init__(self, endpoint: Endpoint, fallback: Callable[[], Any], stdout: bool, stderr: bool,
                 exec_id: str) -> None:
        self._endpoint = endpoint
        self._fallback_factory = fallback
        self._stdout = stdout
        self._stderr = stderr
        self._exec_id = exec_id
        self._opening: asyncio.Future[None] | None = None
        self._shim: ShimAttach | None = None
        self._frames: AsyncIterator[bytes] | None = None
        self._fallback: Any = None
        self._cancelled = False

    async def _open(self) -> None:
        path = await _endpoint(self._endpoint)
        if path:
            try:
                self._shim = await ShimAttach.open(path, self._stdout, self._stderr, self._exec_id)
            except errdefs.Unavailable as err:
                log.debug("attach via %s: %s; through the core", path, err)
            else:
                if self._cancelled:
                    self._shim.close()
                self._frames = self._shim.frames()
                return
        self._fallback = self._fallback_factory()
        if self._cancelled:
            self._fallback.cancel()
        await self._fallback.ready()

    async def _ensure(self) -> None:
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        await asyncio.shield(self._opening)

    async def ready(self) -> None:
        """Returns once the shim is forwarding output (as the gRPC stream's initial metadata)."""
        await self._ensure()

    def __aiter__(self) -> DirectAttach:
        return self

    async def __anext__(self) -> bytes:
        await self._ensure()
        if self._fallback is not None:
            return bytes(await self._fallback.__anext__())
        if self._cancelled or self._frames is None:
            raise StopAsyncIteration
        try:
            return await self._frames.__anext__()
        except StopAsyncIteration:
            self.cancel()  # the output ended: close the connection now, not when it is collected
            raise

    def cancel(self) -> None:
        self._cancelled = True
        if self._shim is not None:
            self._shim.close()
        if self._fallback is not None:
            self._fallback.cancel()
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()

    async def aclose(self) -> None:
        self.cancel()


async def write_stdin(endpoint: Endpoint, fallback: Callable[[AsyncIterator[bytes]], Awaitable[None]],
                      label: str, chunks: AsyncIterator[bytes], close_on_eof: bool, exec_id: str) -> None:
    """Copy ``chunks`` to the process's stdin on a shim connection of skiffd's own; ``fallback(chunks)``
    (the gRPC stream) when the shim's socket is out of reach. No chunk is taken before that is known."""
    path = await _endpoint(endpoint)
    sock = None
    if path:
        try:
            sock = await open_stdin(path, close_on_eof, exec_id)
        except errdefs.Unavailable as err:
            log.debug("stdin via %s: %s; through the core", path, err)
    if sock is None:
        await fallback(chunks)
        return
    await copy_stdin(sock, label, chunks)
