"""Unix socket paths longer than sun_path still bind and connect."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from skiff.shim import unixsock

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("depth", [1, 12])
def test_bind_and_connect_any_length(tmp_path: Path, depth: int) -> None:
    d = tmp_path.joinpath(*["d" * 9] * depth)
    d.mkdir(parents=True)
    path = str(d / "shim.sock")
    assert (len(path) > unixsock.SUN_PATH_MAX) == (depth > 1)
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        unixsock.bind(server, path)
        server.listen(1)
        unixsock.connect(client, path)
        conn, _ = server.accept()
        with conn:
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
    assert Path(path).exists()
