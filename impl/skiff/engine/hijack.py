"""A uvicorn h11 protocol that can hijack a connection for ``attach`` and ``exec start``.

Plain ASGI cannot do what dockerd does there (engine-api-notes, "Hijack"): answer ``101 UPGRADED`` to
``Upgrade: tcp``, then read the client's further bytes as stdin and write raw output. For requests that
may be hijacked (``POST .../containers/{id}/attach``, ``POST .../exec/{id}/start``) this protocol puts a
``HijackChannel`` in ``scope["extensions"]["skiff.hijack"]`` and gives the request cycle a class that,
once ``HijackResponse`` has marked the channel active, writes the status line and headers itself, writes
body chunks raw, routes later bytes (and the client's half-close) to the channel, and closes the
connection at the end. Until then the request is ordinary HTTP: routing, validation and error answers
happen normally. This relies on uvicorn internals, hence the pinned uvicorn and the end-to-end test.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol, RequestResponseCycle

from skiff.engine.streams import HIJACK_EXTENSION, HijackChannel

TESTED_UVICORN = "0.54."
if not uvicorn.__version__.startswith(TESTED_UVICORN):
    logging.getLogger("skiff.engine.hijack").warning(
        "uvicorn %s is not the version the hijack protocol was tested with (%sx)", uvicorn.__version__,
        TESTED_UVICORN)

HIJACKABLE = re.compile(r"^(?:/v[0-9.]+)?/(?:containers/[^/]+/attach|exec/[^/]+/start)/?$")
WEBSOCKET = re.compile(r"^(?:/v[0-9.]+)?/containers/[^/]+/attach/ws/?$")  # framed by skiff.engine.websocket
STDIN_HIGH_WATER = 64  # queued stdin chunks before reading from the socket pauses
LINGER_SECONDS = 2.0  # after the output ends, how long to wait for the client to close its side


def is_hijackable(method: str, path: str) -> bool:
    if method == "GET":
        return WEBSOCKET.match(path) is not None
    return method == "POST" and HIJACKABLE.match(path) is not None


def wants_upgrade(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    headers = list(headers)
    connection = b",".join(v for k, v in headers if k == b"connection").lower()
    upgrade = b",".join(v for k, v in headers if k == b"upgrade").lower()
    return b"upgrade" in [t.strip() for t in connection.split(b",")] and upgrade.strip() == b"tcp"


class HijackCycle(RequestResponseCycle):
    """A request cycle that switches to raw mode when its channel is active."""

    channel: HijackChannel
    protocol: HijackH11Protocol

    async def send(self, message: Any) -> None:
        if not self.channel.active:
            await super().send(message)
            if self.response_complete and self.protocol.half_closed and not self.transport.is_closing():
                self.transport.close()  # the client half-closed before an ordinary answer
            return
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            self.channel.connection_lost()
            return
        if message["type"] == "http.response.start":
            self.response_started = True
            self.waiting_for_100_continue = False
            status = int(message["status"])
            reason = b"UPGRADED" if status == 101 and self.channel.upgrade else STATUS_PHRASES[status]
            head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
            for name, value in self.default_headers + list(message.get("headers", [])):
                head.append(bytes(name) + b": " + bytes(value) + b"\r\n")
            head.append(b"\r\n")
            self.transport.write(b"".join(head))
            if self.access_log:
                self.access_logger.info('%s - "%s %s HTTP/%s" %d hijacked', self.client_label(),
                                        self.scope["method"], self.scope["path"], self.scope["http_version"],
                                        status)
            self.protocol.start_raw_mode()
            self.channel.raw_write = self.write_raw
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            if body:
                self.transport.write(body)
            if not message.get("more_body", False):
                self.response_complete = True
                self.message_event.set()
                self.protocol.finish_raw_mode()

    async def write_raw(self, body: bytes) -> None:
        """An output chunk of the hijacked stream (``HijackChannel.raw_write``): ``send``'s body case
        without the trip through the middleware stack."""
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            self.channel.connection_lost()
            return
        self.transport.write(body)

    def client_label(self) -> str:
        client = self.scope.get("client")
        return f"{client[0]}:{client[1]}" if client else "unix"


class HijackH11Protocol(H11Protocol):
    """``uvicorn.Config(http=HijackH11Protocol)``; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.raw_mode = False
        self.half_closed = False
        self.finishing = False
        self.linger: asyncio.TimerHandle | None = None
        self.channel: HijackChannel | None = None

    # -- request set-up ----------------------------------------------------------------------------
    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        cycle = self.cycle
        if cycle is None or cycle is before or isinstance(cycle, HijackCycle):
            return
        self.channel, self.half_closed = None, False
        if not is_hijackable(cycle.scope["method"], cycle.scope["path"]):
            return
        # The cycle's task is created but has not run yet: turning it into a HijackCycle now is safe.
        channel = HijackChannel(upgrade=wants_upgrade(cycle.scope["headers"]))
        channel.on_consumed = self._stdin_consumed
        cycle.scope.setdefault("extensions", {})[HIJACK_EXTENSION] = channel  # type: ignore[assignment]
        cycle.__class__ = HijackCycle
        hijack_cycle: HijackCycle = cycle  # type: ignore[assignment]
        hijack_cycle.channel = channel
        hijack_cycle.protocol = self
        self.channel = channel

    def _unsupported_upgrade_warning(self) -> None:
        if self._get_upgrade() not in (b"tcp", b"websocket"):
            super()._unsupported_upgrade_warning()

    # -- raw mode ----------------------------------------------------------------------------------
    def start_raw_mode(self) -> None:
        """After the hijack head is written: bytes h11 buffered and all later bytes are stdin."""
        assert self.channel is not None
        self.raw_mode = True
        self._unset_keepalive_if_required()
        trailing, closed = self.conn.trailing_data
        self.channel.feed(bytes(trailing))
        if closed:
            self.channel.feed_eof()
        self.flow.resume_reading()

    def finish_raw_mode(self) -> None:
        """End the output with a half-close and linger until the client closes its side.

        Closing a socket whose receive queue still holds bytes makes the peer's next read fail with
        ECONNRESET (TCP sends RST; a unix socket sets the error on its peer), so a client that typed or sent
        anything late would lose the end of its output. Docker reads stdin until the client closes; so do we,
        discarding it, for a bounded time.
        """
        self.finishing = True
        self.flow.resume_reading()
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if not self.raw_mode:
            super().data_received(data)
            return
        if self.finishing:
            return  # stdin after the output ended: read and dropped, see finish_raw_mode
        assert self.channel is not None
        self.channel.feed(data)
        if self.channel.pending > STDIN_HIGH_WATER:
            self.flow.pause_reading()

    def _stdin_consumed(self) -> None:
        if self.raw_mode and self.channel is not None and self.channel.pending <= STDIN_HIGH_WATER // 2:
            self.flow.resume_reading()

    def eof_received(self) -> bool | None:  # type: ignore[override]
        """The client's half-close: end of stdin, but keep writing output."""
        if self.raw_mode and self.finishing:
            self.transport.close()
            return True
        if self.raw_mode and self.channel is not None:
            self.channel.feed_eof()
            return True
        if self.channel is not None and self.cycle is not None and not self.cycle.response_complete:
            # half-closed before the hijack head: stdin is empty, but the answer must still be written
            self.half_closed = True
            self.channel.feed_eof()
            return True
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.linger is not None:
            self.linger.cancel()
        if self.channel is not None:
            self.channel.connection_lost()
        if self.raw_mode:
            self.connections.discard(self)
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True
                self.cycle.message_event.set()
            self.flow.resume_writing()
            return
        super().connection_lost(exc)

    def shutdown(self) -> None:
        if self.raw_mode:
            self.transport.close()  # ends the stream; the handler sees the channel closed
            return
        super().shutdown()

    def timeout_keep_alive_handler(self) -> None:
        if not self.raw_mode:
            super().timeout_keep_alive_handler()

