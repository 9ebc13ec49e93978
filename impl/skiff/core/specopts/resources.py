"""HostConfig -> the isolation and resource parts of the OCI spec, as dockerd 20.10 fills them.

One entry point, ``with_host_config``, applied last by the engine's spec builder: capabilities (Docker's
TweakCapabilities rules), seccomp (the default profile filtered by capabilities, architecture and kernel, or
``SecurityOpt`` ``seccomp=unconfined``/``seccomp=<profile JSON>``), ``no-new-privileges``, CPU (NanoCpus,
cpuset), memory (dockerd's default swap of twice the limit, swappiness, OOM killer), blkio weight, devices and
device cgroup rules, and supplementary groups (the user's groups from the image's /etc/group and GroupAdd).
Bad values raise ``errdefs.InvalidArgument`` with dockerd's message.
"""

from __future__ import annotations

import json
import os
import platform
import re
import stat
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.core import specgen

# Docker's default profile (moby's profiles/seccomp/default.json) as the project keeps it beside the repo;
# SKIFF_SECCOMP_PROFILE points elsewhere.
SECCOMP_DEFAULT = Path(__file__).resolve().parents[5] / "shared" / "specs" / "seccomp-default.json"
SECCOMP_DEFAULT_ENV = "SKIFF_SECCOMP_PROFILE"
# Go's GOARCH -> the libseccomp architectures of Docker's archMap
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
           "riscv64": "riscv64", "i686": "386"}
_SCMP_NATIVE = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "arm": "SCMP_ARCH_ARM",
                "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X", "riscv64": "SCMP_ARCH_RISCV64",
                "386": "SCMP_ARCH_X86"}
_DEVICE_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")


def with_host_config(config: Mapping[str, Any], hc: Mapping[str, Any],
                     rootfs_layers: Sequence[str] = ()) -> specgen.SpecOpt:
    """Everything below, in dockerd's order; ``rootfs_layers`` are the image's directories, top first."""

    def opt(spec: specgen.Spec) -> None:
        privileged = bool(hc.get("Privileged"))
        if not privileged:
            _capabilities(spec, hc.get("CapAdd") or (), hc.get("CapDrop") or ())
        _security_opts(spec, hc.get("SecurityOpt") or (), privileged)
        _cpu(spec, hc)
        _memory(spec, hc)
        _blkio(spec, hc)
        _devices(spec, hc.get("Devices") or (), hc.get("DeviceCgroupRules") or ())
        _groups(spec, str(config.get("User") or ""), hc.get("GroupAdd") or (), rootfs_layers)
        _cgroup_mount(spec, privileged)

    return opt


def _cgroup_mount(spec: specgen.Spec, privileged: bool) -> None:
    """Docker's /sys/fs/cgroup: the container's own cgroups, read-only unless privileged."""
    if any(m["destination"] == "/sys/fs/cgroup" for m in spec["mounts"]):
        return
    options = ["nosuid", "noexec", "nodev", "relatime"] + ([] if privileged else ["ro"])
    mounts = spec["mounts"]
    at = next((i + 1 for i, m in enumerate(mounts) if m["destination"] == "/sys"), len(mounts))
    spec["mounts"].insert(at, {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                               "options": options})  # right after /sys, where dockerd puts it


def validate_host_config(hc: Mapping[str, Any]) -> None:
    """What dockerd refuses at create (400) rather than at start: capabilities, security options, CPU,
    memory and blkio ranges, device cgroup rule syntax."""
    spec = specgen.default_spec()
    privileged = bool(hc.get("Privileged"))
    if not privileged:
        _capabilities(spec, hc.get("CapAdd") or (), hc.get("CapDrop") or ())
    _security_opts(spec, hc.get("SecurityOpt") or (), privileged)
    _cpu(spec, hc)
    _memory(spec, hc)
    _blkio(spec, hc)
    for rule in hc.get("DeviceCgroupRules") or ():
        parse_device_rule(rule)


# ---------- capabilities ----------
def normalize_cap(name: str) -> str:
    up = name.strip().upper()
    return up if up == "ALL" or up.startswith("CAP_") else f"CAP_{up}"


def tweak_capabilities(base: Sequence[str], add: Sequence[str], drop: Sequence[str]) -> list[str]:
    """Docker's rules: unknown names are an error; ``ALL`` in add means every capability, in drop none of
    the base set; an explicit add wins over a drop of the same capability."""
    known = set(specgen.ALL_CAPABILITIES)
    adds = [normalize_cap(c) for c in add]
    drops = [normalize_cap(c) for c in drop]
    for kind, names in (("CapAdd", adds), ("CapDrop", drops)):
        for cap in names:
            if cap != "ALL" and cap not in known:
                raise errdefs.InvalidArgument(f'invalid {kind}: unknown capability: "{cap}"')
    if "ALL" in adds:
        return [c for c in specgen.ALL_CAPABILITIES if c not in drops or c in adds]
    caps = [] if "ALL" in drops else [c for c in base if c not in drops]
    for cap in adds:
        if cap not in caps:
            caps.append(cap)
    return caps


def _capabilities(spec: specgen.Spec, add: Sequence[str], drop: Sequence[str]) -> None:
    caps = tweak_capabilities(specgen.DEFAULT_CAPABILITIES, add, drop)
    spec["process"]["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}


# ---------- security options and seccomp ----------
def parse_security_opts(opts: Sequence[str]) -> dict[str, str]:
    """``seccomp=...``, ``no-new-privileges[:|=true|false]``, ``apparmor=``, ``label=``; others invalid."""
    out: dict[str, str] = {}
    for raw in opts:
        if raw == "no-new-privileges":
            out["no-new-privileges"] = "true"
            continue
        key, sep, value = raw.partition("=")
        if not sep:
            key, sep, value = raw.partition(":")
        if not sep or key not in ("seccomp", "no-new-privileges", "apparmor", "label", "systempaths"):
            raise errdefs.InvalidArgument(f'Invalid --security-opt: "{raw}"')
        if key == "no-new-privileges" and value not in ("true", "false"):
            raise errdefs.InvalidArgument(f'Invalid --security-opt: "{raw}"')
        out[key] = value
    return out


def _security_opts(spec: specgen.Spec, opts: Sequence[str], privileged: bool) -> None:
    parsed = parse_security_opts(opts)
    if parsed.get("no-new-privileges") == "true":
        spec["process"]["noNewPrivileges"] = True
    if parsed.get("systempaths") == "unconfined":
        spec["linux"]["maskedPaths"] = []
        spec["linux"]["readonlyPaths"] = []
    seccomp = parsed.get("seccomp", "")
    if privileged or seccomp == "unconfined":
        spec["linux"].pop("seccomp", None)
        return
    if seccomp:
        try:
            profile = json.loads(seccomp)
        except ValueError as exc:
            raise errdefs.InvalidArgument(f"decoding seccomp profile failed: {exc}") from None
        if not isinstance(profile, dict):
            raise errdefs.InvalidArgument("decoding seccomp profile failed: not a JSON object")
    else:
        try:
            profile = default_seccomp_profile()
        except OSError:  # no profile on this machine: run unconfined, as dockerd built without seccomp
            return
    caps = spec["process"]["capabilities"]["bounding"]
    spec["linux"]["seccomp"] = seccomp_to_oci(profile, caps)


def default_seccomp_profile() -> dict[str, Any]:
    return json.loads(_default_profile_text())  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _default_profile_text() -> str:
    path = Path(os.environ.get(SECCOMP_DEFAULT_ENV) or SECCOMP_DEFAULT)
    return path.read_text()


def _kernel_at_least(minimum: str, release: str | None = None) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        nums = re.findall(r"\d+", text)[:2]
        return tuple(int(n) for n in nums)

    return parts(release or platform.release()) >= parts(minimum)


def seccomp_to_oci(profile: Mapping[str, Any], caps: Sequence[str], goarch: str | None = None,
                   kernel: str | None = None) -> dict[str, Any]:
    """A Docker seccomp profile (archMap, includes/excludes) -> the OCI ``linux.seccomp`` for these caps."""
    if "defaultAction" not in profile:
        raise errdefs.InvalidArgument("decoding seccomp profile failed: defaultAction is required")
    arch = goarch or _GOARCH.get(platform.machine(), platform.machine())
    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    arches: list[str] = list(profile.get("architectures") or [])
    native = _SCMP_NATIVE.get(arch)
    for arch_entry in profile.get("archMap") or ():
        if arch_entry.get("architecture") == native:
            arches = [arch_entry["architecture"], *arch_entry.get("subArchitectures", [])]
    if arches:
        out["architectures"] = arches
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])
    have = set(caps)
    syscalls: list[dict[str, Any]] = []
    for rule in profile.get("syscalls") or ():
        inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
        if inc.get("arches") and arch not in inc["arches"]:
            continue
        if inc.get("caps") and not set(inc["caps"]) <= have:
            continue
        if inc.get("minKernel") and not _kernel_at_least(inc["minKernel"], kernel):
            continue
        if exc.get("arches") and arch in exc["arches"]:
            continue
        if exc.get("caps") and set(exc["caps"]) & have:
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        entry: dict[str, Any] = {"names": names, "action": rule["action"]}
        if rule.get("errnoRet") is not None:
            entry["errnoRet"] = rule["errnoRet"]
        if rule.get("args"):
            entry["args"] = [dict(a) for a in rule["args"]]
        syscalls.append(entry)
    out["syscalls"] = syscalls
    return out


# ---------- cgroup resources ----------
def _cpu(spec: specgen.Spec, hc: Mapping[str, Any]) -> None:
    cpu: dict[str, Any] = spec["linux"]["resources"].setdefault("cpu", {})
    nano = int(hc.get("NanoCpus") or 0)
    if nano:
        if hc.get("CpuQuota") or hc.get("CpuPeriod"):
            raise errdefs.InvalidArgument(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set"
            )
        ncpu = os.cpu_count() or 1
        if nano < 0 or nano > ncpu * 1_000_000_000:
            raise errdefs.InvalidArgument(
                f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )
        cpu["period"] = 100_000
        cpu["quota"] = nano * 100_000 // 1_000_000_000
    if hc.get("CpusetCpus"):
        cpu["cpus"] = str(hc["CpusetCpus"])
    if hc.get("CpusetMems"):
        cpu["mems"] = str(hc["CpusetMems"])
    if int(hc.get("CpuShares") or 0) < 0:
        raise errdefs.InvalidArgument("invalid CPU shares: must not be negative")
    if not cpu:
        spec["linux"]["resources"].pop("cpu")


def _memory(spec: specgen.Spec, hc: Mapping[str, Any]) -> None:
    limit = int(hc.get("Memory") or 0)
    swap = int(hc.get("MemorySwap") or 0)
    if limit < 0 or int(hc.get("MemoryReservation") or 0) < 0:
        raise errdefs.InvalidArgument("invalid memory limit: must not be negative")
    if 0 < limit < 6 * 1024 * 1024:
        raise errdefs.InvalidArgument("Minimum memory limit allowed is 6MB")
    if limit and swap > 0 and swap < limit:
        raise errdefs.InvalidArgument(
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        )
    memory: dict[str, Any] = spec["linux"]["resources"].setdefault("memory", {})
    if limit and not swap:
        memory["swap"] = limit * 2  # dockerd's default: as much swap as memory
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and int(swappiness) >= 0:
        memory["swappiness"] = int(swappiness)
    if hc.get("OomKillDisable"):
        memory["disableOOMKiller"] = True
    if not memory:
        spec["linux"]["resources"].pop("memory")


def _blkio(spec: specgen.Spec, hc: Mapping[str, Any]) -> None:
    weight = int(hc.get("BlkioWeight") or 0)
    if weight and not 10 <= weight <= 1000:
        raise errdefs.InvalidArgument("Range of blkio weight is from 10 to 1000")
    if weight:
        spec["linux"]["resources"]["blockIO"] = {"weight": weight}


def parse_device_rule(rule: str) -> dict[str, Any]:
    """``c 1:3 rwm`` (``*`` wildcards) -> an OCI device cgroup rule."""
    m = _DEVICE_RULE.match(rule.strip())
    if m is None:
        raise errdefs.InvalidArgument(f"invalid device cgroup format '{rule}'")
    kind, major, minor, access = m.groups()
    out: dict[str, Any] = {"allow": True, "type": kind}
    if major != "*":
        out["major"] = int(major)
    if minor != "*":
        out["minor"] = int(minor)
    out["access"] = access
    return out


def _devices(spec: specgen.Spec, devices: Sequence[Mapping[str, Any]], rules: Sequence[str]) -> None:
    linux = spec["linux"]
    for dev in devices:
        host = str(dev.get("PathOnHost") or "")
        inside = str(dev.get("PathInContainer") or host)
        perms = str(dev.get("CgroupPermissions") or "rwm")
        try:
            st = os.stat(host)
        except OSError as exc:
            raise errdefs.InvalidArgument(
                f"error gathering device information while adding custom device \"{host}\": {exc.strerror}"
            ) from None
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise errdefs.InvalidArgument(f'error gathering device information while adding custom device '
                                          f'"{host}": not a device node')
        kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
        major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
        linux.setdefault("devices", []).append({
            "path": inside, "type": kind, "major": major, "minor": minor,
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
        })
        linux["resources"].setdefault("devices", []).append(
            {"allow": True, "type": kind, "major": major, "minor": minor, "access": perms}
        )
    for rule in rules:
        linux["resources"].setdefault("devices", []).append(parse_device_rule(rule))


# ---------- user and groups ----------
def _read_db(layers: Sequence[str], file: str) -> list[list[str]]:
    for layer in layers:
        try:
            text = Path(layer, file.lstrip("/")).read_text()
        except OSError:
            continue
        return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]
    return []


def supplementary_groups(user: str, gid: int, group_add: Sequence[str],
                         layers: Sequence[str]) -> list[int]:
    """The primary gid, the groups of /etc/group that list the user, then GroupAdd (names or numbers)."""
    groups = _read_db(layers, "/etc/group")
    name = user.partition(":")[0]
    if name.isdigit():
        passwd = _read_db(layers, "/etc/passwd")
        name = next((p[0] for p in passwd if len(p) > 2 and p[2] == name), "")
    out = [gid]
    for g in groups:
        if len(g) >= 4 and name and name in g[3].split(",") and g[2].isdigit() and int(g[2]) not in out:
            out.append(int(g[2]))
    for extra in group_add:
        if extra.isdigit():
            value = int(extra)
        else:
            found = next((g for g in groups if g and g[0] == extra and len(g) > 2 and g[2].isdigit()), None)
            if found is None:
                raise errdefs.InvalidArgument(
                    f"Unable to find group {extra}: no matching entries in group file"
                )
            value = int(found[2])
        if value not in out:
            out.append(value)
    return out


def _groups(spec: specgen.Spec, user: str, group_add: Sequence[str], layers: Sequence[str]) -> None:
    proc_user = spec["process"]["user"]
    gids = supplementary_groups(user, int(proc_user.get("gid", 0)), group_add, layers)
    proc_user["additionalGids"] = gids


CGROUP_ROOT = "/sys/fs/cgroup"


# ---------- live update ----------
def update_resources(hc: Mapping[str, Any]) -> dict[str, Any]:
    """The OCI ``linux.resources`` that a ContainerUpdate body asks for (zero means unchanged); core's
    Tasks.Update hands them to the shim's ``runtime update``, which writes the cgroups."""
    out: dict[str, Any] = {}
    memory = {k: int(hc[h]) for h, k in (("Memory", "limit"), ("MemorySwap", "swap"),
                                         ("MemoryReservation", "reservation")) if hc.get(h)}
    if memory:
        out["memory"] = memory
    cpu: dict[str, Any] = {}
    if hc.get("CpuShares"):
        cpu["shares"] = int(hc["CpuShares"])
    if hc.get("NanoCpus"):
        cpu["period"], cpu["quota"] = 100_000, int(hc["NanoCpus"]) * 100_000 // 1_000_000_000
    if hc.get("CpuPeriod"):
        cpu["period"] = int(hc["CpuPeriod"])
    if hc.get("CpuQuota"):
        cpu["quota"] = int(hc["CpuQuota"])
    if hc.get("CpusetCpus"):
        cpu["cpus"] = str(hc["CpusetCpus"])
    if hc.get("CpusetMems"):
        cpu["mems"] = str(hc["CpusetMems"])
    if cpu:
        out["cpu"] = cpu
    if hc.get("PidsLimit"):
        out["pids"] = {"limit": int(hc["PidsLimit"])}
    if hc.get("BlkioWeight"):
        out["blockIO"] = {"weight": int(hc["BlkioWeight"])}
    return out


def reap_cgroups(parent: str, keep: set[str], min_age_s: float = 60.0, root: str = CGROUP_ROOT) -> list[str]:
    """Remove the empty container cgroups under ``parent`` (``/skiff``) in every v1 hierarchy that belong to
    no live task: what a crash between a task's exit and its delete leaves. Only cgroups older than
    ``min_age_s`` go, so that one being filled by a concurrent create is never taken."""
    import time

    removed: list[str] = []
    now = time.time()
    try:
        if Path(root, "cgroup.controllers").exists():  # unified-only: the root is the one hierarchy
            hierarchies = [Path(root)]
        else:
            hierarchies = [p for p in Path(root).iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return removed
    for hierarchy in hierarchies:
        base = hierarchy / parent.lstrip("/")
        try:
            children = [c for c in base.iterdir() if c.is_dir()]
        except OSError:
            continue
        for child in children:
            if child.name in keep:
                continue
            try:
                procs = child / "cgroup.procs"
                if now - child.stat().st_mtime < min_age_s or (procs.exists() and procs.read_text().strip()):
                    continue
                child.rmdir()
            except OSError:
                continue  # busy, or someone else's
            removed.append(str(child))
    return removed
