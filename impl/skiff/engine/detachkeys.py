"""Detach keys: the key sequence that ends an attach to a terminal while the container keeps running.

dockerd reads the client's stdin of a TTY attach (or exec) through an escape proxy (default ctrl-p ctrl-q,
``detachKeys`` on attach, ``DetachKeys`` on exec create). Bytes of a partial match are held back; a
mismatch releases them ahead of the byte that broke the match; the full sequence ends the stdin copy,
the bytes before it in the same read still reach the process, and those after it are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

DEFAULT = b"\x10\x11"  # ctrl-p ctrl-q
STDIN_DRAIN_TIMEOUT = 5.0  # how long a detach waits for the bytes before the sequence to be delivered

# "ctrl-@" is 0, "ctrl-a".."ctrl-z" 1..26, then "ctrl-[" "ctrl-\" "ctrl-]" "ctrl-^" "ctrl-_" 27..31
_CTRL = {"ctrl-@": 0, **{f"ctrl-{chr(ord('a') + i)}": i + 1 for i in range(26)},
         "ctrl-[": 27, "ctrl-\\": 28, "ctrl-]": 29, "ctrl-^": 30, "ctrl-_": 31, "DEL": 127}


def parse(spec: str) -> bytes:
    """The bytes of a detach-keys spec ("ctrl-p,ctrl-q", "a", "DEL"); "" is the default sequence.

    Raises ValueError for what dockerd refuses (an empty item, several characters, upper-case CTRL).
    """
    if spec == "":
        return DEFAULT
    out = bytearray()
    for key in spec.split(","):
        if len(key) == 1:
            out += key.encode()[:1]  # Go takes the first byte of the string
        elif key in _CTRL:
            out.append(_CTRL[key])
        else:
            raise ValueError(f"Unknown character: '{key}'")
    return bytes(out)


class EscapeProxy:
    """Feed the client's stdin chunks; get back what to pass on, and whether the sequence was seen."""

    def __init__(self, keys: bytes = DEFAULT) -> None:
        self.keys = keys or DEFAULT
        self.pos = 0  # bytes of the sequence matched so far (held back)

    def feed(self, chunk: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        start = 0  # first byte of ``chunk`` not yet passed on
        for i, byte in enumerate(chunk):
            if byte == self.keys[self.pos]:
                if self.pos == 0:
                    out += chunk[start:i]
                self.pos += 1
                start = i + 1
                if self.pos == len(self.keys):
                    self.pos = 0
                    return bytes(out), True
                continue
            if self.pos:
                out += self.keys[: self.pos]  # a broken match: release what was held back
                self.pos = 0
                start = i
        out += chunk[start:]
        return bytes(out), False


class Detach:
    """One attach's detach state: wraps its stdin chunks and its output stream."""

    def __init__(
        self, keys: bytes, on_detach: Callable[[], None] | None = None, end_stdin: bool = False
    ) -> None:
        """``end_stdin``: the stdin stream ends at the sequence (its consumer must not close the process's
        stdin then), and the output waits for ``stdin_done`` before it ends, so that the bytes before the
        sequence reach the process before the attach is torn down."""
        self.proxy = EscapeProxy(keys)
        self.event = asyncio.Event()
        self.on_detach = on_detach
        self.end_stdin = end_stdin
        self.stdin_done = asyncio.Event()

    @property
    def detached(self) -> bool:
        return self.event.is_set()

    async def stdin(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The client's bytes without the sequence; after a detach it never ends (no EOF reaches the
        process: a detach is not a half-close), the attach's end cancels it."""
        async for chunk in chunks:
            data, hit = self.proxy.feed(chunk)
            if data:
                yield data
            if hit:
                self.event.set()
                if self.on_detach is not None:
                    self.on_detach()
                if self.end_stdin:
                    return
                await asyncio.Future()  # until cancelled
        # a partial sequence at the client's half-close is dropped, as dockerd's proxy does

    async def output(self, source: AsyncIterator[bytes], farewell: bytes = b"") -> AsyncIterator[bytes]:
        """``source`` until it ends or the client detaches (then ``farewell``, and ``source`` is closed)."""
        waiter = asyncio.ensure_future(self.event.wait())
        try:
            while True:
                step = asyncio.ensure_future(source.__anext__())
                await asyncio.wait({step, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if step.done():
                    try:
                        chunk = step.result()
                    except StopAsyncIteration:
                        return
                    yield chunk
                    continue
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                    await step
                if self.end_stdin:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stdin_done.wait(), STDIN_DRAIN_TIMEOUT)
                if farewell:
                    yield farewell
                return
        finally:
            waiter.cancel()
            with contextlib.suppress(Exception):
                await source.aclose()  # type: ignore[attr-defined]
