"""One function per measure; each takes a Target and returns one sample (a float), cleaning up by ID."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from conformance.bench import pss
from conformance.harness import api, cli
from conformance.target import Target

LABEL = "skiff.bench=1"
DEADLINE_S = 60.0


@dataclass(frozen=True)
class Measure:
    key: str
    title: str
    unit: str
    run: Callable[[Target, httpx.Client], float]
    higher_is_better: bool = False


def _remove(http: httpx.Client, ident: str) -> None:
    http.delete(api.v(f"/containers/{ident}?force=1&v=1"))


def cli_run_true(target: Target, http: httpx.Client) -> float:
    start = time.monotonic()
    proc = subprocess.run(
        [cli.docker(), "-H", target.host, "run", "--rm", "--label", LABEL, "busybox", "true"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=DEADLINE_S,
    )
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode(errors="replace").strip())
    return elapsed


def api_lifecycle(target: Target, http: httpx.Client) -> float:
    start = time.monotonic()
    resp = api.check(
        http.post(
            api.v("/containers/create"),
            json={"Image": "busybox", "Cmd": ["true"], "Labels": {"skiff.bench": "1"}},
        ),
        201,
    )
    ident = resp.json()["Id"]
    try:
        api.check(http.post(api.v(f"/containers/{ident}/start")), 204)
        api.check(http.post(api.v(f"/containers/{ident}/wait")), 200)
        api.check(http.delete(api.v(f"/containers/{ident}")), 204)
    except Exception:
        _remove(http, ident)
        raise
    return time.monotonic() - start


def _rps(path: str, count: int) -> Callable[[Target, httpx.Client], float]:
    def run(target: Target, http: httpx.Client) -> float:
        start = time.monotonic()
        for _ in range(count):
            api.check(http.get(path), 200)
        return count / (time.monotonic() - start)

    return run


def idle_memory(target: Target, http: httpx.Client, count: int = 5) -> float:
    """MiB of PSS added per idle running container: the PSS change of the engine's processes (daemons, each
    container's shim and the container's own processes), divided by the number of containers."""
    before = pss.snapshot()
    made: list[str] = []
    try:
        for _ in range(count):
            resp = api.check(
                http.post(
                    api.v("/containers/create"),
                    json={"Image": "busybox", "Cmd": ["sleep", "1000"], "Labels": {"skiff.bench": "1"}},
                ),
                201,
            )
            made.append(resp.json()["Id"])
            api.check(http.post(api.v(f"/containers/{made[-1]}/start")), 204)
        end = time.monotonic() + DEADLINE_S
        for ident in made:
            while http.get(api.v(f"/containers/{ident}/json")).json()["State"]["Status"] != "running":
                if time.monotonic() > end:
                    raise RuntimeError(f"{ident[:12]} did not start")
                time.sleep(0.05)
        after = pss.snapshot()
        ppids = pss.parents()
        # The engine's processes, plus each container's shim (the parent of its init) and everything under it.
        shims = {ppids.get(http.get(api.v(f"/containers/{i}/json")).json()["State"]["Pid"], -1) for i in made}
        measured = pss.engine_pids(target.name, ppids, target.host) | pss.with_descendants(
            shims - {-1, 0, 1}, ppids
        )
    finally:
        for ident in made:
            _remove(http, ident)
    delta = sum(after.get(pid, 0) - before.get(pid, 0) for pid in measured)
    return delta / 1024 / count


MEASURES = [
    Measure("run", "`docker run --rm busybox true` wall time", "s", cli_run_true),
    Measure("lifecycle", "API create+start+wait+delete", "s", api_lifecycle),
    Measure("ping", "`GET /_ping` (200 requests, one connection)", "req/s", _rps("/_ping", 200), True),
    Measure(
        "ps",
        "`GET /containers/json` (100 requests, one connection)",
        "req/s",
        _rps(api.v("/containers/json"), 100),
        True,
    ),
    Measure("memory", "extra PSS per idle `sleep 1000` container (N=5)", "MiB", idle_memory),
]

from conformance.bench import interactive  # noqa: E402 - issue 3's rows; it is handed Measure, no cycle

MEASURES += interactive.measures(Measure)
