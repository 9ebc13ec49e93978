"""cgroup v1 through cgroupfs: one directory per mounted hierarchy (plus the hybrid ``unified`` one).

Like runc's fs manager: an absolute ``cgroupsPath`` is taken from each hierarchy's root, a relative one
from the cgroup of the calling process. Only the leaf directory is created by us and removed by destroy.
"""

from __future__ import annotations

import errno
import os
import time

MOUNTS = "/proc/self/mounts"
_MOUNT_OPTIONS = frozenset({"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children",
                            "xattr", "nsdelegate", "noprefix", "cpuset_v2_mode"})


def hierarchies(mounts_file: str = MOUNTS) -> dict[str, str]:
    """Hierarchy name (``memory``, ``cpu,cpuacct``, ``name=systemd``, ``unified``) -> mountpoint.

    Only ``{"unified": mountpoint}`` on a unified-only (cgroup v2) host, or when ``$SKIFF_RUNC_CGROUP2``
    names a cgroup2 mount to treat as the only hierarchy (a test hook for hybrid hosts)."""
    forced = os.environ.get("SKIFF_RUNC_CGROUP2")
    if forced:
        return {"unified": forced}
    out: dict[str, str] = {}
    with open(mounts_file) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 4:
                continue
            if fields[2] == "cgroup":
                opts = [o for o in fields[3].split(",")
                        if o not in _MOUNT_OPTIONS and ("=" not in o or o.startswith("name="))]
                out.setdefault(",".join(opts), fields[1])
            elif fields[2] == "cgroup2":
                out.setdefault("unified", fields[1])
    return out


def own_cgroups(proc_cgroup: str = "/proc/self/cgroup") -> dict[str, str]:
    """Hierarchy name -> this process's cgroup path in it."""
    out: dict[str, str] = {}
    with open(proc_cgroup) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls or "unified"] = path
    return out


class V1Cgroups:
    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = dict(paths)

    @classmethod
    def for_path(cls, cgroups_path: str) -> V1Cgroups:
        mounts = hierarchies()
        own = own_cgroups() if not cgroups_path.startswith("/") else {}
        paths = {}
        for name, mountpoint in mounts.items():
            base = "/" if cgroups_path.startswith("/") else own.get(name, "/")
            rel = os.path.normpath(os.path.join(base, cgroups_path)).lstrip("/")
            paths[name] = os.path.join(mountpoint, rel)
        return cls(paths)

    @property
    def paths(self) -> dict[str, str]:
        return dict(self._paths)

    def create(self) -> None:
        for name, path in self._paths.items():
            os.makedirs(path, mode=0o755, exist_ok=True)
            if "cpuset" in name.split(","):
                _fill_cpuset(path)
        if list(self._paths) == ["unified"]:  # v2: the controllers must be enabled down to the leaf
            from skiff.runtime.cgroups import v2

            path = self._paths["unified"]
            mountpoint = hierarchies()["unified"]
            v2.enable_controllers(mountpoint, path)

    def add(self, pid: int) -> None:
        for path in self._paths.values():
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def set_limits(self, memory_limit: int | None, pids_limit: int | None) -> None:
        for name, path in self._paths.items():
            ctrls = name.split(",")
            if memory_limit is not None and "memory" in ctrls:
                _write(path, "memory.limit_in_bytes", str(memory_limit))
            if pids_limit is not None and "pids" in ctrls:
                _write(path, "pids.max", "max" if pids_limit <= 0 else str(pids_limit))

    def pids(self) -> list[int]:
        pref = sorted(self._paths, key=lambda n: (n not in ("pids", "freezer", "memory"), n))
        for name in pref:
            try:
                with open(os.path.join(self._paths[name], "cgroup.procs")) as f:
                    return [int(line) for line in f if line.strip()]
            except FileNotFoundError:
                continue
        return []

    def destroy(self, timeout: float = 5.0) -> None:
        """rmdir every leaf; EBUSY while exiting tasks leave, so retry until the deadline."""
        deadline = time.monotonic() + timeout
        pending = dict(self._paths)
        while pending:
            for name, path in list(pending.items()):
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise OSError(exc.errno, f"remove cgroup {path}: {exc.strerror}") from None
                    continue
                del pending[name]
            if pending:
                time.sleep(0.005)  # retry interval while the kernel detaches exiting tasks, not a sync point


def _write(path: str, name: str, value: str) -> None:
    with open(os.path.join(path, name), "w") as f:
        f.write(value)


def _fill_cpuset(path: str) -> None:
    """A new cpuset cgroup starts with empty cpus/mems and refuses tasks; copy them down from the parent."""
    parent = os.path.dirname(path)
    for knob in ("cpuset.cpus", "cpuset.mems"):
        try:
            with open(os.path.join(path, knob)) as f:
                if f.read().strip():
                    continue
        except FileNotFoundError:
            return
        with open(os.path.join(parent, knob)) as f:
            value = f.read().strip()
        if not value:
            _fill_cpuset(parent)
            with open(os.path.join(parent, knob)) as f:
                value = f.read().strip()
        _write(path, knob, value)
