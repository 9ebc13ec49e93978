"""cgroup v2 in skiff-runc over a fake cgroupfs tree: detection, controllers, resources, freeze, stats.

What a unified-only kernel does is taken from the kernel's cgroup-v2 documentation and runc's fs2
manager; the live half (placement, freeze, delete on a real cgroup2 mount) is in
tests/integration/runtime/test_cgroup2.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from skiff.runtime.cgroups import resources, v1, v2
from skiff.runtime.errors import ContainerError

pytestmark = pytest.mark.unit

KNOBS = ("memory.max", "memory.swap.max", "memory.low", "cpu.max", "cpu.weight", "cpuset.cpus", "cpuset.mems",
         "pids.max", "io.weight", "cgroup.freeze", "cgroup.events", "memory.events", "memory.current",
         "memory.stat", "cpu.stat", "pids.current")


def fake_cgroup(path: Path, **values: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for knob in KNOBS:
        (path / knob).write_text(values.get(knob.replace(".", "_"), ""))
    return path


def test_unified_only_mounts_file(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n")
    assert v1.hierarchies(str(mounts)) == {"unified": "/sys/fs/cgroup"}
    hybrid = tmp_path / "hybrid"
    hybrid.write_text("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
                      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n")
    assert v1.hierarchies(str(hybrid)) == {"memory": "/sys/fs/cgroup/memory",
                                           "unified": "/sys/fs/cgroup/unified"}


def test_forced_unified_hierarchy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(v2.FORCE_ENV, "/sys/fs/cgroup/unified")
    assert v1.hierarchies() == {"unified": "/sys/fs/cgroup/unified"}
    cg = v1.V1Cgroups.for_path("/skiff/abc")
    assert cg.paths == {"unified": "/sys/fs/cgroup/unified/skiff/abc"}


def test_enable_controllers_from_the_mount_down(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    for d in (root, root / "skiff", root / "skiff" / "c1"):
        d.mkdir(parents=True, exist_ok=True)
        (d / "cgroup.subtree_control").write_text("")
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "skiff" / "cgroup.controllers").write_text("cpu memory pids\n")
    (root / "cgroup.subtree_control").write_text("cpu")  # already enabled ones are not written again
    v2.enable_controllers(str(root), str(root / "skiff" / "c1"))
    assert (root / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (root / "skiff" / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert (root / "skiff" / "c1" / "cgroup.subtree_control").read_text() == ""  # the leaf keeps its procs


def test_conversions_match_runc() -> None:
    assert v2.cpu_weight(1024) == 39 and v2.cpu_weight(2) == 1 and v2.cpu_weight(262144) == 10000
    assert v2.io_weight(10) == 1 and v2.io_weight(1000) == 10000 and v2.io_weight(500) == 4950
    assert v2.memory_swap_max(64 << 20, 128 << 20) == str(64 << 20)
    assert v2.memory_swap_max(64 << 20, -1) == "max"
    assert v2.memory_swap_max(64 << 20, None) is None
    with pytest.raises(ContainerError, match="should be greater than memory limit"):
        v2.memory_swap_max(64 << 20, 32 << 20)
    with pytest.raises(ContainerError, match="without memory limit"):
        v2.memory_swap_max(None, 32 << 20)


def test_resources_on_a_unified_only_host(tmp_path: Path) -> None:
    leaf = fake_cgroup(tmp_path / "c1", cpu_max="max 100000")
    res = {"memory": {"limit": 64 << 20, "swap": 96 << 20, "reservation": 32 << 20, "swappiness": 10},
           "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
           "pids": {"limit": 42}, "blockIO": {"weight": 300},
           "devices": [{"allow": False, "access": "rwm"}], "unified": {"memory.high": "50000000"}}
    resources.apply({"unified": str(leaf)}, res, devices=[])
    got = {k: (leaf / k).read_text() for k in ("memory.max", "memory.swap.max", "memory.low", "cpu.max",
                                                 "cpu.weight", "cpuset.cpus", "cpuset.mems", "pids.max",
                                                 "io.weight", "memory.high")}
    assert got == {"memory.max": str(64 << 20), "memory.swap.max": str(32 << 20), "memory.low": str(32 << 20),
                   "cpu.max": "50000 100000", "cpu.weight": "20", "cpuset.cpus": "0", "cpuset.mems": "0",
                   "pids.max": "42", "io.weight": "2930", "memory.high": "50000000"}


def test_update_keeps_the_other_half_of_cpu_max(tmp_path: Path) -> None:
    leaf = fake_cgroup(tmp_path / "c1", cpu_max="50000 100000")
    resources.apply({"unified": str(leaf)}, {"cpu": {"period": 200000}})
    assert (leaf / "cpu.max").read_text() == "50000 200000"
    resources.apply({"unified": str(leaf)}, {"memory": {"limit": -1}, "pids": {"limit": 0}})
    assert (leaf / "memory.max").read_text() == "max" and (leaf / "pids.max").read_text() == "max"


def test_freeze_waits_for_cgroup_events(tmp_path: Path) -> None:
    leaf = fake_cgroup(tmp_path / "c1", cgroup_events="populated 1\nfrozen 1\n")
    resources.freeze({"unified": str(leaf)}, True)
    assert (leaf / "cgroup.freeze").read_text() == "1"
    assert resources.frozen({"unified": str(leaf)})
    (leaf / "cgroup.events").write_text("populated 1\nfrozen 0\n")
    resources.freeze({"unified": str(leaf)}, False)
    assert not resources.frozen({"unified": str(leaf)})


def test_stats_and_oom_kills(tmp_path: Path) -> None:
    leaf = fake_cgroup(tmp_path / "c1", cpu_stat="usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
                       memory_current="4096", memory_max="max", memory_stat="anon 1024\nfile 2048\n",
                       pids_current="3", pids_max="42",
                       memory_events="low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")
    got = resources.stats({"unified": str(leaf)})
    assert got["cpu"]["usage"] == {"total": 1500000, "percpu": [], "kernel": 500000, "user": 1000000}
    assert got["memory"]["usage"]["usage"] == 4096 and got["memory"]["usage"]["limit"] == 0
    assert got["memory"]["cache"] == 2048 and got["memory"]["raw"]["anon"] == 1024
    assert got["pids"] == {"current": 3, "limit": 42}
    assert resources.oom_killed({"unified": str(leaf)}) == 1
