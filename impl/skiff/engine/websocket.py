"""The server side of RFC 6455 for ``GET /containers/{id}/attach/ws``, over the hijacked connection.

dockerd serves that endpoint with golang.org/x/net/websocket: the handshake answers ``101 Switching
Protocols``; each write of the container's output is one message (binary from API 1.28 on, text before),
stdout and stderr alike, never multiplexed; every data message from the client is stdin; a close frame is
answered with a close frame (1000) and the connection ends; when the output ends dockerd sends a close
frame (1000) too. The hijack protocol (``skiff.engine.hijack``) hands over the raw bytes both ways; this
module frames them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from skiff.engine.streams import HIJACK_EXTENSION, HijackChannel

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
MAX_MESSAGE = 16 * 1024 * 1024  # a client message larger than this is a protocol error

StdinCallback = Callable[[AsyncIterator[bytes]], Awaitable[None]]


class ProtocolError(Exception):
    """The client broke RFC 6455 (unmasked frame, bad opcode, oversized message)."""


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def is_websocket_request(headers: list[tuple[bytes, bytes]]) -> bool:
    """What x/net/websocket checks before "not websocket protocol": GET with Upgrade: websocket and
    Connection: upgrade (the method is fixed by the route)."""
    upgrade = b",".join(v for k, v in headers if k.lower() == b"upgrade").strip().lower()
    connection = b",".join(v for k, v in headers if k.lower() == b"connection").lower()
    return upgrade == b"websocket" and b"upgrade" in [t.strip() for t in connection.split(b",")]


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")


def encode_frame(opcode: int, payload: bytes = b"") -> bytes:
    """One final, unmasked (server) frame."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


def close_frame(code: int = CLOSE_NORMAL) -> bytes:
    return encode_frame(CLOSE, struct.pack("!H", code))


class FrameParser:
    """Incremental parser of client frames: ``feed`` returns whole messages and control frames as
    ``(opcode, payload)``; fragments are joined (the opcode of a joined message is its first frame's)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.fragments: list[bytes] = []
        self.fragment_opcode = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        out: list[tuple[int, bytes]] = []
        while True:
            frame = self._frame()
            if frame is None:
                return out
            fin, opcode, payload = frame
            if opcode >= CLOSE:
                if not fin or len(payload) > 125 or opcode not in (CLOSE, PING, PONG):
                    raise ProtocolError(f"bad control frame {opcode:#x}")
                out.append((opcode, payload))
                continue
            if opcode not in (CONT, TEXT, BINARY):
                raise ProtocolError(f"unknown opcode {opcode:#x}")
            if opcode == CONT and not self.fragments:
                raise ProtocolError("continuation without a message")
            if opcode != CONT:
                if self.fragments:
                    raise ProtocolError("new message inside a fragmented one")
                self.fragment_opcode = opcode
            self.fragments.append(payload)
            if sum(len(f) for f in self.fragments) > MAX_MESSAGE:
                raise ProtocolError("message too big")
            if fin:
                out.append((self.fragment_opcode, b"".join(self.fragments)))
                self.fragments = []

    def _frame(self) -> tuple[bool, int, bytes] | None:
        buf = self.buf
        if len(buf) < 2:
            return None
        fin, opcode = bool(buf[0] & 0x80), buf[0] & 0x0F
        if buf[0] & 0x70:
            raise ProtocolError("reserved bits set")
        if not buf[1] & 0x80:
            raise ProtocolError("client frames must be masked")
        size, offset = buf[1] & 0x7F, 2
        if size == 126:
            if len(buf) < 4:
                return None
            size, offset = struct.unpack_from("!H", buf, 2)[0], 4
        elif size == 127:
            if len(buf) < 10:
                return None
            size, offset = struct.unpack_from("!Q", buf, 2)[0], 10
        if size > MAX_MESSAGE:
            raise ProtocolError("frame too big")
        if len(buf) < offset + 4 + size:
            return None
        mask = bytes(buf[offset:offset + 4])
        start = offset + 4
        payload = _unmask(bytes(buf[start:start + size]), mask)
        del buf[:start + size]
        return fin, opcode, payload


def _unmask(data: bytes, mask: bytes) -> bytes:
    if not data:
        return data
    key = int.from_bytes((mask * (len(data) // 4 + 1))[:len(data)], "big")
    return (int.from_bytes(data, "big") ^ key).to_bytes(len(data), "big")


class WebSocketResponse(Response):
    """Answer the handshake on a hijackable connection, then frame ``output`` and feed ``stdin`` with the
    client's data messages. Use ``websocket_or_400`` to answer a request that is not a websocket one."""

    def __init__(self, output: AsyncIterator[bytes], key: str, binary: bool = True,
                 stdin: StdinCallback | None = None) -> None:
        self.output = output
        self.key = key
        self.opcode = BINARY if binary else TEXT
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
            await Response("not websocket protocol\n", 400, media_type="text/plain; charset=utf-8")(
                scope, receive, send)
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
                if chunk:
                    outq.put_nowait(encode_frame(self.opcode, chunk))
        finally:
            outq.put_nowait(close_frame(CLOSE_NORMAL))
            outq.put_nowait(None)

    async def _read_client(self, channel: HijackChannel, outq: asyncio.Queue[bytes | None],
                           stdinq: asyncio.Queue[bytes | None]) -> None:
        parser = FrameParser()
        try:
            async for data in channel.stdin():
                for opcode, payload in parser.feed(data):
                    if opcode in (TEXT, BINARY):
                        if payload:
                            stdinq.put_nowait(payload)
                    elif opcode == PING:
                        outq.put_nowait(encode_frame(PONG, payload))
                    elif opcode == CLOSE:
                        outq.put_nowait(close_frame(CLOSE_NORMAL))
                        outq.put_nowait(None)
                        return
        except ProtocolError:
            outq.put_nowait(close_frame(CLOSE_PROTOCOL_ERROR))
            outq.put_nowait(None)
        finally:
            stdinq.put_nowait(None)
        outq.put_nowait(None)  # the client went away without a close frame


async def _drain(queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
    while True:
        item = await queue.get()
        if item is None:
            return
        yield item


def handshake_error(headers: list[tuple[bytes, bytes]]) -> Response | None:
    """x/net/websocket's answer to a request that cannot be upgraded, else None."""
    if not is_websocket_request(headers):
        return Response("not websocket protocol\n", 400, media_type="text/plain; charset=utf-8")
    if header(headers, b"sec-websocket-version").strip() != "13":
        return Response("", 400, headers={"Sec-WebSocket-Version": "13"})
    if not header(headers, b"sec-websocket-key").strip():
        return Response("", 400)
    return None


def scope_headers(scope: Any) -> list[tuple[bytes, bytes]]:
    return [(bytes(k), bytes(v)) for k, v in scope.get("headers", [])]
