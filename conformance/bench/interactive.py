"""Issue 3's measures for the side-by-side bench: ``docker exec <c> true`` latency, the round trip of a
line through an attached stream, and ``docker logs`` of a 20 MB log.

Each target gets one long-lived ``sleep`` container (exec), one ``cat`` container (attach) and one that
wrote the log (logs), made on first use and labelled ``skiff.bench=1`` so the bench's sweep removes them.
A sample is itself a median (execs) or a p50 (lines), so that the bench's 7 iterations are enough.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx

from conformance.harness import api, cli
from conformance.target import Target
from vm.ping import unix_path

EXECS_PER_SAMPLE = 5
LINES_PER_SAMPLE = 200
LOG_MB = 20
DEADLINE_S = 120.0

_made: dict[tuple[str, str], str] = {}  # (target host, role) -> container ID


def _container(target: Target, http: httpx.Client, role: str, body: dict[str, Any], wait_exit: bool) -> str:
    key = (target.host, role)
    ident = _made.get(key)
    if ident is not None and http.get(api.v(f"/containers/{ident}/json")).status_code == 200:
        return ident
    body = {"Image": "busybox", "Labels": {"skiff.bench": "1"}, **body,
            "HostConfig": {"NetworkMode": "none"}}
    ident = str(api.check(http.post(api.v("/containers/create"), json=body), 201).json()["Id"])
    api.check(http.post(api.v(f"/containers/{ident}/start")), 204)
    if wait_exit:
        api.check(http.post(api.v(f"/containers/{ident}/wait"), timeout=DEADLINE_S), 200)
    _made[key] = ident
    return ident


def exec_true(target: Target, http: httpx.Client) -> float:
    """ms: median wall time of ``docker exec <c> true`` (the CLI's create, start, inspect)."""
    ident = _container(target, http, "exec", {"Cmd": ["sleep", "100000"]}, wait_exit=False)
    times = []
    for _ in range(EXECS_PER_SAMPLE):
        start = time.perf_counter()
        proc = subprocess.run([cli.docker(), "-H", target.host, "exec", ident, "true"], capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=DEADLINE_S)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode(errors="replace").strip())
    return statistics.median(times) * 1000


def attach_round_trip(target: Target, http: httpx.Client) -> float:
    """ms: p50 of a line written to an attached ``cat``'s stdin until it is back on the stream."""
    ident = _container(target, http, "attach", {"Cmd": ["cat"], "OpenStdin": True}, wait_exit=False)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(DEADLINE_S)
    sock.connect(unix_path(target.host))
    try:
        path = api.v(f"/containers/{ident}/attach?stream=1&stdin=1&stdout=1")
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                     "Content-Length: 0\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(4096)
        buf = buf.split(b"\r\n\r\n", 1)[1]
        delays: list[float] = []
        for i in range(LINES_PER_SAMPLE):
            line = f"{i}\n".encode()
            start = time.perf_counter()
            sock.sendall(line)
            while True:
                if len(buf) >= 8 and len(buf) >= 8 + int.from_bytes(buf[4:8], "big"):
                    size = int.from_bytes(buf[4:8], "big")
                    payload, buf = buf[8:8 + size], buf[8 + size:]
                    if payload == line:
                        break
                    continue
                chunk = sock.recv(65536)
                if not chunk:
                    raise RuntimeError("the attach ended early")
                buf += chunk
            delays.append((time.perf_counter() - start) * 1000)
    finally:
        sock.close()
    return statistics.median(delays)


def logs_20mb(target: Target, http: httpx.Client) -> float:
    """s: wall time of ``docker logs`` of a container that wrote LOG_MB MB in 100-byte lines."""
    line = "x" * 99
    script = f"i=0; while [ $i -lt {LOG_MB * 10} ]; do yes {line} | head -n 1000; i=$((i+1)); done"
    ident = _container(target, http, "logs", {"Cmd": ["sh", "-c", script]}, wait_exit=True)
    start = time.perf_counter()
    proc = subprocess.run([cli.docker(), "-H", target.host, "logs", ident], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=DEADLINE_S)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or len(proc.stdout) != LOG_MB * 1_000_000:
        raise RuntimeError(f"docker logs: {proc.returncode}, {len(proc.stdout)} bytes")
    return elapsed


def measures(measure: Callable[..., Any]) -> list[Any]:
    """The Measure rows (the class is passed in: measures.py imports this module at its end)."""
    return [
        measure("exec", f"`docker exec <c> true` (median of {EXECS_PER_SAMPLE})", "ms", exec_true),
        measure("attach", f"attach round trip p50 ({LINES_PER_SAMPLE} lines through `cat`)", "ms",
                attach_round_trip),
        measure("logs", f"`docker logs` of a {LOG_MB} MB log", "s", logs_20mb),
    ]
