"""Build OCI runtime configs the way Docker does: a default spec plus small ``with_*`` options.

The default mirrors what dockerd 20.10 hands to runc for ``docker run busybox``: the same mounts,
capabilities, device cgroup rules, masked and read-only paths and namespaces. Each option changes one
concern so that callers (skiffd's container backend) compose exactly what a container's config asks for.
The spec is plain JSON-shaped data because it crosses the gRPC boundary as JSON bytes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Spec = dict[str, Any]
SpecOpt = Callable[[Spec], None]

OCI_VERSION = "1.0.2"
DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
)

READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

DEFAULT_NAMESPACES: tuple[str, ...] = ("mount", "network", "uts", "pid", "ipc")

DEFAULT_SHM_SIZE = 64 * 1024 * 1024


def _default_mounts(shm_size: int = DEFAULT_SHM_SIZE) -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"],
        },
    ]


def _device_rule(allow: bool, kind: str | None, major: int | None, minor: int | None) -> dict[str, Any]:
    rule: dict[str, Any] = {"allow": allow}
    if kind is not None:
        rule["type"] = kind
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    rule["access"] = "rwm"
    return rule


def _default_device_rules() -> list[dict[str, Any]]:
    """Deny everything, then allow the character devices every container gets (null, zero, ...)."""
    rules = [_device_rule(False, None, None, None)]
    for major, minor in ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)):
        rules.append(_device_rule(True, "c", major, minor))
    rules.append(_device_rule(False, "c", 10, 229))  # /dev/net/tun
    return rules


def default_spec() -> Spec:
    """The spec every container starts from, before its own config is applied."""
    caps = list(DEFAULT_CAPABILITIES)
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": [],
            "env": [DEFAULT_PATH_ENV],
            "cwd": "/",
            "capabilities": {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)},
            "oomScoreAdj": 0,
        },
        "root": {"path": "rootfs"},
        "hostname": "",
        "mounts": _default_mounts(),
        "linux": {
            "sysctl": {
                "net.ipv4.ip_unprivileged_port_start": "0",
                "net.ipv4.ping_group_range": "0 2147483647",
            },
            "resources": {"devices": _default_device_rules()},
            "cgroupsPath": "",
            "namespaces": [{"type": t} for t in DEFAULT_NAMESPACES],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def generate(*opts: SpecOpt) -> Spec:
    """A default spec with ``opts`` applied in order."""
    spec = default_spec()
    for opt in opts:
        opt(spec)
    return spec


def to_json(spec: Spec) -> bytes:
    return json.dumps(spec, indent=None, separators=(",", ":")).encode()


# ---------- process ----------
def with_process_args(args: Sequence[str]) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["process"]["args"] = list(args)

    return opt


INIT_BINARY = "docker-init"
IN_CONTAINER_INIT_PATH = "/sbin/docker-init"


def with_init(init_path: str) -> SpecOpt:
    """``--init``: Docker's init (tini) bind-mounted read-only at /sbin/docker-init becomes the process,
    running the container's args after ``--``; it reaps zombies and forwards signals to them. Apply it
    after ``with_process_args``."""

    def opt(spec: Spec) -> None:
        spec["process"]["args"] = [IN_CONTAINER_INIT_PATH, "--", *spec["process"]["args"]]
        spec["mounts"] = [m for m in spec["mounts"] if m["destination"] != IN_CONTAINER_INIT_PATH]
        spec["mounts"].append(
            {
                "destination": IN_CONTAINER_INIT_PATH,
                "type": "bind",
                "source": init_path,
                "options": ["bind", "ro"],
            }
        )

    return opt


def with_env(env: Iterable[str]) -> SpecOpt:
    """Set the environment; like Docker, a PATH is supplied when the config has none."""

    def opt(spec: Spec) -> None:
        values = list(env)
        if not any(e.startswith("PATH=") for e in values):
            values.insert(0, DEFAULT_PATH_ENV)
        spec["process"]["env"] = values

    return opt


def with_cwd(cwd: str) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["process"]["cwd"] = cwd or "/"

    return opt


def with_user(uid: int, gid: int, additional_gids: Sequence[int] = ()) -> SpecOpt:
    def opt(spec: Spec) -> None:
        user: dict[str, Any] = {"uid": uid, "gid": gid}
        if additional_gids:
            user["additionalGids"] = list(additional_gids)
        spec["process"]["user"] = user

    return opt


def with_terminal(terminal: bool) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["process"]["terminal"] = terminal

    return opt


def with_oom_score_adj(score: int) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["process"]["oomScoreAdj"] = score

    return opt


def with_capabilities(add: Iterable[str] = (), drop: Iterable[str] = ()) -> SpecOpt:
    """Docker's --cap-add/--cap-drop: names with or without ``CAP_``, case-insensitive, ``ALL`` allowed."""

    def norm(name: str) -> str:
        up = name.upper()
        return up if up == "ALL" or up.startswith("CAP_") else f"CAP_{up}"

    def opt(spec: Spec) -> None:
        caps = list(spec["process"]["capabilities"]["bounding"])
        drops = {norm(c) for c in drop}
        caps = [] if "ALL" in drops else [c for c in caps if c not in drops]
        for cap in (norm(c) for c in add):
            if cap == "ALL":
                continue
            if cap not in caps:
                caps.append(cap)
        spec["process"]["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}

    return opt


def with_no_new_privileges(enabled: bool = True) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["process"]["noNewPrivileges"] = enabled

    return opt


def with_rlimits(rlimits: Sequence[Mapping[str, Any]]) -> SpecOpt:
    """Docker Ulimits (``{"Name": "nofile", "Soft": n, "Hard": n}``) as OCI rlimits."""

    def opt(spec: Spec) -> None:
        spec["process"]["rlimits"] = [
            {"type": f"RLIMIT_{str(r['Name']).upper()}", "hard": int(r["Hard"]), "soft": int(r["Soft"])}
            for r in rlimits
        ]

    return opt


# ---------- root, hostname, mounts ----------
def with_root(path: str, readonly: bool = False) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["root"] = {"path": path, "readonly": True} if readonly else {"path": path}

    return opt


def with_readonly_rootfs(readonly: bool = True) -> SpecOpt:
    def opt(spec: Spec) -> None:
        if readonly:
            spec["root"]["readonly"] = True
        else:
            spec["root"].pop("readonly", None)

    return opt


def with_hostname(hostname: str) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["hostname"] = hostname

    return opt


def with_shm_size(size: int) -> SpecOpt:
    def opt(spec: Spec) -> None:
        for m in spec["mounts"]:
            if m["destination"] == "/dev/shm" and m["type"] == "tmpfs":
                m["options"] = [o for o in m["options"] if not o.startswith("size=")] + [f"size={size}"]

    return opt


def with_mounts(mounts: Iterable[Mapping[str, Any]]) -> SpecOpt:
    """Add mounts; a mount on a destination that already has one replaces it (as Docker's user mounts do)."""

    def opt(spec: Spec) -> None:
        for m in mounts:
            spec["mounts"] = [x for x in spec["mounts"] if x["destination"] != m["destination"]]
            spec["mounts"].append(dict(m))

    return opt


def bind_mount(
    source: str, destination: str, readonly: bool = False, propagation: str = "rprivate"
) -> dict[str, Any]:
    options = ["rbind", propagation]
    if readonly:
        options.append("ro")
    return {"destination": destination, "type": "bind", "source": source, "options": options}


# ---------- linux ----------
def with_cgroups_path(path: str) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["linux"]["cgroupsPath"] = path

    return opt


def with_namespaces(types: Iterable[str]) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["linux"]["namespaces"] = [{"type": t} for t in types]

    return opt


def with_namespace_path(kind: str, path: str) -> SpecOpt:
    """Join an existing namespace (``--net container:x`` and friends)."""

    def opt(spec: Spec) -> None:
        spaces = [n for n in spec["linux"]["namespaces"] if n["type"] != kind]
        spaces.append({"type": kind, "path": path})
        spec["linux"]["namespaces"] = spaces

    return opt


def without_namespace(kind: str) -> SpecOpt:
    """Share the host's namespace (``--pid host``, ``--network host``)."""

    def opt(spec: Spec) -> None:
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != kind]
        if kind == "network":
            for key in ("net.ipv4.ip_unprivileged_port_start", "net.ipv4.ping_group_range"):
                spec["linux"].get("sysctl", {}).pop(key, None)

    return opt


def with_sysctl(values: Mapping[str, str]) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["linux"].setdefault("sysctl", {}).update(values)

    return opt


def with_masked_paths(paths: Sequence[str]) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["linux"]["maskedPaths"] = list(paths)

    return opt


def with_readonly_paths(paths: Sequence[str]) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["linux"]["readonlyPaths"] = list(paths)

    return opt


def with_memory_limit(limit: int, swap: int = 0, reservation: int = 0) -> SpecOpt:
    def opt(spec: Spec) -> None:
        memory: dict[str, Any] = spec["linux"]["resources"].setdefault("memory", {})
        if limit:
            memory["limit"] = limit
        if swap:
            memory["swap"] = swap
        if reservation:
            memory["reservation"] = reservation

    return opt


def with_cpu_shares(shares: int) -> SpecOpt:
    def opt(spec: Spec) -> None:
        if shares:
            spec["linux"]["resources"].setdefault("cpu", {})["shares"] = shares

    return opt


def with_cpu_quota(quota: int, period: int) -> SpecOpt:
    def opt(spec: Spec) -> None:
        cpu = spec["linux"]["resources"].setdefault("cpu", {})
        if quota:
            cpu["quota"] = quota
        if period:
            cpu["period"] = period

    return opt


def with_pids_limit(limit: int) -> SpecOpt:
    def opt(spec: Spec) -> None:
        if limit:
            spec["linux"]["resources"]["pids"] = {"limit": limit}

    return opt


def with_privileged() -> SpecOpt:
    """``--privileged``: every capability, all devices, nothing masked or read-only."""

    def opt(spec: Spec) -> None:
        caps = sorted(set(DEFAULT_CAPABILITIES) | set(ALL_CAPABILITIES))
        spec["process"]["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
        spec["linux"]["resources"]["devices"] = [_device_rule(True, None, None, None)]
        spec["linux"]["maskedPaths"] = []
        spec["linux"]["readonlyPaths"] = []
        for m in spec["mounts"]:
            if m["destination"] == "/sys":
                m["options"] = [o for o in m["options"] if o != "ro"]

    return opt


def with_annotations(annotations: Mapping[str, str]) -> SpecOpt:
    def opt(spec: Spec) -> None:
        if annotations:
            spec.setdefault("annotations", {}).update(annotations)

    return opt


def with_seccomp(profile: Mapping[str, Any] | None) -> SpecOpt:
    """Attach an OCI seccomp section (None removes it: ``--security-opt seccomp=unconfined``)."""

    def opt(spec: Spec) -> None:
        if profile is None:
            spec["linux"].pop("seccomp", None)
        else:
            spec["linux"]["seccomp"] = copy.deepcopy(dict(profile))

    return opt


ALL_CAPABILITIES: tuple[str, ...] = (
    "CAP_AUDIT_CONTROL",
    "CAP_AUDIT_READ",
    "CAP_AUDIT_WRITE",
    "CAP_BLOCK_SUSPEND",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_KILL",
    "CAP_LEASE",
    "CAP_LINUX_IMMUTABLE",
    "CAP_MAC_ADMIN",
    "CAP_MAC_OVERRIDE",
    "CAP_MKNOD",
    "CAP_NET_ADMIN",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_RAW",
    "CAP_PERFMON",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYSLOG",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_CHROOT",
    "CAP_SYS_MODULE",
    "CAP_SYS_NICE",
    "CAP_SYS_PACCT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_WAKE_ALARM",
)
