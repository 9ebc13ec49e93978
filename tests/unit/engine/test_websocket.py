"""RFC 6455 server framing for attach/ws: handshake key, server frames, the client-frame parser."""

from __future__ import annotations

import os
import struct

import pytest
from skiff.engine.hijack import is_hijackable
from skiff.engine.websocket import (
    BINARY,
    CLOSE,
    CONT,
    PING,
    TEXT,
    FrameParser,
    ProtocolError,
    accept_key,
    close_frame,
    encode_frame,
    handshake_error,
)

pytestmark = pytest.mark.unit


def client_frame(opcode: int, payload: bytes, fin: bool = True, mask: bytes | None = None) -> bytes:
    """A masked frame as a client sends it."""
    mask = os.urandom(4) if mask is None else mask
    size = len(payload)
    first = (0x80 if fin else 0) | opcode
    if size < 126:
        head = struct.pack("!BB", first, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, size)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_accept_key_is_rfc_6455s_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536])
def test_server_frame_lengths(size: int) -> None:
    frame = encode_frame(BINARY, b"x" * size)
    assert frame[0] == 0x82
    length = frame[1] & 0x7F
    assert not frame[1] & 0x80  # a server never masks
    if size < 126:
        assert length == size and len(frame) == 2 + size
    elif size < 65536:
        assert length == 126 and struct.unpack("!H", frame[2:4])[0] == size
    else:
        assert length == 127 and struct.unpack("!Q", frame[2:10])[0] == size


def test_close_frame_carries_the_code() -> None:
    assert close_frame(1000) == b"\x88\x02\x03\xe8"


@pytest.mark.parametrize("size", [0, 3, 200, 70000])
def test_parser_unmasks_and_reassembles_split_input(size: int) -> None:
    payload = os.urandom(size)
    data = client_frame(TEXT, payload) + client_frame(PING, b"p")
    parser = FrameParser()
    got = []
    for i in range(0, len(data), 7):  # byte-dribbled input
        got += parser.feed(data[i:i + 7])
    assert got == [(TEXT, payload), (PING, b"p")]


def test_parser_joins_fragments_around_a_control_frame() -> None:
    parser = FrameParser()
    data = (client_frame(BINARY, b"ab", fin=False) + client_frame(PING, b"") +
            client_frame(CONT, b"cd", fin=False) + client_frame(CONT, b"e"))
    assert parser.feed(data) == [(PING, b""), (BINARY, b"abcde")]


@pytest.mark.parametrize("data", [
    b"\x81\x02ab",  # unmasked
    client_frame(CONT, b"x"),  # continuation of nothing
    client_frame(0x3, b"x"),  # reserved opcode
    client_frame(CLOSE, b"x" * 126),  # control frame too long
    client_frame(PING, b"", fin=False),  # fragmented control frame
    bytes([0xC1]) + client_frame(TEXT, b"x")[1:],  # RSV1 without an extension
])
def test_parser_refuses_protocol_errors(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        FrameParser().feed(data)


def test_handshake_checks() -> None:
    good = [(b"upgrade", b"WebSocket"), (b"connection", b"keep-alive, Upgrade"),
            (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="), (b"sec-websocket-version", b"13")]
    assert handshake_error(good) is None
    plain = handshake_error([])
    assert plain is not None and plain.status_code == 400 and plain.body == b"not websocket protocol\n"
    old = handshake_error([h for h in good if h[0] != b"sec-websocket-version"] +
                          [(b"sec-websocket-version", b"8")])
    assert old is not None and old.status_code == 400


def test_only_the_attach_websocket_get_is_hijacked() -> None:
    assert is_hijackable("GET", "/v1.39/containers/abc/attach/ws")
    assert is_hijackable("GET", "/containers/abc/attach/ws")
    assert not is_hijackable("GET", "/v1.39/containers/abc/attach")
    assert not is_hijackable("POST", "/v1.39/containers/abc/attach/ws")
    assert is_hijackable("POST", "/v1.39/containers/abc/attach")
