"""``docker stats``: dockerd's stats JSON from the container's cgroup v1 files (``/skiff/<id>``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from skiff.engine.backend import stats_v2, timefmt

CGROUP_ROOT = Path("/sys/fs/cgroup")
NS_PER_TICK = 1_000_000_000 // (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
BLKIO_FILES = {
    "io_service_bytes_recursive": "blkio.throttle.io_service_bytes_recursive",
    "io_serviced_recursive": "blkio.throttle.io_serviced_recursive",
    "io_queue_recursive": "blkio.io_queued_recursive",
    "io_service_time_recursive": "blkio.io_service_time_recursive",
    "io_wait_time_recursive": "blkio.io_wait_time_recursive",
    "io_merged_recursive": "blkio.io_merged_recursive",
    "io_time_recursive": "blkio.time_recursive",
    "sectors_recursive": "blkio.sectors_recursive",
}


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _int(path: Path) -> int:
    try:
        return int(_read(path).split()[0])
    except (IndexError, ValueError):
        return 0


def _kv(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _read(path).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def _blkio(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in _read(path).splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, _, minor = parts[0].partition(":")
            out.append({"major": int(major), "minor": int(minor), "op": parts[1], "value": int(parts[2])})
        elif len(parts) == 2 and ":" in parts[0]:
            major, _, minor = parts[0].partition(":")
            out.append({"major": int(major), "minor": int(minor), "op": "", "value": int(parts[1])})
    return out


def system_cpu_usage(proc_stat: Path = Path("/proc/stat")) -> int:
    for line in _read(proc_stat).splitlines():
        if line.startswith("cpu "):
            return sum(int(x) for x in line.split()[1:8]) * NS_PER_TICK
    return 0


def host_memory(meminfo: Path = Path("/proc/meminfo")) -> int:
    for line in _read(meminfo).splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def empty_cpu() -> dict[str, Any]:
    return {
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }


def sample(cgroups_path: str, root: Path = CGROUP_ROOT) -> dict[str, Any]:
    """One reading: ``read`` time, cpu, memory, pids and blkio (v1 hierarchies; a unified-only host: v2)."""
    if stats_v2.unified_only(root):
        return stats_v2.sample(cgroups_path, root, system_cpu_usage(), host_memory())
    rel = cgroups_path.lstrip("/")
    cpuacct, cpu, memory = root / "cpuacct" / rel, root / "cpu" / rel, root / "memory" / rel
    ticks = _kv(cpuacct / "cpuacct.stat")
    throttling = _kv(cpu / "cpu.stat")
    percpu = [int(x) for x in _read(cpuacct / "cpuacct.usage_percpu").split()]
    limit = _int(memory / "memory.limit_in_bytes")
    host = host_memory()
    return {
        "read": timefmt.now(),
        "pids_stats": {"current": _int(root / "pids" / rel / "pids.current")},
        "blkio_stats": {key: _blkio(root / "blkio" / rel / name) for key, name in BLKIO_FILES.items()},
        "cpu_stats": {
            "cpu_usage": {
                "total_usage": _int(cpuacct / "cpuacct.usage"),
                "percpu_usage": percpu,
                "usage_in_kernelmode": ticks.get("system", 0) * NS_PER_TICK,
                "usage_in_usermode": ticks.get("user", 0) * NS_PER_TICK,
            },
            "system_cpu_usage": system_cpu_usage(),
            "online_cpus": len(percpu) or (os.cpu_count() or 1),
            "throttling_data": {
                "periods": throttling.get("nr_periods", 0),
                "throttled_periods": throttling.get("nr_throttled", 0),
                "throttled_time": throttling.get("throttled_time", 0),
            },
        },
        "memory_stats": {
            "usage": _int(memory / "memory.usage_in_bytes"),
            "max_usage": _int(memory / "memory.max_usage_in_bytes"),
            "stats": _kv(memory / "memory.stat"),
            "limit": min(limit, host) if limit and host else (limit or host),
        },
    }


def render(current: dict[str, Any], previous: dict[str, Any] | None, name: str, cid: str) -> dict[str, Any]:
    """dockerd's StatsJSON: the current reading plus the previous one's cpu as ``precpu_stats``."""
    return {
        "read": current["read"],
        "preread": previous["read"] if previous else timefmt.ZERO_TIME,
        "pids_stats": current["pids_stats"],
        "blkio_stats": current["blkio_stats"],
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": current["cpu_stats"],
        "precpu_stats": previous["cpu_stats"] if previous else empty_cpu(),
        "memory_stats": current["memory_stats"],
        "name": name,
        "id": cid,
    }


def stopped(name: str, cid: str) -> dict[str, Any]:
    """What dockerd reports for a container that is not running."""
    blkio = {key: None for key in BLKIO_FILES}
    return {
        "read": timefmt.ZERO_TIME,
        "preread": timefmt.ZERO_TIME,
        "pids_stats": {},
        "blkio_stats": blkio,
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": empty_cpu(),
        "precpu_stats": empty_cpu(),
        "memory_stats": {},
        "name": name,
        "id": cid,
    }
