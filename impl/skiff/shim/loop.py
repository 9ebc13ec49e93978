"""A tiny single-threaded readiness loop over ``select.epoll`` (asyncio costs ~40 ms of imports per shim;
:mod:`selectors` and :mod:`signal` pull in ``enum``, ~0.5 MB of every idle shim's memory).

Also turns SIGCHLD into a readable event through ``_signal.set_wakeup_fd``, so child reaping happens in
the loop and never in a signal handler.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module: see above
import os
import select

TYPE_CHECKING = False  # typing costs ~8 ms of imports at run time; annotations only need it for mypy
if TYPE_CHECKING:
    from collections.abc import Callable

    Callback = Callable[[], None]

_READ = select.EPOLLIN
_WRITE = select.EPOLLOUT
# what epoll reports besides the asked-for events: a hang-up or error wakes the reader and the writer,
# as selectors' EpollSelector does (it maps these to EVENT_READ|EVENT_WRITE)
_READ_ALSO = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP | select.EPOLLPRI
_WRITE_ALSO = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR


class Loop:
    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._handlers: dict[int, tuple[Callback | None, Callback | None]] = {}
        self._soon: list[Callback] = []
        self.running = False

    def _update(self, fd: int, reader: Callback | None, writer: Callback | None) -> None:
        events = (_READ if reader else 0) | (_WRITE if writer else 0)
        known = fd in self._handlers
        if not events:
            if known:
                del self._handlers[fd]
                try:  # noqa: SIM105 - contextlib costs imports
                    self._epoll.unregister(fd)
                except OSError:  # closed already (selectors ignores that too)
                    pass
            return
        self._handlers[fd] = (reader, writer)
        if known:
            self._epoll.modify(fd, events)
        else:
            self._epoll.register(fd, events)

    def add_reader(self, fd: int, cb: Callback) -> None:
        self._update(fd, cb, self._handlers.get(fd, (None, None))[1])

    def add_priority_reader(self, fd: int, cb: Callback) -> None:
        """``cb`` when ``fd`` reports EPOLLPRI (a cgroup v2 file that changed: always readable otherwise)."""
        self._handlers[fd] = (cb, None)
        self._epoll.register(fd, select.EPOLLPRI)

    def remove_reader(self, fd: int) -> None:
        if fd in self._handlers:
            self._update(fd, None, self._handlers[fd][1])

    def add_writer(self, fd: int, cb: Callback) -> None:
        self._update(fd, self._handlers.get(fd, (None, None))[0], cb)

    def remove_writer(self, fd: int) -> None:
        if fd in self._handlers:
            self._update(fd, self._handlers[fd][0], None)

    def forget(self, fd: int) -> None:
        self._update(fd, None, None)

    def call_soon(self, cb: Callback) -> None:
        self._soon.append(cb)

    def on_sigchld(self, cb: Callback) -> None:
        """Run ``cb`` in the loop after every SIGCHLD (coalesced)."""
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

        def drain() -> None:
            try:
                while os.read(r, 4096):
                    pass
            except BlockingIOError:
                pass
            cb()

        _signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        _signal.signal(_signal.SIGCHLD, lambda _sig, _frame: None)
        self.add_reader(r, drain)

    def stop(self) -> None:
        self.running = False

    def run(self) -> None:
        self.running = True
        while self.running:
            while self._soon:
                soon, self._soon = self._soon, []
                for cb in soon:
                    cb()
            if not self.running:
                break
            for fd, events in self._epoll.poll(0 if self._soon else -1):
                reader, writer = self._handlers.get(fd, (None, None))
                if events & _READ_ALSO and reader:
                    reader()
                # the reader may have unregistered or replaced the fd
                reader, writer = self._handlers.get(fd, (None, None))
                if events & _WRITE_ALSO and writer:
                    writer()
