"""The shim's wire format, shared by the server and :mod:`skiff.shim.protocol`.

Kept apart from ``protocol`` (which builds dataclasses) so that the shim process itself imports only
:mod:`skiff.shim.codec` (``_json``, not ``json``) and ``struct`` for it.

* Requests and responses are single JSON objects, one per ``\\n``-terminated line.
* After a successful ``attach`` the connection carries Docker stdcopy frames: one byte stream type
  (1 stdout, 2 stderr), three zero bytes, a big-endian uint32 payload length, then the payload.
"""

from __future__ import annotations

import struct

from skiff.shim import codec

TYPE_CHECKING = False  # typing costs ~8 ms of imports at run time; annotations only need it for mypy
if TYPE_CHECKING:
    from typing import Any
STDOUT = 1
STDERR = 2
STREAM_IDS = {"stdout": STDOUT, "stderr": STDERR}
FRAME_HEADER = struct.Struct(">BxxxI")

ERROR_KINDS = ("NotFound", "AlreadyExists", "Conflict", "InvalidArgument", "FailedPrecondition", "Unknown")


def encode_frame(stream: int, payload: bytes) -> bytes:
    """One stdcopy frame."""
    return FRAME_HEADER.pack(stream, len(payload)) + payload


def decode_frame_header(header: bytes) -> tuple[int, int]:
    """``(stream, payload length)`` from the 8 header bytes."""
    stream, length = FRAME_HEADER.unpack(header)
    return int(stream), int(length)


def encode_line(obj: dict[str, Any]) -> bytes:
    """One protocol message: compact JSON and a newline (JSON never contains a raw newline)."""
    return codec.dumps(obj, compact=True).encode() + b"\n"


def decode_line(line: bytes) -> dict[str, Any]:
    """Parse one protocol message; raises ``ValueError`` when it is not a JSON object."""
    obj = codec.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("message is not a JSON object")
    return obj


def request(method: str, params: dict[str, Any] | None = None) -> bytes:
    return encode_line({"method": method, "params": params or {}})


def result(res: dict[str, Any]) -> bytes:
    return encode_line({"result": res})


def error(kind: str, message: str) -> bytes:
    return encode_line({"error": {"kind": kind if kind in ERROR_KINDS else "Unknown", "message": message}})

