"""The shim's OOM watcher: finding the init's memory cgroup (v1 or unified-only) and reading oom_kill."""

from __future__ import annotations

from pathlib import Path

import pytest
from skiff.shim import oom

pytestmark = pytest.mark.unit

V1_MOUNTINFO = ("30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
                "31 25 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n")
V2_MOUNTINFO = "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec - cgroup2 cgroup2 rw,nsdelegate\n"


def _proc(tmp_path: Path, text: str) -> str:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "cgroup").write_text(text)
    return str(tmp_path)


def test_v1_memory_controller_wins_on_a_hybrid_host(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(V1_MOUNTINFO)
    proc = _proc(tmp_path, "4:memory:/skiff/c1\n0::/skiff/c1\n")
    assert oom.memory_cgroup(42, proc, str(mountinfo)) == ("/sys/fs/cgroup/memory/skiff/c1", 1)


def test_unified_only_needs_memory_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(V2_MOUNTINFO.replace("/sys/fs/cgroup", str(tmp_path / "cg")))
    proc = _proc(tmp_path, "0::/skiff/c1\n")
    leaf = tmp_path / "cg" / "skiff" / "c1"
    leaf.mkdir(parents=True)
    assert oom.memory_cgroup(42, proc, str(mountinfo)) == ("", 0)  # no memory controller there
    (leaf / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert oom.memory_cgroup(42, proc, str(mountinfo)) == (str(leaf), 2)


def test_oom_kills_counter() -> None:
    assert oom.oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") == 3
    assert oom.oom_kills("low 0\nmax 2\noom 1\noom_kill 1\n") == 1
    assert oom.oom_kills("oom_kill_disable 0\nunder_oom 0\n") is None
