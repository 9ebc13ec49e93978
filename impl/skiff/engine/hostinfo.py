"""Facts about the host that ``/info`` and ``/version`` report (read from /proc, /sys and /etc)."""

from __future__ import annotations

import os
import platform
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def read(path: str | Path, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def os_release() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in read("/etc/os-release").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def mem_total() -> int:
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def cgroup_version() -> str:
    """"2" when /sys/fs/cgroup is a unified hierarchy, else "1" (dockerd's rule)."""
    try:
        st = os.statvfs(CGROUP_ROOT)
        del st
    except OSError:
        return "1"
    # CGROUP2_SUPER_MAGIC is visible only through statfs(2); cgroup.controllers exists only on v2 roots.
    return "2" if (CGROUP_ROOT / "cgroup.controllers").exists() else "1"


def cgroup_v1_features() -> dict[str, bool]:
    mem = CGROUP_ROOT / "memory"
    cpu = CGROUP_ROOT / "cpu"
    return {
        "MemoryLimit": (mem / "memory.limit_in_bytes").exists(),
        "SwapLimit": (mem / "memory.memsw.limit_in_bytes").exists(),
        "KernelMemory": (mem / "memory.kmem.limit_in_bytes").exists(),
        "KernelMemoryTCP": (mem / "memory.kmem.tcp.limit_in_bytes").exists(),
        "CpuCfsPeriod": (cpu / "cpu.cfs_period_us").exists(),
        "CpuCfsQuota": (cpu / "cpu.cfs_quota_us").exists(),
        "CPUShares": (cpu / "cpu.shares").exists(),
        "CPUSet": (CGROUP_ROOT / "cpuset").exists(),
        "PidsLimit": (CGROUP_ROOT / "pids").exists(),
        "OomKillDisable": (mem / "memory.oom_control").exists(),
    }


def cgroup_v2_features() -> dict[str, bool]:
    controllers = set(read(CGROUP_ROOT / "cgroup.controllers").split())
    return {
        "MemoryLimit": "memory" in controllers,
        "SwapLimit": "memory" in controllers,
        "KernelMemory": False,
        "KernelMemoryTCP": False,
        "CpuCfsPeriod": "cpu" in controllers,
        "CpuCfsQuota": "cpu" in controllers,
        "CPUShares": "cpu" in controllers,
        "CPUSet": "cpuset" in controllers,
        "PidsLimit": "pids" in controllers,
        "OomKillDisable": False,
    }


def cgroup_features() -> dict[str, bool]:
    return cgroup_v2_features() if cgroup_version() == "2" else cgroup_v1_features()


def sysctl_on(name: str) -> bool:
    return read(Path("/proc/sys") / name.replace(".", "/")) == "1"


def backing_filesystem(path: Path) -> str:
    """The filesystem type of the mount holding ``path`` (dockerd names ext4 ``extfs``)."""
    best, fstype = "", "unknown"
    target = str(path.resolve()) if path.exists() else "/"
    for line in read("/proc/self/mounts").splitlines():
        parts = line.split()
        if len(parts) >= 3 and (target == parts[1] or target.startswith(parts[1].rstrip("/") + "/")) \
                and len(parts[1]) >= len(best):
            best, fstype = parts[1], parts[2]
    return {"ext4": "extfs", "ext3": "extfs", "ext2": "extfs"}.get(fstype, fstype)


def engine_id(data_root: Path) -> str:
    """A stable daemon ID in dockerd's 12-group format, kept in ``<data-root>/engine-id``."""
    file = data_root / "engine-id"
    existing = read(file)
    if existing:
        return existing
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    new = ":".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(12))
    try:
        data_root.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp")
        tmp.write_text(new + "\n")
        tmp.replace(file)
    except OSError:
        pass
    return new


def rfc3339_nano(moment: datetime | None = None) -> str:
    """Go's ``time.RFC3339Nano`` (trailing zeros of the fraction dropped) in UTC."""
    moment = moment or datetime.now(UTC)
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{moment.microsecond:06d}000".rstrip("0")
    return f"{text}.{frac}Z" if frac else f"{text}Z"


def hostname() -> str:
    return socket.gethostname()


def kernel_version() -> str:
    return platform.release()


def go_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0
