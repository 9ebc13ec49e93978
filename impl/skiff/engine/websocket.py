"""The server side of RFC 6455 for ``GET /containers/{id}/attach/ws``, over the hijacked connection.

dockerd serves that endpoint with golang.org/x/net/websocket: the handshake answers ``101 Switching
Protocols``; each write of the container's output is one message (binary from API 1.28 on, text before),
stdout and stderr alike, never multiplexed; every data message from the client is stdin; a close frame is
answered with a close frame (1000) and the connection ends; when the output ends dockerd sends a close
frame (1000) too. The hijack protocol (``skiff.engine.hijack``) hands over the raw bytes both ways; the
sans-I/O ``websockets.server.ServerProtocol`` frames them (``Session``). The handshake checks stay here:
they are x/net/websocket's answers, not the ``websockets`` server's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.utils import accept_key

from skiff.engine.streams import HIJACK_EXTENSION, HijackChannel

MAX_MESSAGE = 16 * 1024 * 1024  # a client message larger than this is a protocol error

StdinCallback = Callable[[AsyncIterator[bytes]], Awaitable[None]]


def is_websocket_request(headers: list[tuple[bytes, bytes]]) -> bool:
    """What x/net/websocket checks before "not websocket protocol": GET with Upgrade: websocket and
    Connection: upgrade (the method is fixed by the route)."""
    upgrade = b",".join(v for k, v in headers if k.lower() == b"upgrade").strip().lower()
    connection = b",".join(v for k, v in headers if k.lower() == b"connection").lower()
    return upgrade == b"websocket" and b"upgrade" in [t.strip() for t in connection.split(b",")]


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")


def close_frame(code: CloseCode) -> bytes:
    """A bare close frame (no reason), as x/net/websocket writes it."""
    return Frame(Opcode.CLOSE, Close(code, "").serialize()).serialize(mask=False)


class Session:
    """One attach websocket over ``ServerProtocol`` (the handshake done): the client's bytes become stdin
    messages, the container's output becomes frames. Fragments are joined so one message is one stdin
    write; pings are answered by the protocol. Where the protocol would echo the client's close frame or
    name its error, x/net/websocket answers with a bare 1000 (a close) or 1002 (any broken frame)."""

    def __init__(self, binary: bool = True) -> None:
        self.protocol = ServerProtocol(state=State.OPEN, max_size=MAX_MESSAGE)
        self.binary = binary
        self.fragments: list[bytes] = []

    @property
    def open(self) -> bool:
        """False once a close frame went either way or the client hung up: the connection ends."""
        return self.protocol.state is State.OPEN

    def output(self, chunk: bytes) -> list[bytes]:
        """One message for one write of the container's output."""
        if chunk and self.open:
            if self.binary:
                self.protocol.send_binary(chunk)
            else:
                self.protocol.send_text(chunk)
        return self._writes()

    def close(self) -> list[bytes]:
        """The output ended: close 1000 (unless the connection is already closing)."""
        if self.open:
            self.protocol.send_close(CloseCode.NORMAL_CLOSURE)
        return self._writes()

    def receive(self, data: bytes) -> tuple[list[bytes], list[bytes]]:
        """The client's bytes -> (stdin messages, bytes to write back)."""
        answered = self.protocol.close_sent is not None
        self.protocol.receive_data(data)
        messages: list[bytes] = []
        for frame in self.protocol.events_received():
            if isinstance(frame, Frame) and frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                self.fragments.append(bytes(frame.data))
                if frame.fin:
                    message, self.fragments = b"".join(self.fragments), []
                    if message:
                        messages.append(message)
        writes = self._writes()
        if not answered and self.protocol.close_sent is not None and writes:
            # the protocol's close is the last frame it wrote (it discards what follows)
            failed = self.protocol.parser_exc is not None
            writes[-1] = close_frame(CloseCode.PROTOCOL_ERROR if failed else CloseCode.NORMAL_CLOSURE)
        return messages, writes

    def _writes(self) -> list[bytes]:
        return [w for w in self.protocol.data_to_send() if w]  # b"" (half-close): the caller ends


class WebSocketResponse(Response):
    """Answer the handshake on a hijackable connection, then frame ``output`` and feed ``stdin`` with the
    client's data messages. Use ``handshake_error`` to answer a request that is not a websocket one."""

    def __init__(self, output: AsyncIterator[bytes], key: str, binary: bool = True,
                 stdin: StdinCallback | None = None) -> None:
        self.output = output
        self.session = Session(binary)
        self.stdin_callback = stdin
        self.status_code = 101
        self.background = None
        self.body = b""
        self.init_headers({})
        self.raw_headers = [(b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
                            (b"sec-websocket-accept", accept_key(key).encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = scope.get("extensions", {}).get(HIJACK_EXTENSION)
        if not isinstance(channel, HijackChannel):
            await handshake_refusal()(scope, receive, send)
            return
        channel.active = True
        await send({"type": "http.response.start", "status": 101, "headers": self.raw_headers})
        outq: asyncio.Queue[bytes | None] = asyncio.Queue()
        stdinq: asyncio.Queue[bytes | None] = asyncio.Queue()
        tasks = [asyncio.ensure_future(self._pump_output(outq)),
                 asyncio.ensure_future(self._read_client(channel, outq, stdinq))]
        if self.stdin_callback is not None:
            tasks.append(asyncio.ensure_future(self.stdin_callback(_drain(stdinq))))
        try:
            while not channel.closed:
                item = await outq.get()
                if item is None:
                    break
                await send({"type": "http.response.body", "body": item, "more_body": True})
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await self.output.aclose()  # type: ignore[attr-defined]
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _pump_output(self, outq: asyncio.Queue[bytes | None]) -> None:
        try:
            async for chunk in self.output:
                for data in self.session.output(chunk):
                    outq.put_nowait(data)
        finally:
            for data in self.session.close():
                outq.put_nowait(data)
            outq.put_nowait(None)

    async def _read_client(self, channel: HijackChannel, outq: asyncio.Queue[bytes | None],
                           stdinq: asyncio.Queue[bytes | None]) -> None:
        try:
            async for data in channel.stdin():
                messages, writes = self.session.receive(data)
                for message in messages:
                    stdinq.put_nowait(message)
                for write in writes:
                    outq.put_nowait(write)
                if not self.session.open:  # a close frame either way, or a protocol error
                    break
        finally:
            stdinq.put_nowait(None)
        outq.put_nowait(None)  # closed, or the client went away without a close frame


async def _drain(queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
    while True:
        item = await queue.get()
        if item is None:
            return
        yield item


def handshake_refusal() -> Response:
    """x/net/websocket's 400: its words, no newline and no Content-Type."""
    return Response(b"not websocket protocol", 400)


def handshake_error(headers: list[tuple[bytes, bytes]]) -> Response | None:
    """x/net/websocket's answer to a request that cannot be upgraded, else None."""
    if not is_websocket_request(headers):
        return handshake_refusal()
    if header(headers, b"sec-websocket-version").strip() != "13":
        return Response("", 400, headers={"Sec-WebSocket-Version": "13"})
    if not header(headers, b"sec-websocket-key").strip():
        return Response("", 400)
    return None


def scope_headers(scope: Any) -> list[tuple[bytes, bytes]]:
    return [(bytes(k), bytes(v)) for k, v in scope.get("headers", [])]
