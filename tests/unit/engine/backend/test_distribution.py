"""Docker's progress messages, X-Registry-Auth decoding and the insecure-registry rules."""

from __future__ import annotations

import base64
import json

import pytest
from skiff.core.remotes.progress import Progress
from skiff.core.transfer_client import Auth
from skiff.engine.backend.distribution import (
    Registries,
    decode_auth,
    human_size,
    layer_message,
    progress_bar,
)

pytestmark = pytest.mark.unit


def test_human_size_is_go_units() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 1_050_000, 2_129_920)] == [
        "0B", "999B", "1kB", "1.05MB", "2.13MB"]


def test_progress_bar() -> None:
    assert progress_bar(0, 0) == ""
    half = progress_bar(500, 1000)
    assert half.startswith("[" + "=" * 25 + ">") and half.endswith("     500B/1kB")
    assert progress_bar(1000, 1000).startswith("[" + "=" * 50 + "]")


def test_layer_messages_as_dockerd_writes_them() -> None:
    assert layer_message(Progress(id="abc", status="Pulling fs layer")) == {
        "status": "Pulling fs layer", "progressDetail": {}, "id": "abc"}
    msg = layer_message(Progress(id="abc", status="Downloading", current=5, total=10))
    assert msg["progressDetail"] == {"current": 5, "total": 10} and msg["progress"].startswith("[=")
    pulling = layer_message(Progress(id="1", status="Pulling from bb"))
    assert pulling == {"status": "Pulling from bb", "id": "1"}
    digest = layer_message(Progress(status="Digest: sha256:x", digest="sha256:x"))
    assert digest == {"status": "Digest: sha256:x"}


def test_decode_auth() -> None:
    raw = json.dumps({"username": "alice", "password": "pw", "serveraddress": "r"}).encode()
    header = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert decode_auth(header) == Auth("alice", "pw")
    assert decode_auth(None) == Auth() == decode_auth("e30") == decode_auth("not base64!")


def test_insecure_registries_follow_dockerd() -> None:
    regs = Registries(["myreg.example:5000", "10.1.0.0/16"])
    assert regs.insecure("127.0.0.1:5000") and regs.insecure("localhost:5000")
    assert regs.insecure("myreg.example:5000") and regs.insecure("10.1.2.3:443")
    assert not regs.insecure("10.2.0.1:5000")
