"""A process's input side: the stdin pipe (or pty master) the shim writes the client's bytes to, the console
socket a runtime passes the pty master through (runc's ``--console-socket``), and pty resizes.

Writes never block the shim's single thread: bytes queue in a buffer drained when the fd is writable; a
source connection is paused while more than :data:`HIGH_WATER` bytes wait.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from skiff.shim.loop import Loop

HIGH_WATER = 1 << 20
TIOCSWINSZ = 0x5414


class StdinSink:
    """The write side of a process's stdin; closed (EOF for the process) by :meth:`close`."""

    def __init__(self, loop: Loop, fd: int, terminal: bool = False) -> None:
        self._loop = loop
        self.fd = fd  # owned: for a terminal, a dup of the pty master (closing it hangs nothing up)
        self.terminal = terminal
        self._buf = bytearray()
        self._close_when_drained = False
        self.closed = False
        self._on_drained: list[Callable[[], None]] = []
        os.set_blocking(fd, False)

    @property
    def full(self) -> bool:
        return len(self._buf) > HIGH_WATER

    def feed(self, data: bytes) -> None:
        if self.closed or self._close_when_drained or not data:
            return
        if not self._buf:
            try:
                n = os.write(self.fd, data)
            except BlockingIOError:
                n = 0
            except OSError:  # the process is gone (EPIPE) or the pty hung up: drop its input
                self._drop()
                return
            data = data[n:]
            if not data:
                return
        self._buf += data
        self._loop.add_writer(self.fd, self._writable)

    def when_drained(self, cb: Callable[[], None]) -> None:
        if not self._buf or self.closed:
            cb()
        else:
            self._on_drained.append(cb)

    def _writable(self) -> None:
        try:
            n = os.write(self.fd, self._buf)
        except BlockingIOError:
            return
        except OSError:
            self._drop()
            return
        del self._buf[:n]
        if not self._buf:
            self._loop.remove_writer(self.fd)
            self._drained()

    def _drained(self) -> None:
        callbacks, self._on_drained = self._on_drained, []
        for cb in callbacks:
            cb()
        if self._close_when_drained:
            self._really_close()

    def _drop(self) -> None:
        self._buf.clear()
        self._loop.remove_writer(self.fd)
        self._drained()

    def close(self) -> None:
        """EOF for the process once what is queued is written (a terminal has no half-close: its input
        just stops, as with containerd's shim)."""
        if self.closed:
            return
        self._close_when_drained = True
        if not self._buf:
            self._really_close()

    def _really_close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.forget(self.fd)
        os.close(self.fd)


def console_listener(directory: str = "") -> tuple[socket.socket, str]:
    """A unix socket for the runtime's ``--console-socket``; the runtime connects and sends the master.
    In the temp dir (as containerd does): any runtime must be able to connect to the path as it is.
    :mod:`socket` (for ``recv_fds``) is imported only here, for a terminal: it costs every shim ~1 MB."""
    import socket

    directory = directory or os.environ.get("TMPDIR") or "/tmp"
    path = os.path.join(directory, f"skiff-pty-{os.getpid()}-{os.urandom(4).hex()}.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.bind(path)
    sock.listen(1)
    return sock, path


def receive_master(listener: socket.socket, path: str) -> int:
    """The pty master the runtime sent (it has exited by now, so the connection waits in the backlog)."""
    import socket

    listener.settimeout(5.0)
    try:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5.0)
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    finally:
        listener.close()
        try:  # noqa: SIM105 - contextlib costs imports
            os.unlink(path)
        except FileNotFoundError:
            pass
    if not fds:
        raise OSError("the runtime sent no pty master over the console socket")
    os.set_inheritable(fds[0], False)
    return fds[0]


def resize(fd: int, width: int, height: int) -> None:
    import fcntl
    import struct

    fcntl.ioctl(fd, TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def warn(message: str) -> None:
    print(f"skiff-shim: {message}", file=sys.stderr, flush=True)
