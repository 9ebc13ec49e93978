"""Container start on a bridge network, Skiff and the reference interleaved (not collected by pytest):

    .venv/bin/python tests/integration/network/bench_start.py --skiff unix:///tmp/x/skiff.sock [--runs 31] \
        [--also base=unix:///tmp/y/skiff.sock]    # an A/B build measured in the same rounds

Each round creates a busybox ``sleep`` container on each daemon (untimed), times ``POST /start`` through the
API (the daemon's own work: sandbox, veth, addresses, rules, task), then removes it; who goes first
rotates. Prints the medians in ms and the ratios to Docker. Containers carry a label and go by ID.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from conformance.harness import api

LABEL = "skiff.bench.start"


def lifecycle(http: object, net: str) -> float:
    """create + start + wait + delete of ``true``: what ``docker run --rm`` asks of the daemon."""
    body = {"Image": "busybox", "Cmd": ["true"], "Labels": {LABEL: "1"}, "HostConfig": {"NetworkMode": net}}
    t0 = time.perf_counter()
    ident = api.check(http.post(api.v("/containers/create"), json=body), 201).json()["Id"]  # type: ignore[attr-defined]
    try:
        api.check(http.post(api.v(f"/containers/{ident}/start")), 204)  # type: ignore[attr-defined]
        api.check(http.post(api.v(f"/containers/{ident}/wait")), 200)  # type: ignore[attr-defined]
        api.check(http.delete(api.v(f"/containers/{ident}")), 204)  # type: ignore[attr-defined]
    except Exception:
        http.delete(api.v(f"/containers/{ident}?force=1"))  # type: ignore[attr-defined]
        raise
    return (time.perf_counter() - t0) * 1000


def once(http: object, net: str) -> float:
    body = {"Image": "busybox", "Cmd": ["sleep", "300"], "Labels": {LABEL: "1"},
            "HostConfig": {"NetworkMode": net}}
    ident = api.check(http.post(api.v("/containers/create"), json=body), 201).json()["Id"]  # type: ignore[attr-defined]
    try:
        t0 = time.perf_counter()
        api.check(http.post(api.v(f"/containers/{ident}/start")), 204)  # type: ignore[attr-defined]
        return (time.perf_counter() - t0) * 1000
    finally:
        http.delete(api.v(f"/containers/{ident}?force=1&v=1"))  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", required=True)
    ap.add_argument("--docker", default="unix:///var/run/docker-ref.sock")
    ap.add_argument("--network", default="bridge")
    ap.add_argument("--runs", type=int, default=31)
    ap.add_argument("--what", choices=("start", "lifecycle"), default="start")
    ap.add_argument("--also", action="append", default=[], help="NAME=HOST, another Skiff measured alongside")
    a = ap.parse_args()
    clients = {"skiff": api.client(a.skiff), "docker": api.client(a.docker)}
    for extra in a.also:
        name, _, host = extra.partition("=")
        clients[name] = api.client(host)
    samples: dict[str, list[float]] = {k: [] for k in clients}
    measure = once if a.what == "start" else lifecycle
    for http in clients.values():  # warm up: images, bridges, caches
        measure(http, a.network)
    names = list(clients)
    for i in range(a.runs):
        for name in names[i % len(names):] + names[: i % len(names)]:  # rotate who goes first
            samples[name].append(measure(clients[name], a.network))
    med = {k: statistics.median(v) for k, v in samples.items()}
    out = {"what": a.what, "ms_median": med, "ratio_to_docker": {k: med[k] / med["docker"] for k in med},
           "ms_p25_p75": {k: statistics.quantiles(v, n=4)[::2] for k, v in samples.items()}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
