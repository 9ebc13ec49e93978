"""Network benchmark, Skiff beside the reference Docker (not collected by pytest; run as a script):

    .venv/bin/python tests/integration/network/bench_network.py --skiff unix:///tmp/x/skiff.sock \
        --docker unix:///var/run/docker-ref.sock [--network NAME]

- start: median ms of ``docker start`` of a created busybox container attached to a bridge network
- throughput: MB/s of a bounded HTTP download (200 MiB) from httpd in a container through a published port on
  127.0.0.1 (the userland proxy's path for loopback)
- rps: requests per second of small GETs through the same port (4 client threads, 3 s)
Everything stays on loopback and the daemons' bridges; containers and networks are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import threading
import time
import urllib.request


def docker(host: str, *args: str) -> str:
    out = subprocess.run(["docker", "-H", host, *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                r.read()
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def bench(host: str, net_args: list[str], runs: int) -> dict[str, float]:
    starts = []
    for _ in range(runs):
        cid = docker(host, "create", *net_args, "busybox", "sleep", "300")
        t0 = time.perf_counter()
        docker(host, "start", cid)
        starts.append((time.perf_counter() - t0) * 1000)
        docker(host, "rm", "-f", cid)
    port = free_port()
    cid = docker(
        host,
        "run",
        "-d",
        *net_args,
        "-p",
        f"127.0.0.1:{port}:80",
        "busybox",
        "sh",
        "-c",
        "mkdir /w && echo ok > /w/small && dd if=/dev/zero of=/w/big bs=1M count=200 2>/dev/null"
        " && exec httpd -f -p 80 -h /w",
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/small")
        t0 = time.perf_counter()
        total = 0
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /big HTTP/1.0\r\n\r\n")
            while chunk := s.recv(1 << 20):
                total += len(chunk)
        mbps = total / (1 << 20) / (time.perf_counter() - t0)
        count = [0]
        stop = time.monotonic() + 3

        def client() -> None:
            while time.monotonic() < stop:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/small", timeout=5) as r:
                    r.read()
                count[0] += 1

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rps = count[0] / 3
    finally:
        docker(host, "rm", "-f", cid)
    return {"start_ms": statistics.median(starts), "throughput_MBps": mbps, "rps": rps}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", required=True)
    ap.add_argument("--docker", default="unix:///var/run/docker-ref.sock")
    ap.add_argument(
        "--network", default="", help="a user network to create on both (default: the default bridge)"
    )
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    results = {}
    for name, host in (("docker", a.docker), ("skiff", a.skiff)):
        net_args: list[str] = []
        if a.network:
            docker(host, "network", "create", a.network)
            net_args = ["--network", a.network]
        try:
            results[name] = bench(host, net_args, a.runs)
        finally:
            if a.network:
                docker(host, "network", "rm", a.network)
    ratio = {k: results["skiff"][k] / results["docker"][k] for k in results["skiff"]}
    print(json.dumps({"results": results, "skiff/docker": ratio}, indent=2))


if __name__ == "__main__":
    main()
