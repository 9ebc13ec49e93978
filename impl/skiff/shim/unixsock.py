"""``bind``/``connect`` for unix socket paths of any length.

``sun_path`` holds 107 bytes and bundle paths under a deep state directory can be longer: a long path is
reached through an ``O_PATH`` descriptor of its directory as ``/proc/self/fd/N/name``. Imports only
:mod:`os`, so the shim's start path stays cheap.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs ~8 ms of imports; annotations only need it for mypy
if TYPE_CHECKING:
    from _socket import socket  # socket.socket is a subclass
SUN_PATH_MAX = 107


def _short(path: str) -> tuple[str, int | None]:
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        return path, None
    dirname, name = os.path.split(path)
    dirfd = os.open(dirname or ".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{dirfd}/{name}", dirfd


def bind(sock: socket, path: str) -> None:
    short, dirfd = _short(path)
    try:
        sock.bind(short)
    finally:
        if dirfd is not None:
            os.close(dirfd)


def connect(sock: socket, path: str) -> None:
    short, dirfd = _short(path)
    try:
        sock.connect(short)
    finally:
        if dirfd is not None:
            os.close(dirfd)
