"""The client's error mapping: gRPC status (and the kind trailer) -> errdefs, message kept."""

from __future__ import annotations

import grpc
import pytest
from grpc import aio
from skiff import errdefs
from skiff.core.client import ERROR_KIND_KEY, error_from_rpc, unix_target
from skiff.core.images.unpack import chain_ids

pytestmark = pytest.mark.unit


def rpc_error(code: grpc.StatusCode, details: str, kind: str = "") -> aio.AioRpcError:
    trailing = aio.Metadata((ERROR_KIND_KEY, kind)) if kind else aio.Metadata()
    return aio.AioRpcError(code, aio.Metadata(), trailing, details)


@pytest.mark.parametrize(("code", "exc"), [
    (grpc.StatusCode.NOT_FOUND, errdefs.NotFound),
    (grpc.StatusCode.ALREADY_EXISTS, errdefs.AlreadyExists),
    (grpc.StatusCode.FAILED_PRECONDITION, errdefs.Conflict),
    (grpc.StatusCode.INVALID_ARGUMENT, errdefs.InvalidArgument),
    (grpc.StatusCode.UNIMPLEMENTED, errdefs.NotImplemented_),
    (grpc.StatusCode.UNAVAILABLE, errdefs.Unavailable),
    (grpc.StatusCode.INTERNAL, errdefs.Unknown),
])
def test_codes(code: grpc.StatusCode, exc: type[errdefs.SkiffError]) -> None:
    err = error_from_rpc(rpc_error(code, "No such image: x"))
    assert type(err) is exc
    assert str(err) == "No such image: x"


def test_kind_trailer_wins() -> None:
    err = error_from_rpc(rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "task running", "FailedPrecondition"))
    assert type(err) is errdefs.FailedPrecondition


def test_unix_target() -> None:
    assert unix_target("/run/x.sock") == "unix:///run/x.sock"
    assert unix_target("unix:///run/x.sock") == "unix:///run/x.sock"


def test_chain_ids() -> None:
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    ids = chain_ids([a, b])
    assert ids[0] == a
    import hashlib
    assert ids[1] == "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
