"""The input side of attach and the terminal of a container: stdin to the task, resize, pause/unpause.

An attach may arrive before the container starts (``docker run -i`` attaches first): its stdin waits in the
hijacked connection until the task runs, then streams to it. With ``StdinOnce`` the client's half-close
closes the container's stdin (Docker's rule); otherwise the stdin stays open for the next attach.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from skiff import errdefs
from skiff.engine import detachkeys
from skiff.engine.streams import StdcopyDecoder

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 2.0  # how long an attach to a running container waits for its output subscription


async def _running(backend: Any, cid: str) -> bool:
    """Wait until the container runs; False if it was removed first."""
    record = backend.get(cid)
    async with backend.changed:
        await backend.changed.wait_for(lambda: record.state.running or backend.runtime_state(cid).removed)
    return bool(record.state.running)


async def pump_stdin(
    backend: Any, ref: str, chunks: AsyncIterator[bytes], close_on_eof: bool | None = None
) -> None:
    """Copy the attached client's bytes to the container's stdin (the attach's ``stdin`` callback); their
    end closes it if the container is ``StdinOnce`` (unless ``close_on_eof`` says otherwise)."""
    record = backend.get(ref)
    if not record.config.get("OpenStdin"):
        async for _ in chunks:  # dockerd reads and drops them
            pass
        return
    if not await _running(backend, record.id):
        return
    if close_on_eof is None:
        close_on_eof = bool(record.config.get("StdinOnce"))
    try:
        await backend.core.tasks_stdin(record.id, chunks, close_on_eof=close_on_eof)
    except errdefs.SkiffError as err:
        log.debug("stdin of %s: %s", record.id, err)


def attach_io(
    backend: Any, record: Any, output: AsyncIterator[bytes], keys: bytes | None
) -> tuple[AsyncIterator[bytes], Callable[[AsyncIterator[bytes]], Awaitable[None]]]:
    """The attach's output and stdin pump; with a terminal and stdin, the detach keys end the attach
    (the container keeps running, its stdin stays open) with dockerd's ``detach`` event."""
    if keys is None or not record.config.get("Tty"):
        async def pump(chunks: AsyncIterator[bytes]) -> None:
            await pump_stdin(backend, record.id, chunks)

        return output, pump

    detach = detachkeys.Detach(keys, on_detach=lambda: _publish(backend, record, "detach"), end_stdin=True)

    async def pump_detachable(chunks: AsyncIterator[bytes]) -> None:
        # a terminal's stdin stays open when its attach ends, as dockerd's (it closes only non-TTY stdin)
        try:
            await pump_stdin(backend, record.id, detach.stdin(chunks), close_on_eof=False)
        finally:
            detach.stdin_done.set()

    return detach.output(output), pump_detachable


async def subscribed(output: AsyncIterator[bytes], record: Any, logs: bool) -> AsyncIterator[bytes]:
    """Run a live attach of a running container up to its subscription to the output, so that the
    client's 101 means "attached" (another client's next input reaches it). Without a running task or
    with a log replay the output starts later, as it must (``docker run -i`` attaches before the start)."""
    if logs or not record.state.running:
        return output
    step = asyncio.ensure_future(output.__anext__())
    await asyncio.wait({step}, timeout=SUBSCRIBE_TIMEOUT)  # a slow core only delays the promise

    async def chained() -> AsyncIterator[bytes]:
        try:
            try:
                first = await step
            except StopAsyncIteration:
                return
            yield first
            async for chunk in output:
                yield chunk
        finally:
            if not step.done():
                step.cancel()
            with contextlib.suppress(Exception):
                await output.aclose()  # type: ignore[attr-defined]

    return chained()


async def unframed(output: AsyncIterator[bytes], record: Any) -> AsyncIterator[bytes]:
    """The payloads of a multiplexed attach stream, one per frame (a TTY's stream is raw already)."""
    if record.config.get("Tty"):
        async for chunk in output:
            yield chunk
        return
    decoder = StdcopyDecoder()
    try:
        async for chunk in output:
            for _stream, payload in decoder.feed(chunk):
                yield payload
    finally:
        with contextlib.suppress(Exception):
            await output.aclose()  # type: ignore[attr-defined]


def _publish(backend: Any, record: Any, action: str) -> None:
    publish = getattr(backend, "_publish", None)
    if publish is not None:
        publish(record, action)


def attached(backend: Any, record: Any) -> None:
    """dockerd's ``attach`` event, once the attach is validated."""
    publish = getattr(backend, "_publish", None)
    if publish is not None:
        publish(record, "attach")


async def resize(backend: Any, ref: str, height: int, width: int) -> None:
    record = backend.get(ref)
    if not record.state.running:
        raise errdefs.Conflict(f"Container {record.id} is not running")
    if not record.config.get("Tty"):
        return  # dockerd answers 200 for a container without a terminal... and the runtime errors; we don't
    # dockerd hands any size to the runtime (an ioctl keeps 16 bits of each) and answers 200
    try:
        await backend.core.tasks_resize(record.id, width & 0xFFFF, height & 0xFFFF)
    except errdefs.FailedPrecondition as err:
        raise errdefs.Unknown(f"Cannot resize container {record.id}: {err}") from None



async def pause(backend: Any, ref: str) -> None:
    """Freeze every process of the container (the runtime's freezer cgroup), as dockerd's Pause."""
    record = backend.get(ref)
    rt = backend.runtime_state(record.id)
    async with rt.lock:
        st = record.state
        if not st.running:
            raise errdefs.Conflict(f"Container {record.id} is not running")
        if st.paused:
            raise errdefs.Conflict(f"Container {record.id} is already paused")
        if st.restarting:
            raise errdefs.Conflict(f"Container {record.id} is restarting, wait until the container is "
                                   "running")
        try:
            await backend.core.tasks_pause(record.id)
        except errdefs.SkiffError as err:
            raise errdefs.Unknown(f"Cannot pause container {record.id}: {err}") from None
        st.paused = True
        st.status = "paused"
        backend.store.save(record)
    backend._publish(record, "pause")
    await backend._notify()


async def unpause(backend: Any, ref: str) -> None:
    record = backend.get(ref)
    rt = backend.runtime_state(record.id)
    async with rt.lock:
        st = record.state
        if not st.paused:
            # dockerd 20.10: a plain error, so 500 (the recorder found Skiff's 409 undeclared and unlike it)
            raise errdefs.Unknown(f"Container {record.id} is not paused")
        try:
            await backend.core.tasks_resume(record.id)
        except errdefs.SkiffError as err:
            raise errdefs.Unknown(f"Cannot unpause container {record.id}: {err}") from None
        st.paused = False
        st.status = "running" if st.running else st.status
        backend.store.save(record)
    backend._publish(record, "unpause")
    await backend._notify()


async def thaw_after_kill(backend: Any, record: Any) -> None:
    """dockerd resumes a paused container after SIGKILL, so that the signal is taken."""
    if not record.state.paused:
        return
    try:
        await backend.core.tasks_resume(record.id)
    except errdefs.SkiffError as err:
        log.warning("resume %s after kill: %s", record.id, err)
