"""A tiny single-threaded readiness loop over :mod:`selectors` (asyncio costs ~40 ms of imports per shim).

Also turns SIGCHLD into a readable event through :func:`signal.set_wakeup_fd`, so child reaping happens in
the loop and never in a signal handler.
"""

from __future__ import annotations

import os
import selectors
import signal
from collections.abc import Callable

Callback = Callable[[], None]


class Loop:
    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._handlers: dict[int, tuple[Callback | None, Callback | None]] = {}
        self._soon: list[Callback] = []
        self.running = False

    def _update(self, fd: int, reader: Callback | None, writer: Callback | None) -> None:
        events = (selectors.EVENT_READ if reader else 0) | (selectors.EVENT_WRITE if writer else 0)
        known = fd in self._handlers
        if not events:
            if known:
                self._sel.unregister(fd)
                del self._handlers[fd]
            return
        self._handlers[fd] = (reader, writer)
        if known:
            self._sel.modify(fd, events)
        else:
            self._sel.register(fd, events)

    def add_reader(self, fd: int, cb: Callback) -> None:
        self._update(fd, cb, self._handlers.get(fd, (None, None))[1])

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

        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda _sig, _frame: None)
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
            for key, events in self._sel.select(0 if self._soon else None):
                reader, writer = self._handlers.get(key.fd, (None, None))
                if events & selectors.EVENT_READ and reader:
                    reader()
                # the reader may have unregistered or replaced the fd
                reader, writer = self._handlers.get(key.fd, (None, None))
                if events & selectors.EVENT_WRITE and writer:
                    writer()
