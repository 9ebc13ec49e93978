"""docker stats and the crash reaper on a unified-only (cgroup v2) host, over a fake /sys/fs/cgroup."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from skiff.core.specopts import resources
from skiff.engine.backend import stats, stats_v2

pytestmark = pytest.mark.unit


def fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup"
    leaf = root / "skiff" / "c1"
    leaf.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu io memory pids\n")
    files = {
        "cpu.stat": "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\n"
                    "throttled_usec 30\n",
        "memory.current": "8192\n", "memory.max": "67108864\n", "memory.stat": "anon 4096\nfile 4096\n",
        "pids.current": "2\n", "pids.max": "max\n", "io.stat": "8:0 rbytes=512 wbytes=1024 rios=1 wios=2\n",
    }
    for name, text in files.items():
        (leaf / name).write_text(text)
    return root


def test_sample_reads_v2_files_in_dockerds_shape(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    got = stats.sample("/skiff/c1", root)
    usage = got["cpu_stats"]["cpu_usage"]
    assert usage == {"total_usage": 2_000_000, "usage_in_kernelmode": 500_000, "usage_in_usermode": 1_500_000}
    throttling = got["cpu_stats"]["throttling_data"]
    assert throttling == {"periods": 4, "throttled_periods": 1, "throttled_time": 30000}
    mem = got["memory_stats"]
    assert mem["usage"] == 8192 and mem["stats"] == {"anon": 4096, "file": 4096}
    assert mem["limit"] == min(64 << 20, stats.host_memory()) and "max_usage" not in mem
    assert got["pids_stats"] == {"current": 2}
    assert got["blkio_stats"]["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "read", "value": 512},
        {"major": 8, "minor": 0, "op": "write", "value": 1024}]
    assert got["blkio_stats"]["io_serviced_recursive"][1]["value"] == 2


def test_v1_root_is_not_unified(tmp_path: Path) -> None:
    assert not stats_v2.unified_only(tmp_path)
    assert stats_v2.unified_only(fake_root(tmp_path))


def test_reaper_on_a_unified_root(tmp_path: Path) -> None:
    root = fake_root(tmp_path)
    stale = root / "skiff" / "gone"
    stale.mkdir()
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(root / "skiff" / "c1", (old, old))
    removed = resources.reap_cgroups("/skiff", keep={"c1"}, root=str(root))
    assert removed == [str(stale)] and (root / "skiff" / "c1").exists()
