"""attach/ws over websockets' sans-I/O server: the handshake answers, the output and close frames a
client reads, the stdin messages and protocol errors a client's frames make."""

from __future__ import annotations

import os

import pytest
from skiff.engine.hijack import is_hijackable
from skiff.engine.websocket import MAX_MESSAGE, Session, accept_key, handshake_error
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State

pytestmark = pytest.mark.unit


def client_frame(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    """A masked frame as a client sends it."""
    return Frame(opcode, payload, fin).serialize(mask=True)


def client_reads(writes: list[bytes]) -> list[Frame]:
    """What a websocket client makes of the server's bytes (it checks they are unmasked server frames)."""
    client = ClientProtocol(None, state=State.OPEN, max_size=None)  # type: ignore[arg-type]
    client.receive_data(b"".join(writes))
    assert client.parser_exc is None
    return [e for e in client.events_received() if isinstance(e, Frame)]


def close_code(frame: Frame) -> int:
    assert frame.opcode is Opcode.CLOSE
    return Close.parse(frame.data).code


def test_accept_key_is_rfc_6455s_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize(("binary", "opcode"), [(True, Opcode.BINARY), (False, Opcode.TEXT)])
@pytest.mark.parametrize("size", [1, 125, 126, 65535, 65536])
def test_each_output_write_is_one_message(binary: bool, opcode: Opcode, size: int) -> None:
    session = Session(binary)
    chunk = os.urandom(size)
    frames = client_reads(session.output(chunk) + session.output(b"") + session.output(b"x"))
    assert [(f.opcode, f.fin, bytes(f.data)) for f in frames] == [(opcode, True, chunk), (opcode, True, b"x")]


def test_the_end_of_output_is_a_close_1000() -> None:
    session = Session()
    writes = session.close()
    assert [close_code(f) for f in client_reads(writes)] == [1000]
    assert not session.open
    assert session.output(b"late") == [] and session.close() == []


@pytest.mark.parametrize("size", [0, 3, 200, 70000])
def test_client_messages_are_stdin_whatever_the_split(size: int) -> None:
    payload = os.urandom(size)
    data = (client_frame(Opcode.TEXT, payload) + client_frame(Opcode.PING, b"p") +
            client_frame(Opcode.BINARY, b"z"))
    session = Session()
    messages: list[bytes] = []
    writes: list[bytes] = []
    for i in range(0, len(data), 7):  # byte-dribbled input
        got, out = session.receive(data[i:i + 7])
        messages += got
        writes += out
    assert messages == ([payload] if payload else []) + [b"z"]  # an empty message writes nothing
    assert [(f.opcode, bytes(f.data)) for f in client_reads(writes)] == [(Opcode.PONG, b"p")]
    assert session.open


def test_fragments_make_one_stdin_write_around_a_control_frame() -> None:
    data = (client_frame(Opcode.BINARY, b"ab", fin=False) + client_frame(Opcode.PING, b"") +
            client_frame(Opcode.CONT, b"cd", fin=False) + client_frame(Opcode.CONT, b"e"))
    messages, writes = Session().receive(data)
    assert messages == [b"abcde"]
    assert [f.opcode for f in client_reads(writes)] == [Opcode.PONG]


@pytest.mark.parametrize("close", [Close(1000, ""), Close(1001, "going away"), None])
def test_a_close_is_answered_with_a_bare_1000(close: Close | None) -> None:
    session = Session()
    payload = b"" if close is None else close.serialize()
    messages, writes = session.receive(client_frame(Opcode.TEXT, b"last") +
                                       client_frame(Opcode.CLOSE, payload) +
                                       client_frame(Opcode.TEXT, b"ignored"))
    assert messages == [b"last"]
    frames = client_reads(writes)
    assert [close_code(f) for f in frames] == [1000] and bytes(frames[0].data) == b"\x03\xe8"
    assert not session.open


def raw_client_frame(first: int, payload: bytes) -> bytes:
    """A masked frame with any first byte (FIN, RSV, opcode), which Frame.serialize would refuse."""
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([first, 0x80 | size]) if size < 126 else bytes([first, 0x80 | 126]) + size.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("data", [
    Frame(Opcode.TEXT, b"x").serialize(mask=False),  # unmasked
    client_frame(Opcode.CONT, b"x"),  # continuation of nothing
    client_frame(Opcode.TEXT, b"a", fin=False) + client_frame(Opcode.TEXT, b"b"),  # new message inside one
    raw_client_frame(0x83, b"x"),  # reserved opcode
    raw_client_frame(0x88, b"\x03\xe8" + b"x" * 124),  # control frame too long
    raw_client_frame(0x09, b""),  # fragmented ping
    raw_client_frame(0xC1, b"x"),  # RSV1 without an extension
    bytes([0x82, 0xFF]) + (MAX_MESSAGE + 1).to_bytes(8, "big"),  # a frame over the limit
    client_frame(Opcode.BINARY, b"x" * (MAX_MESSAGE // 2), fin=False) +
    bytes([0x00, 0xFF]) + (MAX_MESSAGE // 2 + 1).to_bytes(8, "big"),  # a message over the limit
], ids=["unmasked", "stray-continuation", "message-in-message", "reserved-opcode", "long-control",
        "fragmented-ping", "rsv1", "oversized-frame", "oversized-message"])  # stable ids: masks are random
def test_protocol_errors_are_a_bare_close_1002(data: bytes) -> None:
    session = Session()
    _, writes = session.receive(data)
    assert session.protocol.parser_exc is not None, "not refused"
    frames = client_reads(writes)
    assert [close_code(f) for f in frames] == [1002] and bytes(frames[0].data) == b"\x03\xea"
    assert not session.open


def test_handshake_checks() -> None:
    good = [(b"upgrade", b"WebSocket"), (b"connection", b"keep-alive, Upgrade"),
            (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="), (b"sec-websocket-version", b"13")]
    assert handshake_error(good) is None
    plain = handshake_error([])
    assert plain is not None and plain.status_code == 400 and plain.body == b"not websocket protocol"
    assert "content-type" not in plain.headers
    old = handshake_error([h for h in good if h[0] != b"sec-websocket-version"] +
                          [(b"sec-websocket-version", b"8")])
    assert old is not None and old.status_code == 400


def test_only_the_attach_websocket_get_is_hijacked() -> None:
    assert is_hijackable("GET", "/v1.39/containers/abc/attach/ws")
    assert is_hijackable("GET", "/containers/abc/attach/ws")
    assert not is_hijackable("GET", "/v1.39/containers/abc/attach")
    assert not is_hijackable("POST", "/v1.39/containers/abc/attach/ws")
    assert is_hijackable("POST", "/v1.39/containers/abc/attach")
