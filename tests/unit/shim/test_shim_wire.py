"""Frames and the JSON-lines codec shared by the shim and its client."""

from __future__ import annotations

import pytest
from skiff import errdefs
from skiff.shim import protocol, wire

pytestmark = pytest.mark.unit


def test_frame_is_docker_stdcopy() -> None:
    assert wire.encode_frame(wire.STDOUT, b"hi\n") == b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"
    assert wire.encode_frame(wire.STDERR, b"") == b"\x02\x00\x00\x00\x00\x00\x00\x00"
    big = wire.encode_frame(wire.STDERR, b"x" * 70000)
    assert big[:8] == b"\x02\x00\x00\x00\x00\x01\x11\x70"
    assert wire.decode_frame_header(big[:8]) == (2, 70000)


def test_lines_are_compact_single_line_json() -> None:
    line = wire.request("kill", {"signal": 9, "all": False})
    assert line == b'{"method":"kill","params":{"signal":9,"all":false}}\n'
    assert wire.decode_line(line) == {"method": "kill", "params": {"signal": 9, "all": False}}
    assert wire.result({"msg": "a\nb"}).count(b"\n") == 1


def test_error_kinds_outside_the_contract_become_unknown() -> None:
    assert wire.error("NotFound", "x") == b'{"error":{"kind":"NotFound","message":"x"}}\n'
    assert wire.error("Weird", "y") == b'{"error":{"kind":"Unknown","message":"y"}}\n'


def test_decode_line_rejects_non_objects() -> None:
    with pytest.raises(ValueError):
        wire.decode_line(b"[1]")
    with pytest.raises(ValueError):
        wire.decode_line(b"{nope")


def test_requests_encode_their_params() -> None:
    assert protocol.encode_request(protocol.KillRequest(signal=9, all=True)) == (
        b'{"method":"kill","params":{"signal":9,"all":true}}\n')
    assert protocol.encode_request(protocol.StartRequest()) == b'{"method":"start","params":{}}\n'
    assert protocol.encode_request(protocol.AttachRequest(stderr=False)) == (
        b'{"method":"attach","params":{"stdout":true,"stderr":false,"exec_id":""}}\n')


def test_decode_response_results_and_errors() -> None:
    assert protocol.decode_response(b'{"result":{"pid":7}}\n') == {"pid": 7}
    for kind, cls in [("NotFound", errdefs.NotFound), ("AlreadyExists", errdefs.AlreadyExists),
                      ("Conflict", errdefs.Conflict), ("InvalidArgument", errdefs.InvalidArgument),
                      ("FailedPrecondition", errdefs.FailedPrecondition), ("Unknown", errdefs.Unknown)]:
        with pytest.raises(cls, match="boom"):
            protocol.decode_response(wire.error(kind, "boom"))
    with pytest.raises(errdefs.Unavailable):
        protocol.decode_response(b"")
    with pytest.raises(errdefs.Unknown):
        protocol.decode_response(b'{"nothing":1}\n')


def test_responses_ignore_fields_a_newer_shim_adds() -> None:
    state = protocol._load(protocol.StateResponse, {
        "id": "c", "pid": 1, "status": "running", "exit_status": 0, "exited_at": "0001-01-01T00:00:00Z",
        "future": True})
    assert state.status == "running" and state.id == "c"


def test_protocol_imports_only_stdlib_and_errdefs() -> None:
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(protocol))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    skiff = {m for m in imported if m and m.startswith("skiff")}
    assert skiff <= {"skiff", "skiff.shim", "skiff.shim.wire"}
