"""Detach keys and the attach websocket end to end on a private skiffd: 100 cycles of each way a client
leaves (detach keys on the hijacked attach, a websocket close frame, a websocket dropped without one) leave
no fd, thread or process behind in skiffd, skiff-containerd, the shim or the container."""

from __future__ import annotations

import glob
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root: conformance/ and vm/

from conformance.fuzz.daemon import PrivateSkiffd
from conformance.harness.world import poll

pytestmark = pytest.mark.root

CYCLES = 100
SLACK = 8


@pytest.fixture(scope="module")
def skiffd() -> Iterator[PrivateSkiffd]:
    daemon = PrivateSkiffd().start()
    try:
        yield daemon
    finally:
        daemon.stop()


def _counts(pids: list[int]) -> dict[int, tuple[int, int]]:
    return {p: (len(os.listdir(f"/proc/{p}/fd")), len(os.listdir(f"/proc/{p}/task"))) for p in pids}


def _children(parent: int) -> list[int]:
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            out.append(int(stat.split("/")[2]))
    return out


def _cmdline(path: str) -> bytes:
    try:
        return Path(path).read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def _detach(path: str, cid: str) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(20)
        sock.connect(path)
        sock.sendall(f"POST /v1.39/containers/{cid}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n"
                     "Host: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(4096)
        assert buf.startswith(b"HTTP/1.1 101"), buf
        sock.sendall(b"\x10\x11")
        while sock.recv(4096):
            pass


def _ws(path: str, cid: str, close_frame: bool) -> None:
    from websockets.sync.client import unix_connect

    with unix_connect(path, f"ws://d/v1.39/containers/{cid}/attach/ws?stream=1") as ws:
        ws.send("true\n")
        if not close_frame:
            ws.socket.close()


def test_clients_that_leave_leave_nothing_behind(skiffd: PrivateSkiffd) -> None:
    path = str(skiffd.socket)
    with httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://d", timeout=60) as http:
        body = {"Image": "busybox", "Cmd": ["sh"], "Tty": True, "OpenStdin": True,
                "HostConfig": {"NetworkMode": "none"}}
        cid = http.post("/v1.39/containers/create", json=body).json()["Id"]
        assert http.post(f"/v1.39/containers/{cid}/start").status_code == 204
        assert skiffd.proc is not None
        engine = [skiffd.proc.pid, *_children(skiffd.proc.pid)]
        shim = [int(p.split("/")[2]) for p in glob.glob("/proc/[0-9]*/cmdline")
                if f"--id {cid}".encode() in _cmdline(p)]
        assert shim, "no shim found"

        def snapshot() -> tuple[dict[int, tuple[int, int]], int]:
            top = http.get(f"/v1.39/containers/{cid}/top").json()["Processes"]
            return _counts(engine + shim), len(top)

        def cycle() -> None:
            _detach(path, cid)
            _ws(path, cid, close_frame=True)
            _ws(path, cid, close_frame=False)

        cycle()  # warm-up: lazily made pools and caches
        before = snapshot()
        for _ in range(CYCLES):
            cycle()
        # connections close asynchronously, and pools (gRPC, executors) grow and shrink a little: a leak of
        # 300 cycles would show as hundreds; allow a few
        def settled() -> bool:
            counts, procs = snapshot()
            return procs == before[1] and all(
                counts[p][0] <= fds + SLACK and counts[p][1] <= threads + SLACK
                for p, (fds, threads) in before[0].items())

        try:
            poll(settled, deadline_s=60, what="the counts to settle")
        except AssertionError as err:
            raise AssertionError(f"{err}: before {before}, after {snapshot()}") from None
        assert http.get(f"/v1.39/containers/{cid}/json").json()["State"]["Running"] is True
