"""Healthchecks on a real stack: many probes leave skiffd's fds, threads and children where they were, a
timed-out probe's process is killed, and probing stops with the container."""

from __future__ import annotations

import json
import os
import time

import pytest
from backend_support import Skiffd, child_count

pytestmark = pytest.mark.root


def _poll(predicate: object, timeout: float = 30.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _health(skiffd: Skiffd, name: str) -> dict[str, object]:
    out = skiffd.docker("inspect", "-f", "{{json .State.Health}}", name).stdout
    value = json.loads(out)
    return value if isinstance(value, dict) else {}


def _resources(pid: int) -> tuple[int, int, int]:
    """(open fds, threads, children) of a process."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    threads = len(os.listdir(f"/proc/{pid}/task"))
    children = child_count(pid)
    return fds, threads, children


def _probes(skiffd: Skiffd, name: str) -> int:
    """How many probes have run: the last log entry's start changes with each (the log keeps 5)."""
    log = _health(skiffd, name).get("Log") or []
    assert isinstance(log, list)
    return len(log)


def test_probes_do_not_leak_and_stop_with_the_container(skiffd: Skiffd) -> None:
    assert skiffd.process is not None
    pid = skiffd.process.pid
    name = "h3b-probes"
    skiffd.docker("run", "-d", "--network", "none", "--name", name, "--health-cmd", "true",
                  "--health-interval", "100ms", "busybox", "sleep", "300")
    try:
        _poll(lambda: _health(skiffd, name).get("Status") == "healthy")
        _poll(lambda: _probes(skiffd, name) == 5)
        before = _resources(pid)
        starts: set[str] = set()

        def enough() -> bool:
            log = _health(skiffd, name).get("Log") or []
            assert isinstance(log, list)
            starts.update(str(entry["Start"]) for entry in log)
            return len(starts) >= 40

        _poll(enough, 60)
        def settled() -> bool:  # a leak per probe would be 40 fds or threads; allow a probe in flight
            fds, threads, children = _resources(pid)
            return fds <= before[0] + 3 and threads <= before[1] + 3 and children <= before[2]

        _poll(settled, 10)

        t0 = time.time()
        skiffd.docker("stop", "-t", "0", name)
        stopped = _health(skiffd, name)
        assert stopped["Status"] == "unhealthy"
        time.sleep(1.0)  # ten probe intervals: an observation window, not a synchronisation
        assert _health(skiffd, name)["Log"] == stopped["Log"], "probes ran after the container stopped"
        events = skiffd.docker("events", "--since", f"{t0:.3f}", "--until", f"{time.time():.3f}",
                               "--filter", f"container={name}", "--filter", "event=exec_start",
                               "--format", "{{.Action}}").stdout.decode()
        assert events.count("exec_start") <= 1, events  # at most a probe already under way at the stop
    finally:
        skiffd.docker("rm", "-f", name, check=False)


def test_a_timed_out_probe_is_killed(skiffd: Skiffd) -> None:
    name = "h3b-timeout"
    skiffd.docker("run", "-d", "--network", "none", "--name", name, "--health-cmd", "sleep 77",
                  "--health-interval", "200ms", "--health-timeout", "300ms", "--health-retries", "1",
                  "busybox", "sleep", "300")
    try:
        _poll(lambda: _health(skiffd, name).get("Status") == "unhealthy")
        log = _health(skiffd, name)["Log"]
        assert isinstance(log, list)
        assert log[0]["ExitCode"] == -1 and log[0]["Output"] == "Health check exceeded timeout (300ms)"

        def sleepers() -> int:
            top = skiffd.docker("top", name, "-o", "pid,args").stdout.decode()
            return top.count("sleep 77")

        # each probe is killed at its timeout: at most the one under way (and one being reaped) is alive,
        # where five unkilled probes of 77 s would all still be there
        _poll(lambda: _probes(skiffd, name) >= 5)
        assert sleepers() <= 2
    finally:
        skiffd.docker("rm", "-f", name, check=False)
