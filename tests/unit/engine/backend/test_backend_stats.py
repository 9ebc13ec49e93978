"""docker stats readings from a (fake) cgroup v1 tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from skiff.engine.backend import stats

pytestmark = pytest.mark.unit


def write(root: Path, ctrl: str, name: str, text: str) -> None:
    d = root / ctrl / "skiff" / "abc"
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(text)


def test_sample_and_render(tmp_path: Path) -> None:
    write(tmp_path, "cpuacct", "cpuacct.usage", "300\n")
    write(tmp_path, "cpuacct", "cpuacct.usage_percpu", "100 200 \n")
    write(tmp_path, "cpuacct", "cpuacct.stat", "user 2\nsystem 1\n")
    write(tmp_path, "cpu", "cpu.stat", "nr_periods 4\nnr_throttled 1\nthrottled_time 9\n")
    write(tmp_path, "memory", "memory.usage_in_bytes", "4096\n")
    write(tmp_path, "memory", "memory.max_usage_in_bytes", "8192\n")
    write(tmp_path, "memory", "memory.limit_in_bytes", "1048576\n")
    write(tmp_path, "memory", "memory.stat", "cache 0\nrss 4096\n")
    write(tmp_path, "pids", "pids.current", "3\n")
    write(
        tmp_path,
        "blkio",
        "blkio.throttle.io_service_bytes_recursive",
        "8:0 Read 512\n8:0 Write 0\nTotal 512\n",
    )
    reading = stats.sample("/skiff/abc", root=tmp_path)
    cpu = reading["cpu_stats"]
    assert cpu["cpu_usage"]["total_usage"] == 300 and cpu["cpu_usage"]["percpu_usage"] == [100, 200]
    assert cpu["cpu_usage"]["usage_in_usermode"] == 2 * stats.NS_PER_TICK and cpu["online_cpus"] == 2
    assert cpu["throttling_data"] == {"periods": 4, "throttled_periods": 1, "throttled_time": 9}
    assert reading["memory_stats"] == {
        "usage": 4096,
        "max_usage": 8192,
        "stats": {"cache": 0, "rss": 4096},
        "limit": 1048576,
    }
    assert reading["pids_stats"] == {"current": 3}
    assert reading["blkio_stats"]["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 512},
        {"major": 8, "minor": 0, "op": "Write", "value": 0},
    ]
    assert reading["blkio_stats"]["sectors_recursive"] == []
    first = stats.render(reading, None, "/c", "abc")
    assert (
        first["preread"] == "0001-01-01T00:00:00Z" and first["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    )
    second = stats.render(reading, reading, "/c", "abc")
    assert second["precpu_stats"] == cpu and second["name"] == "/c" and second["id"] == "abc"


def test_stopped_container_reading() -> None:
    out = stats.stopped("/c", "abc")
    assert out["read"] == "0001-01-01T00:00:00Z" and out["memory_stats"] == {} and out["pids_stats"] == {}
    assert all(v is None for v in out["blkio_stats"].values())
