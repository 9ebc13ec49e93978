"""runc's ``--console-socket`` protocol: the process gets a new pty as its controlling terminal and stdio,
and the master goes to whoever listens on the socket (the shim), over SCM_RIGHTS.

``connect`` runs in ``create``/``exec`` before any fork, so the socket (and the ``socket``/``fcntl`` modules
the child needs after pivot_root, when the host's stdlib is out of reach) are there in the child. The pty is
opened from inside the container's root (its ``/dev/ptmx`` -> ``pts/ptmx`` of its own devpts instance).
"""

from __future__ import annotations

import os

TIOCSCTTY = 0x540E

SOCKET_FD = -1
"""The connected console socket, set by the command before it forks the container's process."""


def connect(path: str) -> int:
    import fcntl  # noqa: F401 - imported here for the child, which cannot import after pivot_root
    import socket

    global SOCKET_FD
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        from skiff.runtime.errors import ContainerError

        raise ContainerError(f"failed to connect to console socket {path}: {exc.strerror}") from None
    SOCKET_FD = sock.detach()
    return SOCKET_FD


def setup(uid: int, gid: int) -> None:
    """In the process, after its root is in place and before it drops privileges: open a pty, send the
    master, make the slave the controlling terminal and fds 0-2."""
    import fcntl
    import socket

    master, slave = os.openpty()
    try:
        os.fchown(slave, uid, gid)
        sock = socket.socket(fileno=SOCKET_FD)
        try:
            socket.send_fds(sock, [b"/dev/ptmx"], [master])
        finally:
            sock.close()
    finally:
        os.close(master)
    os.setsid()
    fcntl.ioctl(slave, TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
