"""Connections on ``<bundle>/shim.sock``: JSON lines in, JSON lines (or stdcopy frames after attach) out."""

from __future__ import annotations

import _socket  # not socket: it pulls in enum and selectors, ~1 MB of every idle shim's memory
import os
import sys

from skiff import errdefs
from skiff.shim import wire

TYPE_CHECKING = False  # typing costs ~8 ms of imports at run time; annotations only need it for mypy
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from skiff.shim.loop import Loop

MAX_REQUEST = 1 << 20
MAX_BACKLOG = 16 << 20  # an attached client this far behind is dropped rather than growing the shim forever

DEFERRED: Any = object()
"""A handler's return value meaning "I will call :meth:`Connection.reply` later" (``wait``)."""

NO_REPLY: Any = object()
"""A handler's return value meaning "I already wrote the reply" (``attach``, which then streams)."""



class Connection:
    def __init__(self, loop: Loop, sock: _socket.socket,
                 dispatch: Callable[[Connection, str, dict[str, Any]], Any],
                 on_close: Callable[[Connection], None]) -> None:
        self._loop = loop
        self.sock = sock
        self.fd = sock.fileno()
        self._dispatch = dispatch
        self._on_close = on_close
        self._in = bytearray()
        self._out = bytearray()
        self.busy = False  # a deferred reply is outstanding: later requests wait their turn
        self.streaming = False  # after attach: frames only, input ignored (or given to ``sink``)
        self.sink: Callable[[bytes], None] | None = None  # after ``stdin``: raw input, b"" at EOF
        self._closing = False
        self.closed = False
        sock.setblocking(False)
        loop.add_reader(self.fd, self._readable)

    # input
    def _readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if self.sink is not None:
            self.sink(data)
        if not data:
            self.close()
            return
        if self.streaming or self._closing:
            return
        self._in += data
        if len(self._in) > MAX_REQUEST and b"\n" not in self._in:
            self.send(wire.error("InvalidArgument", "request too long"))
            self.close_after_flush()
            return
        self.process()

    def pause_reading(self) -> None:
        if not self.closed:
            self._loop.remove_reader(self.fd)

    def resume_reading(self) -> None:
        if not self.closed:
            self._loop.add_reader(self.fd, self._readable)

    def process(self) -> None:
        while not self.busy and not self.streaming and not self.closed and not self._closing:
            nl = self._in.find(b"\n")
            if nl < 0:
                return
            line = bytes(self._in[:nl])
            del self._in[:nl + 1]
            if line.strip():
                self._handle(line)

    def _handle(self, line: bytes) -> None:
        try:
            msg = wire.decode_line(line)
            method = msg.get("method")
            params = msg.get("params") or {}
            if not isinstance(method, str) or not isinstance(params, dict):
                raise errdefs.InvalidArgument("a request is {\"method\": str, \"params\": {...}}")
            res = self._dispatch(self, method, params)
        except errdefs.SkiffError as err:
            self.send(wire.error(err.kind, str(err)))
            return
        except ValueError as err:
            self.send(wire.error("InvalidArgument", f"malformed request: {err}"))
            return
        except Exception as err:  # one bad request must not take down the shim and its container's output
            print(f"skiff-shim: internal error: {err!r}", file=sys.stderr, flush=True)
            self.send(wire.error("Unknown", f"internal error: {err}"))
            return
        if res is DEFERRED:
            self.busy = True
        elif res is not NO_REPLY:
            self.send(wire.result(res))

    def reply(self, res: dict[str, Any] | None = None, err: errdefs.SkiffError | None = None) -> None:
        """Complete a deferred request, then go on with any that queued behind it."""
        self.busy = False
        if self.closed:
            return
        self.send(wire.error(err.kind, str(err)) if err else wire.result(res or {}))
        self._loop.call_soon(self.process)

    # output
    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if not self._out:
            try:
                n = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self.close()
                return
            data = data[n:]
            if not data:
                return
        self._out += data
        if len(self._out) > MAX_BACKLOG:
            print("skiff-shim: dropping an attached client that stopped reading", file=sys.stderr, flush=True)
            self.close()
            return
        self._loop.add_writer(self.fd, self._writable)

    def _writable(self) -> None:
        try:
            n = self.sock.send(self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        del self._out[:n]
        if not self._out:
            self._loop.remove_writer(self.fd)
            if self._closing:
                self.close()

    def close_after_flush(self) -> None:
        if self.closed:
            return
        if self._out:
            self._closing = True
        else:
            self.close()

    @property
    def flushed(self) -> bool:
        return not self._out

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.forget(self.fd)
        self.sock.close()
        self._on_close(self)


class Server:
    """Accepts connections on the listening socket and hands each request line to ``dispatch``."""

    def __init__(self, loop: Loop, listener: _socket.socket,
                 dispatch: Callable[[Connection, str, dict[str, Any]], Any],
                 on_close: Callable[[Connection], None]) -> None:
        self._loop = loop
        self._listener = listener
        self._dispatch = dispatch
        self._on_close = on_close
        self.connections: set[Connection] = set()
        listener.setblocking(False)
        loop.add_reader(listener.fileno(), self._accept)

    def _accept(self) -> None:
        while True:
            try:
                fd, _ = self._listener._accept()  # type: ignore[attr-defined]  # socket.accept, sans socket
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                print(f"skiff-shim: accept: {err}", file=sys.stderr, flush=True)
                return
            sock = _socket.socket(self._listener.family, self._listener.type, 0, fd)
            conn = Connection(self._loop, sock, self._dispatch, self._closed)
            self.connections.add(conn)

    def _closed(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self._on_close(conn)

    def close(self) -> None:
        self._loop.forget(self._listener.fileno())
        self._listener.close()
        for conn in list(self.connections):
            conn.close()


def reap_all() -> list[tuple[int, int]]:
    """Every ``(pid, wait status)`` that is ready now, without blocking."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        reaped.append((pid, status))
    return reaped
