"""The container's output: read its stdout/stderr pipes, append the json-file log, fan out stdcopy frames.

Docker's contract for ``docker run`` is that nothing the container printed is lost: :attr:`Output.done` only
becomes true once both pipes reached EOF and every record is written to the log file (with plain
``os.write`` on an ``O_APPEND`` descriptor, so there is no userspace buffer left to flush).
"""

from __future__ import annotations

import os
import sys
import time

from skiff.shim import jsonlog, wire
from skiff.shim.loop import Loop
from skiff.shim.timestamps import rfc3339nano

TYPE_CHECKING = False  # typing costs ~8 ms of imports at run time; annotations only need it for mypy
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    class Subscriber(Protocol):
        """An attached connection: receives frames, is closed after the last one."""

        def send(self, data: bytes) -> None: ...

        def close_after_flush(self) -> None: ...

_NAMES = {wire.STDOUT: "stdout", wire.STDERR: "stderr"}
READ_SIZE = 32 * 1024


class Output:
    """Pumps the two pipes of one init process; ``on_done`` runs once both reached EOF."""

    def __init__(self, loop: Loop, log_path: str, on_done: Callable[[], None]) -> None:
        self._loop = loop
        self._log_path = log_path
        self._log_fd = -1
        self._on_done = on_done
        self._splitters: dict[int, jsonlog.LineSplitter] = {}
        self._readers: dict[int, int] = {}  # fd -> stream id
        self._subscribers: list[tuple[Subscriber, frozenset[int]]] = []
        self.started = False
        self.done = False
        self.terminal = -1  # the pty master, when the process has one

    def open_pipes(self) -> tuple[int, int, int]:
        """Create the pipes; returns ``(stdout_w, stderr_w, stderr_r)`` for the runtime's create."""
        parent = os.path.dirname(self._log_path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if self._log_fd < 0 and self._log_path:  # an exec's output is not logged
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            self._log_fd = os.open(self._log_path, flags, 0o640)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        self._readers = {out_r: wire.STDOUT, err_r: wire.STDERR}
        self._splitters = {wire.STDOUT: jsonlog.LineSplitter(), wire.STDERR: jsonlog.LineSplitter()}
        return out_w, err_w, err_r

    def add_terminal(self, master: int) -> None:
        """A pty: one raw stream, logged and framed as stdout (Docker's tty containers have no stderr)."""
        self._readers[master] = wire.STDOUT
        self.terminal = master

    def begin(self) -> None:
        """Start reading (after the runtime's create succeeded)."""
        self.started = True
        for fd in self._readers:
            os.set_blocking(fd, False)
            self._loop.add_reader(fd, lambda fd=fd: self._readable(fd))  # type: ignore[misc]

    def abandon(self) -> None:
        """The runtime's create failed: drop the pipes and whatever the runtime printed on them."""
        for fd in self._readers:
            os.close(fd)
        self._readers = {}

    def subscribe(self, sub: Subscriber, stdout: bool, stderr: bool) -> None:
        if self.done:
            sub.close_after_flush()
            return
        streams = frozenset(s for s, on in ((wire.STDOUT, stdout), (wire.STDERR, stderr)) if on)
        self._subscribers.append((sub, streams))

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers = [(s, st) for s, st in self._subscribers if s is not sub]

    def _readable(self, fd: int) -> None:
        stream = self._readers[fd]
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave of the pty is closed
            data = b""
        if not data:
            self._eof(fd, stream)
            return
        now = rfc3339nano(time.time_ns())
        name = _NAMES[stream]
        self._write_log(b"".join(jsonlog.record(m, name, now) for m in self._splitters[stream].feed(data)))
        frame = wire.encode_frame(stream, data)
        for sub, streams in self._subscribers:
            if stream in streams:
                sub.send(frame)

    def _eof(self, fd: int, stream: int) -> None:
        if fd == self.terminal:
            self.terminal = -1
        self._loop.forget(fd)
        os.close(fd)
        del self._readers[fd]
        now = rfc3339nano(time.time_ns())
        name = _NAMES[stream]
        self._write_log(b"".join(jsonlog.record(m, name, now) for m in self._splitters[stream].flush()))
        if not self._readers:
            self.done = True
            subs, self._subscribers = self._subscribers, []
            for sub, _ in subs:
                sub.close_after_flush()
            self._on_done()

    def _write_log(self, data: bytes) -> None:
        if self._log_fd < 0:
            return
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._log_fd, view)
            except OSError as err:  # a full disk must not stop the container or the attach streams
                print(f"skiff-shim: writing {self._log_path}: {err}", file=sys.stderr, flush=True)
                return
            view = view[n:]

    def close(self) -> None:
        for fd in list(self._readers):
            self._loop.forget(fd)
            os.close(fd)
        self._readers = {}
        if self._log_fd >= 0:
            os.close(self._log_fd)
            self._log_fd = -1
