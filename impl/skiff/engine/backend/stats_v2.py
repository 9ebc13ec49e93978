"""``docker stats`` on a unified-only (cgroup v2) host: dockerd 20.10's stats JSON from the v2 files.

The shape dockerd gives on v2: cpu times from ``cpu.stat`` in nanoseconds and no ``percpu_usage``; memory
``usage`` from ``memory.current`` and ``stats`` as ``memory.stat`` says (``anon``, ``file``, ...), no
``max_usage``; pids with their limit; blkio ``io_service_bytes_recursive``/``io_serviced_recursive`` from
``io.stat`` with lower-case ``read``/``write`` ops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from skiff.engine.backend import timefmt


def unified_only(root: Path) -> bool:
    """/sys/fs/cgroup is itself a cgroup2 mount (it has cgroup.controllers only then)."""
    return (root / "cgroup.controllers").exists()


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _kv(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


def _io(path: Path) -> dict[str, list[dict[str, Any]]]:
    """``io.stat`` lines (``8:0 rbytes=.. wbytes=.. rios=.. wios=..``) -> dockerd's two blkio lists."""
    service_bytes: list[dict[str, Any]] = []
    serviced: list[dict[str, Any]] = []
    for line in _read(path).splitlines():
        dev, *pairs = line.split()
        major, _, minor = dev.partition(":")
        values = dict(p.split("=", 1) for p in pairs if "=" in p)
        for op, key, into in (("read", "rbytes", service_bytes), ("write", "wbytes", service_bytes),
                              ("read", "rios", serviced), ("write", "wios", serviced)):
            if values.get(key, "").isdigit():
                into.append({"major": int(major), "minor": int(minor), "op": op, "value": int(values[key])})
    return {"io_service_bytes_recursive": service_bytes, "io_serviced_recursive": serviced}


def sample(cgroups_path: str, root: Path, system_cpu_usage: int, host_memory: int) -> dict[str, Any]:
    leaf = root / cgroups_path.lstrip("/")
    cpu = _kv(leaf / "cpu.stat")
    limit_text = _read(leaf / "memory.max")
    limit = int(limit_text) if limit_text.isdigit() else 0
    pids_max = _read(leaf / "pids.max")
    blkio: dict[str, Any] = {key: None for key in (
        "io_queue_recursive", "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
        "io_time_recursive", "sectors_recursive")}
    blkio.update(_io(leaf / "io.stat"))
    current = _read(leaf / "pids.current")
    return {
        "read": timefmt.now(),
        "pids_stats": {"current": int(current) if current.isdigit() else 0,
                       **({"limit": int(pids_max)} if pids_max.isdigit() else {})},
        "blkio_stats": blkio,
        "cpu_stats": {
            "cpu_usage": {
                "total_usage": cpu.get("usage_usec", 0) * 1000,
                "usage_in_kernelmode": cpu.get("system_usec", 0) * 1000,
                "usage_in_usermode": cpu.get("user_usec", 0) * 1000,
            },
            "system_cpu_usage": system_cpu_usage,
            "online_cpus": os.cpu_count() or 1,
            "throttling_data": {
                "periods": cpu.get("nr_periods", 0),
                "throttled_periods": cpu.get("nr_throttled", 0),
                "throttled_time": cpu.get("throttled_usec", 0) * 1000,
            },
        },
        "memory_stats": {
            "usage": int(_read(leaf / "memory.current") or 0),
            "stats": _kv(leaf / "memory.stat"),
            "limit": min(limit, host_memory) if limit and host_memory else (limit or host_memory),
        },
    }
