"""stdcopy framing and HijackResponse's plain (non-hijacked) fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from skiff.engine.streams import HijackResponse, StdcopyDecoder, StdType, decode, encode_frame, encode_frames
from starlette.types import Receive, Scope, Send

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_frame_layout() -> None:
    assert encode_frame(StdType.STDOUT, b"hi\n") == b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"
    assert encode_frame(StdType.STDERR, b"") == b"\x02\x00\x00\x00\x00\x00\x00\x00"


def test_roundtrip_and_split() -> None:
    data = b"".join(encode_frames(StdType.STDOUT, b"x" * 70000)) + encode_frame(StdType.STDERR, b"err")
    frames = decode(data)
    assert [len(d) for _, d in frames] == [32768, 32768, 70000 - 65536, 3]
    assert frames[-1] == (StdType.STDERR, b"err")


def test_incremental_decoder() -> None:
    data = encode_frame(1, b"abc") + encode_frame(2, b"de")
    decoder = StdcopyDecoder()
    out = []
    for i in range(len(data)):
        out += decoder.feed(data[i:i + 1])
    assert out == [(StdType.STDOUT, b"abc"), (StdType.STDERR, b"de")]
    assert decoder.pending == 0


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="truncated"):
        decode(encode_frame(1, b"abc")[:-1])
    with pytest.raises(ValueError, match="stream id"):
        decode(b"\x07\x00\x00\x00\x00\x00\x00\x00")


async def test_hijack_response_without_the_protocol_is_a_plain_stream() -> None:
    async def output() -> AsyncIterator[bytes]:
        yield b"one "
        yield b"two"

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await HijackResponse(output())(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        r = await c.post("/containers/x/attach")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.docker.raw-stream"
    assert r.content == b"one two"


def test_json_response_is_go_shaped() -> None:
    from skiff.engine.responses import go_json, json_response

    assert go_json({"a": "<b>&", "n": None, "l": [1]}) == b'{"a":"\\u003cb\\u003e\\u0026","n":null,"l":[1]}\n'
    assert json_response(None, 204).body == b""
    r = json_response({"x": 1}, 201)
    assert (r.status_code, r.media_type, r.body) == (201, "application/json", b'{"x":1}\n')
