"""The shim's ``events`` (OOM kills of the init's memory cgroup, then its exit) and ``update``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from shim_support import Container, until
from skiff import errdefs

pytestmark = pytest.mark.root

Make = Callable[..., Container]
MEMORY = Path("/sys/fs/cgroup/memory")


def _limit(ctr: Container, memory: int) -> None:
    config = json.loads((ctr.bundle / "config.json").read_text())
    config["linux"]["resources"]["memory"] = {"limit": memory, "swap": memory}
    (ctr.bundle / "config.json").write_text(json.dumps(config))


def test_oom_kill_is_an_event_before_the_exit(containers: Make) -> None:
    if not MEMORY.is_dir():
        pytest.skip("no v1 memory controller")
    ctr = containers(["sh", "-c", "x=a; while :; do x=$x$x; done"])
    _limit(ctr, 16 << 20)
    ctr.start_shim()
    c = ctr.client()
    c.create()
    waiter = ctr.client()
    c.start()
    first = waiter.events(0, timeout=120)
    assert [(e.seq, e.topic) for e in first.events] == [(1, "oom")]
    final = first if first.exited else waiter.events(1, timeout=120)
    assert final.exited and final.exit_status == 137
    assert [e.topic for e in final.events] in ([], ["oom"])
    again = waiter.events(0, timeout=5)  # the history stays, and it answers at once once exited
    assert [e.seq for e in again.events] == [1] and again.exited


def test_no_oom_event_for_a_plain_exit(containers: Make) -> None:
    ctr = containers(["sh", "-c", "exit 3"])
    _limit(ctr, 64 << 20)
    ctr.start_shim()
    c = ctr.client()
    c.create()
    c.start()
    res = ctr.client().events(0, timeout=120)
    assert res.exited and res.exit_status == 3 and res.events == []


def test_update_writes_the_cgroup(containers: Make) -> None:
    if not MEMORY.is_dir():
        pytest.skip("no v1 memory controller")
    ctr = containers(["sleep", "1000"])
    ctr.start_shim()
    c = ctr.client()
    c.create()
    c.start()
    c.update({"memory": {"limit": 96 << 20, "swap": 192 << 20}, "pids": {"limit": 33},
              "cpu": {"shares": 512}})
    base = f"skiff-shim-test/{ctr.id}"
    assert int((MEMORY / base / "memory.limit_in_bytes").read_text()) == 96 << 20
    assert (Path("/sys/fs/cgroup/pids") / base / "pids.max").read_text().strip() == "33"
    assert (Path("/sys/fs/cgroup/cpu") / base / "cpu.shares").read_text().strip() == "512"
    with pytest.raises(errdefs.InvalidArgument):
        c.update([])  # type: ignore[arg-type]
    c.kill(9)
    until(lambda: c.state().status == "stopped", what="the init to stop")
    with pytest.raises(errdefs.SkiffError):
        c.update({"pids": {"limit": 5}})
