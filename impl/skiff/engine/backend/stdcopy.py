"""Docker's multiplexed stream framing: an 8-byte header (stream, 0, 0, 0, big-endian length) + payload."""

from __future__ import annotations

import struct

STDIN = 0
STDOUT = 1
STDERR = 2

STREAMS = {"stdin": STDIN, "stdout": STDOUT, "stderr": STDERR}


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def split(data: bytes) -> list[tuple[int, bytes]]:
    """Decode a complete buffer of frames (tests and tools)."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 8 <= len(data):
        stream, size = struct.unpack(">BxxxL", data[pos : pos + 8])
        out.append((stream, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size
    return out
