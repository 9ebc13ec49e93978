"""Named network namespaces: a bind mount of a netns under skiffd's exec root (as dockerd's
/var/run/docker/netns/<sandbox>), so a namespace outlives skiffd and the container joins it by path.

Namespace work runs on a short-lived dedicated thread: ``unshare``/``setns`` of CLONE_NEWNET only affect the
calling thread, so skiffd's event loop and thread pool never change namespace."""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a fresh thread and return its result (or raise its exception)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run, name="skiff-netns", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def create(path: Path, setup: Callable[[], T]) -> T:
    """A new netns bind-mounted at ``path``; ``setup`` runs inside it (e.g. bring ``lo`` up)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)

    def work() -> T:
        _check(_libc.unshare(CLONE_NEWNET), "unshare")
        src = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
        _check(_libc.mount(src, str(path).encode(), None, MS_BIND, None), "mount netns")
        return setup()  # the thread ends in the new namespace; nothing else runs on it

    try:
        return _in_thread(work)
    except BaseException:
        remove(path)
        raise


def run_in(path: str | Path, fn: Callable[[], T]) -> T:
    """Run ``fn`` inside the netns at ``path`` (a named netns or /proc/<pid>/ns/net)."""

    def work() -> T:
        fd = os.open(str(path), os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(_libc.setns(fd, CLONE_NEWNET), "setns")
        finally:
            os.close(fd)
        return fn()

    return _in_thread(work)


def remove(path: Path) -> None:
    """Unmount and unlink a named netns (the namespace goes when its last process does)."""
    _libc.umount2(str(path).encode(), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def is_mounted(path: Path) -> bool:
    """True when ``path`` is a netns bind mount (an nsfs file), not a plain placeholder."""
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == str(path) for line in f)
    except OSError:
        return False
