"""OCI ``linux.resources`` -> cgroup v1 knobs, as runc's fs manager does (a unified-only host: ``v2``).

Used by ``create`` (before the init joins) and ``update`` (on a running container). Values are written in
the order the kernel accepts them: a period before its quota, memory+swap raised before memory when growing
and after it when shrinking. Knobs the kernel does not have (blkio.weight without CFQ/BFQ, swap accounting
off) are skipped for optional settings and an error for required ones, like runc.
"""

from __future__ import annotations

import os

from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def validate(resources: Mapping[str, Any]) -> None:
    """Reject what no kernel accepts (negative limits) before anything is created."""
    memory = resources.get("memory") or {}
    for key in ("limit", "reservation", "kernel", "kernelTCP"):
        value = memory.get(key)
        if value is not None and value < -1:
            raise ContainerError(f"invalid memory {key} {value}: must be -1 (unlimited) or positive")
    swap = memory.get("swap")
    if swap is not None and swap < -1:
        raise ContainerError(f"invalid memory swap {swap}: must be -1 (unlimited) or positive")
    cpu = resources.get("cpu") or {}
    for key in ("shares", "period"):
        value = cpu.get(key)
        if value is not None and value < 0:
            raise ContainerError(f"invalid cpu {key} {value}: must not be negative")


def apply(paths: Mapping[str, str], resources: Mapping[str, Any],
          devices: list[Mapping[str, Any]] | None = None) -> None:
    """Write ``resources`` into the cgroup directories ``paths`` (hierarchy name -> directory); with
    ``devices`` (``linux.devices``, at create) runc's default device rules are added."""
    validate(resources)
    if list(paths) == ["unified"]:  # a unified-only host
        from skiff.runtime.cgroups import v2

        v2.apply(paths["unified"], resources)
        return
    dirs: dict[str, str] = {}
    for name, path in paths.items():
        for ctrl in name.split(","):
            dirs.setdefault(ctrl, path)
    if "memory" in dirs:
        _memory(dirs["memory"], resources.get("memory") or {})
    if "cpu" in dirs:
        _cpu(dirs["cpu"], resources.get("cpu") or {})
    if "cpuset" in dirs:
        cpu = resources.get("cpu") or {}
        if cpu.get("cpus"):
            _write(dirs["cpuset"], "cpuset.cpus", str(cpu["cpus"]))
        if cpu.get("mems"):
            _write(dirs["cpuset"], "cpuset.mems", str(cpu["mems"]))
    if "pids" in dirs:
        limit = (resources.get("pids") or {}).get("limit")
        if limit is not None:
            _write(dirs["pids"], "pids.max", "max" if limit <= 0 else str(limit))
    if "blkio" in dirs:
        _blkio(dirs["blkio"], resources.get("blockIO") or {})
    if "devices" in dirs and resources.get("devices"):
        rules = device_rules(resources, devices) if devices is not None else resources["devices"]
        _devices(dirs["devices"], rules)
    if "net_cls" in dirs and (resources.get("network") or {}).get("classID") is not None:
        _write(dirs["net_cls"], "net_cls.classid", str(resources["network"]["classID"]))


def _memory(path: str, memory: Mapping[str, Any]) -> None:
    limit, swap = memory.get("limit"), memory.get("swap")
    has_swap = os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes"))
    if swap is not None and swap != 0 and not has_swap:
        swap = None  # no swap accounting on this kernel: dockerd warns and drops it too
    if limit is not None and swap is not None and swap != 0:
        current = _read_int(path, "memory.limit_in_bytes")
        if limit == -1 or (current is not None and limit > current):
            _write(path, "memory.memsw.limit_in_bytes", str(swap))
            _write(path, "memory.limit_in_bytes", str(limit))
        else:
            _write(path, "memory.limit_in_bytes", str(limit))
            _write(path, "memory.memsw.limit_in_bytes", str(swap))
    elif limit is not None and limit != 0:
        _write(path, "memory.limit_in_bytes", str(limit))
    if memory.get("reservation"):
        _write(path, "memory.soft_limit_in_bytes", str(memory["reservation"]))
    if memory.get("swappiness") is not None and 0 <= int(memory["swappiness"]) <= 100:
        _write(path, "memory.swappiness", str(memory["swappiness"]))
    if memory.get("disableOOMKiller"):
        _write(path, "memory.oom_control", "1")


def _cpu(path: str, cpu: Mapping[str, Any]) -> None:
    if cpu.get("shares"):
        _write(path, "cpu.shares", str(cpu["shares"]))
    if cpu.get("period"):
        _write(path, "cpu.cfs_period_us", str(cpu["period"]))
    if cpu.get("quota"):
        _write(path, "cpu.cfs_quota_us", str(cpu["quota"]))
    if cpu.get("realtimePeriod"):
        _write(path, "cpu.rt_period_us", str(cpu["realtimePeriod"]))
    if cpu.get("realtimeRuntime"):
        _write(path, "cpu.rt_runtime_us", str(cpu["realtimeRuntime"]))


def _blkio(path: str, blkio: Mapping[str, Any]) -> None:
    weight = blkio.get("weight")
    if weight:
        for knob in ("blkio.weight", "blkio.bfq.weight"):
            if os.path.exists(os.path.join(path, knob)):
                _write(path, knob, str(weight))
                break
    for key, knob in (("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
                      ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
                      ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
                      ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device")):
        for dev in blkio.get(key) or ():
            _write(path, knob, f"{dev['major']}:{dev['minor']} {dev['rate']}")


def device_rule(rule: Mapping[str, Any]) -> str:
    """``{"type": "c", "major": 1, "minor": 3, "access": "rwm"}`` -> ``c 1:3 rwm`` (missing = wildcard)."""
    kind = rule.get("type") or "a"
    major = "*" if rule.get("major") is None or rule["major"] < 0 else str(rule["major"])
    minor = "*" if rule.get("minor") is None or rule["minor"] < 0 else str(rule["minor"])
    access = rule.get("access") or "rwm"
    if kind not in ("a", "b", "c") or not set(access) <= set("rwm"):
        raise ContainerError(f"invalid device rule {dict(rule)!r}")
    return f"{kind} {major}:{minor} {access}"


# What runc 1.1 allows after the spec's own rules (libcontainer's AllowedDevices): mknod of anything, and
# the devices every container gets (null, random, full, tty, zero, urandom, pts, ptmx, tun).
ALLOWED_DEVICES: tuple[dict[str, Any], ...] = tuple(
    {"allow": True, "type": kind, "major": major, "minor": minor, "access": access}
    for kind, major, minor, access in (
        ("c", None, None, "m"), ("b", None, None, "m"), ("c", 1, 3, "rwm"), ("c", 1, 8, "rwm"),
        ("c", 1, 7, "rwm"), ("c", 5, 0, "rwm"), ("c", 1, 5, "rwm"), ("c", 1, 9, "rwm"),
        ("c", 136, None, "rwm"), ("c", 5, 2, "rwm"), ("c", 10, 200, "rwm"),
    )
)


def device_rules(resources: Mapping[str, Any], devices: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The cgroup rules for a container: the spec's, runc's always-allowed ones, then ``linux.devices``."""
    if not resources.get("devices"):
        return []
    extra = [{"allow": True, "type": d.get("type"), "major": d.get("major"), "minor": d.get("minor"),
              "access": "rwm"} for d in devices]
    return [*resources["devices"], *ALLOWED_DEVICES, *extra]


def _devices(path: str, rules: list[Mapping[str, Any]]) -> None:
    for allow, rule in emulate(rules):
        _write(path, "devices.allow" if allow else "devices.deny", rule)


def emulate(rules: list[Mapping[str, Any]]) -> list[tuple[bool, str]]:
    """The writes that leave the device cgroup as ``rules`` applied in order would, as runc's emulator does:
    the default ("a" allow or deny) first, then the exceptions merged per device and sorted by type,
    major, minor (wildcards first), so ``devices.list`` reads the same as under runc."""
    default_allow = True
    exceptions: dict[tuple[str, int, int], set[str]] = {}
    for rule in rules:
        text = device_rule(rule)  # validates
        kind, numbers, access = text.split()
        major, minor = (-1 if n == "*" else int(n) for n in numbers.split(":"))
        allow = bool(rule.get("allow"))
        if kind == "a" and major < 0 and minor < 0 and set(access) == set("rwm"):
            default_allow, exceptions = allow, {}
            continue
        key = (kind, major, minor)
        if allow != default_allow:
            exceptions.setdefault(key, set()).update(access)
        elif key in exceptions:
            exceptions[key] -= set(access)
            if not exceptions[key]:
                del exceptions[key]
    out = [(default_allow, "a *:* rwm")]
    for (kind, major, minor), allowed in sorted(exceptions.items()):
        numbers = f"{'*' if major < 0 else major}:{'*' if minor < 0 else minor}"
        out.append((not default_allow, f"{kind} {numbers} {''.join(a for a in 'rwm' if a in allowed)}"))
    return out


def _write(path: str, name: str, value: str) -> None:
    try:
        with open(os.path.join(path, name), "w") as f:
            f.write(value)
    except OSError as exc:
        target = os.path.join(path, name)
        raise ContainerError(f"failed to write {value!r} to {target}: {exc.strerror}") from None


def _read_int(path: str, name: str) -> int | None:
    try:
        with open(os.path.join(path, name)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def freeze(paths: Mapping[str, str], frozen: bool) -> None:
    """pause/resume through the v1 freezer (or cgroup.freeze on a v2 hierarchy); waits until settled."""
    import time

    target = "FROZEN" if frozen else "THAWED"
    for name, path in paths.items():
        if "freezer" in name.split(","):
            _write(path, "freezer.state", target)
            deadline = time.monotonic() + 10
            while _read(path, "freezer.state") != target:
                if time.monotonic() > deadline:
                    raise ContainerError(f"container did not become {target.lower()}")
                _write(path, "freezer.state", target)
                time.sleep(0.001)  # FREEZING -> FROZEN is asynchronous in the kernel
            return
    if list(paths) == ["unified"]:
        from skiff.runtime.cgroups import v2

        v2.freeze(paths["unified"], frozen)
        return
    raise ContainerError("cannot pause: the container has no freezer cgroup")


def frozen(paths: Mapping[str, str]) -> bool:
    for name, path in paths.items():
        if "freezer" in name.split(","):
            return _read(path, "freezer.state") == "FROZEN"
    if list(paths) == ["unified"]:
        return _read(paths["unified"], "cgroup.freeze") == "1"
    return False


def _read(path: str, name: str) -> str:
    try:
        with open(os.path.join(path, name)) as f:
            return f.read().strip()
    except OSError:
        return ""


def stats(paths: Mapping[str, str]) -> dict[str, Any]:
    """runc's ``events --stats`` data (the parts Docker reads): cpu, memory, pids."""
    if list(paths) == ["unified"]:
        from skiff.runtime.cgroups import v2

        return v2.stats(paths["unified"])
    dirs: dict[str, str] = {}
    for name, path in paths.items():
        for ctrl in name.split(","):
            dirs.setdefault(ctrl, path)
    out: dict[str, Any] = {}
    if "cpuacct" in dirs:
        total = _read_int(dirs["cpuacct"], "cpuacct.usage") or 0
        percpu = [int(v) for v in _read(dirs["cpuacct"], "cpuacct.usage_percpu").split()]
        stat = dict(line.split() for line in _read(dirs["cpuacct"], "cpuacct.stat").splitlines() if line)
        out["cpu"] = {"usage": {"total": total, "percpu": percpu, "kernel": int(stat.get("system", 0)),
                                "user": int(stat.get("user", 0))}, "throttling": {}}
    if "memory" in dirs:
        mem = dirs["memory"]
        lines = _read(mem, "memory.stat").splitlines()
        raw = {k: int(v) for k, v in (line.split() for line in lines if line)}
        out["memory"] = {
            "cache": raw.get("cache", 0),
            "usage": {"usage": _read_int(mem, "memory.usage_in_bytes") or 0,
                      "max": _read_int(mem, "memory.max_usage_in_bytes") or 0,
                      "limit": _read_int(mem, "memory.limit_in_bytes") or 0,
                      "failcnt": _read_int(mem, "memory.failcnt") or 0},
            "raw": raw,
        }
    if "pids" in dirs:
        limit = _read(dirs["pids"], "pids.max")
        out["pids"] = {"current": _read_int(dirs["pids"], "pids.current") or 0,
                       "limit": 0 if limit in ("max", "") else int(limit)}
    return out


def oom_killed(paths: Mapping[str, str]) -> int:
    """How many processes the kernel OOM-killed in the container's memory cgroup."""
    if list(paths) == ["unified"]:
        from skiff.runtime.cgroups import v2

        return v2.oom_kills(paths["unified"])
    for name, path in paths.items():
        if "memory" in name.split(","):
            for line in _read(path, "memory.oom_control").splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
    return 0
