"""Issue 3's benchmark, Skiff and the reference side by side: ``docker exec <c> true`` latency,
``docker logs`` throughput on a big log (MB/s), and the round trip of a line through an attached stream
(stdin -> ``cat`` -> stdout; p50/p99 over LINES lines).

Usage (root): .venv/bin/python tests/integration/engine/bench_interactive.py SKIFF_HOST [REF_HOST] [--mb 100]
Hosts are ``unix://...`` addresses. Containers run with ``--network none`` and are removed at the end.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

EXECS = 30
LINES = 1000


def docker(host: str, *args: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["docker", "-H", host, *args], capture_output=True, check=check, **kw)  # type: ignore[call-overload, no-any-return]


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def exec_latency(host: str, cid: str) -> tuple[float, float]:
    times = []
    for _ in range(EXECS):
        t0 = time.perf_counter()
        docker(host, "exec", cid, "true")
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, min(times) * 1000


def logs_throughput(host: str, mb: int) -> float:
    name = f"bench-logs-{os.getpid()}"
    line = "x" * 99  # 100 bytes with the newline
    script = f"i=0; while [ $i -lt {mb * 10} ]; do yes {line} | head -n 1000; i=$((i+1)); done"
    docker(host, "run", "--network", "none", "--name", name, "busybox", "sh", "-c", script)
    try:
        t0 = time.perf_counter()
        out = docker(host, "logs", name).stdout
        elapsed = time.perf_counter() - t0
        return len(out) / elapsed / 1e6
    finally:
        docker(host, "rm", "-f", name, check=False)


def attach_latency(host: str) -> tuple[float, float]:
    """Round trip through an attached stream: a line to the container's stdin (``cat``) until it comes
    back on stdout, LINES times (busybox ``date`` has no nanoseconds, so a one-way time is not measurable
    from inside); p50 and p99 in ms."""
    name = f"bench-attach-{os.getpid()}"
    cid = docker(host, "run", "-d", "-i", "--network", "none", "--name", name, "busybox",
                 "cat").stdout.decode().strip()
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(host.removeprefix("unix://"))
        sock.sendall(f"POST /v1.39/containers/{cid}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n"
                     "Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(4096)
        buf = buf.split(b"\r\n\r\n", 1)[1]
        delays: list[float] = []
        for i in range(LINES):
            line = f"{i}\n".encode()
            t0 = time.perf_counter()
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
                    raise SystemExit("attach ended early")
                buf += chunk
            delays.append((time.perf_counter() - t0) * 1000)
        sock.close()
        delays.sort()
        return delays[len(delays) // 2], delays[int(len(delays) * 0.99) - 1]
    finally:
        docker(host, "rm", "-f", name, check=False)


def bench(host: str, mb: int) -> dict[str, float]:
    name = f"bench-exec-{os.getpid()}"
    docker(host, "run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "600")
    try:
        med, best = exec_latency(host, name)
    finally:
        docker(host, "rm", "-f", name, check=False)
    p50, p99 = attach_latency(host)
    return {"exec_ms_median": med, "exec_ms_min": best, "logs_MBps": logs_throughput(host, mb),
            "attach_ms_p50": p50, "attach_ms_p99": p99}


def main() -> None:
    args = sys.argv[1:]
    mb = 100
    if "--mb" in args:
        i = args.index("--mb")
        mb = int(args[i + 1])
        del args[i:i + 2]
    results = {host: bench(host, mb) for host in args}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
