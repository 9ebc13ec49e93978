"""cgroup v2 (a unified-only hierarchy): OCI ``linux.resources`` -> v2 knobs, freezing, stats, OOM kills.

A container's cgroup on such a host is one directory, recorded as ``{"unified": <dir>}``. Controllers only
show up in a cgroup once every ancestor enables them in ``cgroup.subtree_control``; ``enable_controllers``
does that from the mount down, as runc's fs2 manager. The v1 values of the spec convert as runc converts
them: ``memory.swap.max`` is the swap on top of the limit, ``cpu.weight`` maps shares 2..262144 onto
1..10000, ``io.weight`` maps blkio weight 10..1000 onto 1..10000. Not here: device rules (runc loads an
eBPF program; skiff-runc leaves devices to the capability set and the mknod'd nodes), swappiness and
``disableOOMKiller`` (no v2 knob; ignored, as runc).
"""

from __future__ import annotations

import os

from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

UNIFIED = "unified"
# The environment variable that makes skiff-runc treat one cgroup2 mount as the only hierarchy (a test hook
# for hybrid hosts, where the real v2-only layout cannot be had: point it at /sys/fs/cgroup/unified).
FORCE_ENV = "SKIFF_RUNC_CGROUP2"


def unified_only(paths: Mapping[str, str]) -> bool:
    return list(paths) == [UNIFIED]


def enable_controllers(mountpoint: str, path: str) -> None:
    """Enable in each ancestor of ``path`` (from the mount down) every controller its parent offers."""
    rel = os.path.relpath(path, mountpoint)
    if rel.startswith(".."):
        return
    current = mountpoint
    for part in [p for p in rel.split("/") if p and p != "."]:
        available = _read(current, "cgroup.controllers").split()
        enabled = set(_read(current, "cgroup.subtree_control").split())
        wanted = [c for c in available if c not in enabled]
        if wanted:
            try:
                _write(current, "cgroup.subtree_control", " ".join("+" + c for c in wanted))
            except ContainerError:
                for c in wanted:  # one at a time: a controller busy elsewhere must not block the others
                    try:  # noqa: SIM105 - contextlib costs start-up time
                        _write(current, "cgroup.subtree_control", "+" + c)
                    except ContainerError:
                        pass
        current = os.path.join(current, part)


def memory_swap_max(limit: int | None, swap: int | None) -> str | None:
    """The v2 ``memory.swap.max`` for OCI's memory+swap ``swap`` (runc's ConvertMemorySwapToCgroupV2Value)."""
    if swap is None or swap == 0:
        return None
    if swap == -1:
        return "max"
    if limit is None or limit in (0, -1):
        raise ContainerError("unable to set swap limit without memory limit")
    if swap < limit:
        raise ContainerError(f"memory+swap limit ({swap}) should be greater than memory limit ({limit})")
    return str(swap - limit)


def cpu_weight(shares: int) -> int:
    """cpu.shares (2..262144) -> cpu.weight (1..10000), runc's ConvertCPUSharesToCgroupV2Value."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def io_weight(weight: int) -> int:
    """blkio.weight (10..1000) -> io.weight (1..10000), runc's ConvertBlkIOToIOWeightValue."""
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def apply(path: str, resources: Mapping[str, Any]) -> None:
    memory = resources.get("memory") or {}
    limit, swap = memory.get("limit"), memory.get("swap")
    swap_max = memory_swap_max(limit, swap)
    if swap_max is not None and _has(path, "memory.swap.max"):
        _write(path, "memory.swap.max", swap_max)
    if limit is not None and limit != 0:
        _write(path, "memory.max", "max" if limit == -1 else str(limit))
    if memory.get("reservation"):
        _write(path, "memory.low", str(memory["reservation"]))
    cpu = resources.get("cpu") or {}
    if cpu.get("shares"):
        _write(path, "cpu.weight", str(cpu_weight(int(cpu["shares"]))))
    if cpu.get("quota") or cpu.get("period"):
        quota, period = cpu.get("quota") or 0, cpu.get("period") or 0
        current = _read(path, "cpu.max").split()
        if not period:
            period = int(current[1]) if len(current) == 2 else 100000
        if not quota and len(current) == 2:
            quota = -1 if current[0] == "max" else int(current[0])
        _write(path, "cpu.max", f"{'max' if quota <= 0 else quota} {period}")
    if cpu.get("cpus"):
        _write(path, "cpuset.cpus", str(cpu["cpus"]))
    if cpu.get("mems"):
        _write(path, "cpuset.mems", str(cpu["mems"]))
    pids = (resources.get("pids") or {}).get("limit")
    if pids is not None:
        _write(path, "pids.max", "max" if pids <= 0 else str(pids))
    weight = (resources.get("blockIO") or {}).get("weight")
    if weight:
        knob = "io.bfq.weight" if _has(path, "io.bfq.weight") else "io.weight"
        value = weight if knob == "io.bfq.weight" else io_weight(int(weight))
        if _has(path, knob):
            _write(path, knob, str(value))
    for key, value in (resources.get("unified") or {}).items():
        _write(path, key, str(value))


def freeze(path: str, frozen: bool) -> None:
    """``cgroup.freeze``, then wait for ``cgroup.events`` to say the cgroup has settled."""
    import time

    want = "1" if frozen else "0"
    _write(path, "cgroup.freeze", want)
    deadline = time.monotonic() + 10
    while events(path).get("frozen", want) != want:
        if time.monotonic() > deadline:
            raise ContainerError(f"container did not become {'frozen' if frozen else 'thawed'}")
        time.sleep(0.001)  # freezing is asynchronous in the kernel


def is_frozen(path: str) -> bool:
    return _read(path, "cgroup.freeze") == "1"


def events(path: str, name: str = "cgroup.events") -> dict[str, str]:
    out = {}
    for line in _read(path, name).splitlines():
        key, _, value = line.partition(" ")
        out[key] = value.strip()
    return out


def oom_kills(path: str) -> int:
    value = events(path, "memory.events").get("oom_kill", "0")
    return int(value) if value.isdigit() else 0


def stats(path: str) -> dict[str, Any]:
    """runc's ``events --stats`` data from v2 files (what Docker reads: cpu, memory, pids)."""
    cpu = {k: int(v) for k, v in events(path, "cpu.stat").items() if v.isdigit()}
    raw = {k: int(v) for k, v in events(path, "memory.stat").items() if v.isdigit()}
    limit = _read(path, "memory.max")
    pids_max = _read(path, "pids.max")
    return {
        "cpu": {"usage": {"total": cpu.get("usage_usec", 0) * 1000, "percpu": [],
                          "kernel": cpu.get("system_usec", 0) * 1000, "user": cpu.get("user_usec", 0) * 1000},
                "throttling": {"periods": cpu.get("nr_periods", 0),
                               "throttledPeriods": cpu.get("nr_throttled", 0),
                               "throttledTime": cpu.get("throttled_usec", 0) * 1000}},
        "memory": {"cache": raw.get("file", 0),
                   "usage": {"usage": _int(_read(path, "memory.current")), "max": 0,
                             "limit": 0 if limit in ("max", "") else _int(limit),
                             "failcnt": 0},
                   "raw": raw},
        "pids": {"current": _int(_read(path, "pids.current")),
                 "limit": 0 if pids_max in ("max", "") else _int(pids_max)},
    }


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _has(path: str, name: str) -> bool:
    return os.path.exists(os.path.join(path, name))


def _read(path: str, name: str) -> str:
    try:
        with open(os.path.join(path, name)) as f:
            return f.read().strip()
    except OSError:
        return ""


def _write(path: str, name: str, value: str) -> None:
    try:
        with open(os.path.join(path, name), "w") as f:
            f.write(value)
    except OSError as exc:
        target = os.path.join(path, name)
        raise ContainerError(f"failed to write {value!r} to {target}: {exc.strerror}") from None
