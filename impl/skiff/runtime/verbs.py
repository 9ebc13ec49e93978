"""The verbs beyond the OCI lifecycle that containerd's shim and Docker use: pause, resume, ps, update,
events --stats and features. Kept apart from ``container`` so the lifecycle verbs do not import them."""

from __future__ import annotations

import sys

from skiff.runtime import jsonfast, state
from skiff.runtime.cgroups import resources
from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from skiff.runtime.state import ContainerRecord


def _running(root: str, container_id: str) -> ContainerRecord:
    record = state.load(root, container_id)
    if state.status(root, record) == state.Status.STOPPED:
        raise ContainerError("container not running")
    if not record.cgroup_paths:
        raise ContainerError("container has no cgroup (no linux.cgroupsPath in its config)")
    return record


def pause(root: str, container_id: str) -> None:
    record = _running(root, container_id)
    status = state.status(root, record)
    if status not in (state.Status.RUNNING, state.Status.CREATED):
        raise ContainerError(f"container not running or created: {status}")
    resources.freeze(record.cgroup_paths, True)


def resume(root: str, container_id: str) -> None:
    record = _running(root, container_id)
    if state.status(root, record) != state.Status.PAUSED:
        raise ContainerError("container not paused")
    resources.freeze(record.cgroup_paths, False)


def pids(root: str, container_id: str) -> list[int]:
    record = state.load(root, container_id)
    if not record.cgroup_paths:
        return [record.pid] if state.init_alive(record) else []
    from skiff.runtime.cgroups.v1 import V1Cgroups

    return V1Cgroups(record.cgroup_paths).pids()


def ps(root: str, container_id: str, fmt: str, ps_args: list[str]) -> None:
    """``--format json``: the pids (what the shim's Pids call reads); table: host ``ps`` rows of them."""
    found = pids(root, container_id)
    if fmt == "json":
        sys.stdout.write(jsonfast.dumps(found, compact=True) + "\n")
        return
    import subprocess

    out = subprocess.run(["ps", *(ps_args or ["-ef"])], check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    if not lines:
        return
    header = lines[0].split()
    if "PID" not in header:
        raise ContainerError("couldn't find PID field in ps output")
    col = header.index("PID")
    wanted = set(found)
    sys.stdout.write(lines[0] + "\n")
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            sys.stdout.write(line + "\n")


# runc update's flags -> (OCI resources section, key)
UPDATE_FLAGS: dict[str, tuple[str, str]] = {
    "memory": ("memory", "limit"), "memory-swap": ("memory", "swap"),
    "memory-reservation": ("memory", "reservation"), "kernel-memory": ("memory", "kernel"),
    "cpu-shares": ("cpu", "shares"), "cpu-period": ("cpu", "period"), "cpu-quota": ("cpu", "quota"),
    "cpuset-cpus": ("cpu", "cpus"), "cpuset-mems": ("cpu", "mems"), "pids-limit": ("pids", "limit"),
    "blkio-weight": ("blockIO", "weight"),
}


def update(root: str, container_id: str, resources_file: str, flags: dict[str, str]) -> None:
    """``update [-r FILE|-] [--memory N ...] ID``: new limits on a running container's cgroup."""
    record = _running(root, container_id)
    res: dict[str, Any] = {}
    if resources_file:
        raw = sys.stdin.buffer.read() if resources_file == "-" else open(resources_file, "rb").read()  # noqa: SIM115
        try:
            res = jsonfast.loads(raw) or {}
        except ValueError as exc:
            raise ContainerError(f"unable to parse resources: {exc}") from None
        if not isinstance(res, dict):
            raise ContainerError("unable to parse resources: not a JSON object")
    for flag, value in flags.items():
        section, key = UPDATE_FLAGS[flag]
        res.setdefault(section, {})[key] = value if key in ("cpus", "mems") else _size(value)
    res.pop("devices", None)  # runc update never touches the device rules
    resources.apply(record.cgroup_paths, res)


def _size(value: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "b": 1}
    text = value.strip().lower()
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise ContainerError(f"invalid value {value!r}") from None


def events(root: str, container_id: str, stats_only: bool, interval: float) -> None:
    """``events --stats`` prints one stats event; otherwise a stats event every interval until the init
    exits, plus an ``oom`` event whenever the memory cgroup's OOM-kill count grows."""
    import time

    record = _running(root, container_id)

    def emit(kind: str, data: dict[str, Any] | None) -> None:
        event: dict[str, Any] = {"type": kind, "id": container_id}
        if data is not None:
            event["data"] = data
        sys.stdout.write(jsonfast.dumps(event, compact=True) + "\n")
        sys.stdout.flush()

    if stats_only:
        emit("stats", resources.stats(record.cgroup_paths))
        return
    ooms = resources.oom_killed(record.cgroup_paths)
    while state.init_alive(record):
        now = resources.oom_killed(record.cgroup_paths)
        if now > ooms:
            emit("oom", None)
            ooms = now
        emit("stats", resources.stats(record.cgroup_paths))
        time.sleep(interval)  # the reporting period the caller asked for


FEATURES = {
    "ociVersionMin": "1.0.0", "ociVersionMax": "1.0.2-dev",
    "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    "mountOptions": ["bind", "rbind", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
                     "private", "rprivate", "shared", "rshared", "slave", "rslave", "relatime",
                     "strictatime"],
    "linux": {
        "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "uts"],
        "capabilities": [],
        "cgroup": {"v1": True, "v2": False, "systemd": False, "systemdUser": False},
        "seccomp": {"enabled": True, "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                                                 "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_LOG"],
                    "operators": ["SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT",
                                  "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ"]},
        "apparmor": {"enabled": False}, "selinux": {"enabled": False},
    },
    "annotations": {"org.opencontainers.runc.version": "skiff-runc 0.1.0"},
}


def features() -> None:
    sys.stdout.write(jsonfast.dumps(FEATURES, indent=2) + "\n")

