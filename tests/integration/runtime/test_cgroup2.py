"""skiff-runc on a cgroup2 mount as the only hierarchy (``$SKIFF_RUNC_CGROUP2``), on the real kernel.

This host is hybrid: its controllers are bound to v1, so its cgroup2 mount offers none but hugetlb. What
is proven here is the v2 path of everything that needs no controller: the cgroup made under the unified
mount (and nothing under v1), controllers enabled down to it, the init placed in it, the container's own
cgroup2 mount and /proc/self/cgroup, pause/resume through cgroup.freeze (``state`` says paused), ``ps``,
``kill --all`` and the cgroup removed by delete. The knobs (memory.max, cpu.max, pids.max, io.weight) and
the stats/OOM readings are proven over a fake tree (tests/unit/runtime/test_runc_cgroup2.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from runc_bundle import write_config
from runc_support import Runtime, reap, wait_for

pytestmark = pytest.mark.root

UNIFIED = Path("/sys/fs/cgroup/unified")


@pytest.fixture
def v2(skiff: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    if not (UNIFIED / "cgroup.controllers").exists():
        pytest.skip("no cgroup2 mount at /sys/fs/cgroup/unified")
    monkeypatch.setenv("SKIFF_RUNC_CGROUP2", str(UNIFIED))
    root_control = (UNIFIED / "cgroup.subtree_control").read_text().split()
    parent = f"skiff-v2test-{uuid.uuid4().hex[:8]}"
    skiff.parent = parent  # type: ignore[attr-defined]
    try:
        yield skiff
    finally:
        for cid in list(skiff.created):
            skiff("delete", "--force", cid)
        base = UNIFIED / parent
        if base.exists():
            with contextlib.suppress(OSError):
                enabled = (base / "cgroup.subtree_control").read_text().split()
                if enabled:
                    (base / "cgroup.subtree_control").write_text(" ".join("-" + c for c in enabled))
            with contextlib.suppress(OSError):
                base.rmdir()
        now = (UNIFIED / "cgroup.subtree_control").read_text().split()
        added = [c for c in now if c not in root_control]
        if added:  # leave the host's root as it was
            with contextlib.suppress(OSError):
                (UNIFIED / "cgroup.subtree_control").write_text(" ".join("-" + c for c in added))


def _bundle(rt: Runtime, cid: str, args: list[str]) -> tuple[Path, str]:
    bundle = rt.bundle(cid, args)
    config = json.loads((bundle / "config.json").read_text())
    cgroup = f"/{rt.parent}/{cid}"  # type: ignore[attr-defined]
    config["linux"]["cgroupsPath"] = cgroup
    config["linux"]["resources"]["unified"] = {}
    write_config(bundle, config)
    rt.created[cid] = cgroup
    return bundle, cgroup


def test_container_lives_in_the_unified_hierarchy_only(v2: Runtime) -> None:
    script = "cat /proc/self/cgroup; grep ' /sys/fs/cgroup ' /proc/self/mountinfo | cut -d' ' -f5,9"
    bundle, cgroup = _bundle(v2, "v2run", ["sh", "-c", script])
    res = v2("run", "--bundle", str(bundle), "v2run")
    assert res.returncode == 0, res.stderr
    assert f"0::{cgroup}\n" in res.stdout
    assert "/sys/fs/cgroup cgroup2\n" in res.stdout
    for line in res.stdout.splitlines():
        if line[:1].isdigit() and not line.startswith("0::"):
            assert line.endswith(":/") or "/process_api/" in line, line  # not in any v1 cgroup of ours
    assert not (UNIFIED / cgroup.lstrip("/")).exists()  # run deleted it
    assert not any((Path("/sys/fs/cgroup") / h / cgroup.lstrip("/")).exists() for h in ("memory", "pids"))


def test_pause_resume_ps_kill_all_and_delete(v2: Runtime) -> None:
    bundle, cgroup = _bundle(v2, "v2life", ["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    assert v2("create", "--bundle", str(bundle), "v2life").returncode == 0
    pid = v2.state("v2life")["pid"]
    v2.pids.append(pid)
    leaf = UNIFIED / cgroup.lstrip("/")
    assert (leaf / "cgroup.procs").read_text().split() == [str(pid)]
    assert "hugetlb" in (leaf.parent / "cgroup.subtree_control").read_text()  # enabled down to the leaf
    assert v2("start", "v2life").returncode == 0
    wait_for(lambda: len((leaf / "cgroup.procs").read_text().split()) == 3, what="three processes")

    assert v2("pause", "v2life").returncode == 0
    assert v2.state("v2life")["status"] == "paused"
    assert (leaf / "cgroup.freeze").read_text().strip() == "1"
    assert "frozen 1" in (leaf / "cgroup.events").read_text()
    assert v2("resume", "v2life").returncode == 0
    assert v2.state("v2life")["status"] == "running"
    assert "frozen 0" in (leaf / "cgroup.events").read_text()

    ps = v2("ps", "--format", "json", "v2life")
    assert ps.returncode == 0 and len(json.loads(ps.stdout)) == 3 and pid in json.loads(ps.stdout)
    update = v2("update", "--pids-limit", "10", "v2life")  # no pids controller here: runc's error
    assert update.returncode == 1 and "pids.max" in update.stderr

    assert v2("kill", "--all", "v2life", "KILL").returncode == 0
    assert reap(pid) == 137
    wait_for(lambda: v2.state("v2life")["status"] == "stopped", what="stopped")
    assert v2("delete", "v2life").returncode == 0
    assert not leaf.exists()


def test_events_stats_reads_v2_files(v2: Runtime) -> None:
    bundle, _ = _bundle(v2, "v2stats", ["sleep", "1000"])
    assert v2("run", "--detach", "--bundle", str(bundle), "v2stats").returncode == 0
    v2.pids.append(v2.state("v2stats")["pid"])
    res = v2("events", "--stats", "v2stats")
    assert res.returncode == 0, res.stderr
    event = json.loads(res.stdout)
    assert event["type"] == "stats" and event["data"]["cpu"]["usage"]["total"] >= 0
    assert event["data"]["pids"]["limit"] == 0 and "memory" in event["data"]


def test_host_is_hybrid_without_the_hook() -> None:
    """Without the hook this hybrid host keeps its v1 hierarchies (unified is preferred only when alone)."""
    env = {k: v for k, v in os.environ.items() if k != "SKIFF_RUNC_CGROUP2"}
    out = subprocess.run(
        [sys.executable, "-c",
         "from skiff.runtime.cgroups.v1 import hierarchies; print(sorted(hierarchies()))"],
        env=env, capture_output=True, text=True, check=True).stdout
    assert "'memory'" in out and "'unified'" in out
