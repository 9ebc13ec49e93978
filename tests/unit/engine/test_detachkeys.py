"""Detach keys: dockerd's spec parsing and its escape proxy's rules, chunk by chunk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from skiff.engine.detachkeys import DEFAULT, Detach, EscapeProxy, parse

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(("spec", "keys"), [
    ("", DEFAULT), ("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-a,x", b"\x01x"), ("DEL", b"\x7f"),
    ("ctrl-@,ctrl-_", b"\x00\x1f"), ("ctrl-[,ctrl-\\,ctrl-],ctrl-^", b"\x1b\x1c\x1d\x1e"), (",", None),
])
def test_parse(spec: str, keys: bytes | None) -> None:
    if keys is None:
        with pytest.raises(ValueError):
            parse(spec)
    else:
        assert parse(spec) == keys


@pytest.mark.parametrize("spec", ["ctrl-,zz", "CTRL-A", "ctrl-A", "ab", "a,,b", "ctrl-1"])
def test_parse_refuses_what_dockerd_refuses(spec: str) -> None:
    with pytest.raises(ValueError, match="Unknown character"):
        parse(spec)


def feed_all(proxy: EscapeProxy, chunks: list[bytes]) -> tuple[bytes, bool]:
    out = b""
    for chunk in chunks:
        data, hit = proxy.feed(chunk)
        out += data
        if hit:
            return out, True
    return out, False


@pytest.mark.parametrize(("chunks", "passed", "hit"), [
    ([b"\x10", b"\x11"], b"", True),
    ([b"\x10\x11"], b"", True),
    ([b"echo pre\n\x10\x11echo post\n"], b"echo pre\n", True),  # bytes after the keys are dropped
    ([b"ab\x10", b"\x11cd"], b"ab", True),
    ([b"\x10", b"x"], b"\x10x", False),  # a broken match releases the held byte first
    ([b"\x10", b"echo\n", b"\x10", b"\x11"], b"\x10echo\n", True),
    ([b"\x10\x10\x11"], b"\x10\x10\x11", False),  # the breaking byte does not start a new match
    ([b"plain text"], b"plain text", False),
    ([b"\x10"], b"", False),  # held back while the match may go on
])
def test_escape_proxy(chunks: list[bytes], passed: bytes, hit: bool) -> None:
    assert feed_all(EscapeProxy(DEFAULT), chunks) == (passed, hit)


def test_escape_proxy_custom_keys() -> None:
    assert feed_all(EscapeProxy(b"\x01x"), [b"\x01", b"x"]) == (b"", True)
    assert feed_all(EscapeProxy(b"\x01x"), [b"\x10\x11"]) == (b"\x10\x11", False)


async def _gen(items: list[bytes], then_block: bool = False) -> AsyncIterator[bytes]:
    for item in items:
        yield item
    if then_block:
        await asyncio.Future()


async def test_detach_ends_output_and_never_ends_stdin() -> None:
    seen: list[str] = []
    detach = Detach(DEFAULT, on_detach=lambda: seen.append("detach"))
    closed = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            await asyncio.Future()
        finally:
            closed.set()

    out: list[bytes] = []

    async def read_output() -> None:
        async for chunk in detach.output(source(), farewell=b"bye"):
            out.append(chunk)

    reader = asyncio.ensure_future(read_output())
    stdin = detach.stdin(_gen([b"ls\n", b"\x10", b"\x11", b"after"]))
    assert await stdin.__anext__() == b"ls\n"
    pending = asyncio.ensure_future(stdin.__anext__())
    await asyncio.wait_for(reader, 5)
    assert out == [b"first", b"bye"] and seen == ["detach"] and closed.is_set()
    assert not pending.done()  # no EOF reaches the process
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending


async def test_output_without_detach_runs_to_its_end() -> None:
    detach = Detach(DEFAULT)
    assert [c async for c in detach.output(_gen([b"a", b"b"]))] == [b"a", b"b"]
    assert [c async for c in detach.stdin(_gen([b"x\x10"]))] == [b"x"]  # partial keys at EOF dropped


async def test_end_stdin_delivers_the_bytes_before_the_keys_before_the_output_ends() -> None:
    """A container attach: stdin ends at the keys, and the output ends only once stdin was delivered."""
    detach = Detach(DEFAULT, end_stdin=True)
    delivered: list[bytes] = []
    output = asyncio.ensure_future(_drain(detach.output(_gen([b"prompt"], then_block=True))))

    async def slow_pump() -> None:
        async for chunk in detach.stdin(_gen([b"echo hi\n\x10\x11", b"dropped"], then_block=True)):
            await asyncio.sleep(0.05)  # a slow core: the output must wait for this write
            delivered.append(chunk)
        assert not output.done()
        detach.stdin_done.set()

    await asyncio.wait_for(slow_pump(), 5)
    assert await asyncio.wait_for(output, 5) == [b"prompt"]
    assert delivered == [b"echo hi\n"]


async def _drain(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [c async for c in chunks]
