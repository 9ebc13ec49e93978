"""``docker export``: a tar of the container's merged filesystem, built from its overlay layers.

The layers are merged here (upper first; whiteouts and opaque directories hide what lies below), so a
stopped container can be exported without mounting anything. The tar is written in a thread and
streamed in chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import tarfile
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

CHUNK = 64 * 1024
# dockerd's init layer: what an exported container has even if no layer holds it
INIT_LAYER: tuple[tuple[str, str, str], ...] = (
    (".dockerenv", "file", ""),
    ("dev/console", "file", ""),
    ("dev/pts", "dir", ""),
    ("dev/shm", "dir", ""),
    ("etc/hostname", "file", ""),
    ("etc/hosts", "file", ""),
    ("etc/mtab", "symlink", "/proc/mounts"),
    ("etc/resolv.conf", "file", ""),
    ("proc", "dir", ""),
    ("sys", "dir", ""),
)
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    for name in OPAQUE_XATTRS:
        with contextlib.suppress(OSError):
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
    return False


def merged(layers: list[str]) -> Iterator[tuple[str, str]]:
    """(archive name, host path) of every visible entry, parents before children, sorted per layer."""
    seen: set[str] = set()
    gone: set[str] = set()  # whited-out paths: nothing at or under them shows from lower layers
    opaque: set[str] = set()  # directories whose lower-layer contents are hidden
    for depth, layer in enumerate(layers):
        layer_gone: set[str] = set()
        layer_opaque: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(layer):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, layer)
            for name in sorted([*dirnames, *filenames]):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                full = os.path.join(dirpath, name)
                if _hidden(rel, gone, opaque) or rel in seen:
                    continue
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                if _is_whiteout(st):
                    layer_gone.add(rel)
                    continue
                seen.add(rel)
                if stat.S_ISDIR(st.st_mode) and depth < len(layers) - 1 and _is_opaque(full):
                    layer_opaque.add(rel)
                yield rel, full
        gone |= layer_gone
        opaque |= layer_opaque


def _hidden(rel: str, gone: set[str], opaque: set[str]) -> bool:
    if rel in gone:
        return True
    parts = rel.split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        if parent in gone or parent in opaque:
            return True
    return False


class _QueueWriter:
    """A file object for tarfile that hands chunks to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]) -> None:
        self.loop = loop
        self.queue = queue
        self.buffer = bytearray()
        self.cancelled = False

    def write(self, data: bytes) -> int:
        if self.cancelled:
            raise BrokenPipeError("export cancelled")
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            chunk, self.buffer = bytes(self.buffer), bytearray()
            asyncio.run_coroutine_threadsafe(self.queue.put(chunk), self.loop).result()


def write_tar(layers: list[str], out: Any, init_layer: bool = True) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        written: set[str] = set()
        for rel, full in merged(layers):
            info = tar.gettarinfo(full, arcname=rel)
            if info.isreg():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            written.add(rel)
        for rel, kind, target in INIT_LAYER if init_layer else ():
            parent = rel.rpartition("/")[0]
            if rel in written or (parent and parent not in written):
                continue
            info = tarfile.TarInfo(rel)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
            else:
                info.mode = 0o755 if rel == ".dockerenv" else 0o644
            tar.addfile(info)
            written.add(rel)
    out.flush()


def stream(layers: list[str], init_layer: bool = True) -> AsyncIterator[bytes]:
    return stream_tar(lambda out: write_tar(layers, out, init_layer))


async def stream_tar(write: Callable[[Any], None]) -> AsyncIterator[bytes]:
    """Run ``write(fileobj)`` in a thread and yield what it writes, in chunks."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)
    writer = _QueueWriter(loop, queue)

    def work() -> None:
        try:
            write(writer)
        except BrokenPipeError:
            if not writer.cancelled:
                raise
        finally:
            asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()

    task = loop.run_in_executor(None, work)
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
    finally:
        writer.cancelled = True
        # let the writer stop (draining keeps it from blocking on a full queue)
        while not task.done():
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            await asyncio.sleep(0.01)
        await task
