"""The differential suite's bundles: Docker-shaped config.json files, each changed to exercise one spec part.

Every bundle runs the same probe (``PROBE``, a busybox sh script put into the rootfs); the test runs it
under skiff-runc and under the real runc and compares what the probe saw, the hooks' inputs and ``state``.
A case is ``(name, mutate)``: ``mutate(config, ctx)`` edits the config in place; ``ctx`` holds paths the
case may use (a host directory for binds and hook output, the hook scripts).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skiff.runtime.init import CAPABILITIES

DOCKER_SECCOMP = Path(__file__).with_name("data") / "docker-20.10-seccomp.json"
ALL_CAPS = CAPABILITIES

# What the process inside observes. Each section starts with "== name"; the test normalises run-specific
# values (paths, ids, mount ids, device numbers) before comparing.
PROBE = r"""#!/bin/sh
echo "== status"
grep -E '^(Uid|Gid|Groups|Cap...|NoNewPrivs|Seccomp|Seccomp_filters|NSpid|NStgid|Umask):' /proc/self/status
echo "== id"; id
echo "== hostname"; hostname; cat /proc/sys/kernel/domainname 2>&1
echo "== cwd"; pwd
echo "== env"; env | sort
echo "== limits"; cat /proc/self/limits
echo "== oom"; cat /proc/self/oom_score_adj
echo "== ns"; for n in cgroup ipc mnt net pid user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done
echo "== cgroup"; cat /proc/self/cgroup
echo "== mountinfo"; cat /proc/self/mountinfo
echo "== cgroupfs"
for f in memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes memory/memory.memsw.limit_in_bytes \
    memory/memory.swappiness memory/memory.oom_control memory/memory.kmem.limit_in_bytes \
    cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpu/cpu.rt_runtime_us \
    cpuset/cpuset.cpus cpuset/cpuset.mems pids/pids.max blkio/blkio.weight devices/devices.list \
    hugetlb/hugetlb.2MB.limit_in_bytes net_cls/net_cls.classid net_prio/net_prio.ifpriomap; do
  [ -e /sys/fs/cgroup/$f ] && echo "$f: $(cat /sys/fs/cgroup/$f | tr '\n' ' ')"
done
echo "== sysctl"
for k in net/ipv4/ip_forward kernel/shm_rmid_forced kernel/msgmax net/ipv4/ping_group_range; do
  echo "$k: $(cat /proc/sys/$k 2>&1)"
done
echo "== paths"
for p in /proc/kcore /proc/keys /proc/sysrq-trigger /sys/firmware /proc/acpi /proc/sys /masked-dir \
    /masked-file /ro-dir /data /data/file /dev/null /dev/zero /dev/fuse /dev/kmsg /dev/shm /dev/pts/ptmx \
    /dev/ptmx /dev/console /dev/fd /dev/stdin /dev/mqueue; do
  echo "$p: $(stat -c '%F %a %u:%g %t:%T' $p 2>&1)"
done
echo "== writable"
for p in / /tmp /proc/sys /data /ro-dir /dev /dev/shm /sys; do
  if touch "$p/.probe" 2>/dev/null; then rm -f "$p/.probe"; echo "$p: rw"; else echo "$p: ro"; fi
done
echo "== read"
for p in /proc/kcore /sys/firmware /masked-file /masked-dir; do  # /proc/keys: serials differ; see paths
  echo "$p: $(cat $p 2>&1 | head -c 40 | tr -d '\0' | head -1)"
done
echo "== syscalls"
mount -t tmpfs none /mnt 2>&1 && { echo mount-ok; umount /mnt; }
unshare -U true 2>&1 && echo unshare-ok
mkdir /tmp/probe-d 2>&1 && echo mkdir-ok && rmdir /tmp/probe-d
hostname probe-renamed 2>&1 && echo sethostname-ok
ip link set lo down 2>&1 && echo ip-link-ok
chown 1:1 /tmp 2>&1 && echo chown-ok
echo "== fds"; ls /proc/self/fd | sort -n | tr '\n' ' '; echo
echo "== end"
"""

# A hook writes "<phase> <cwd> <stdin>" (the OCI state) to <dir>/<phase>; $1 is the phase, $2 the dir.
HOOK = '#!/bin/sh\n{ echo "$1"; pwd; cat; echo; echo "env=$(env | sort | tr \'\\n\' \' \')"; } > "$2/$1"\n'


@dataclass
class Context:
    host_dir: Path  # a host directory the case may bind into the container and hooks write into
    host_hook: Path  # the hook script on the host (the runtime's namespaces)
    container_hook: str  # the hook script's path inside the container (startContainer runs there)


Mutate = Callable[[dict[str, Any], Context], None]


def _caps(config: dict[str, Any], kinds: tuple[str, ...], add: list[str]) -> None:
    caps = config["process"]["capabilities"]
    for kind in kinds:
        caps[kind] = sorted(set(caps.get(kind, [])) | set(add))


def _drop_ns(config: dict[str, Any], *types: str) -> None:
    config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"] if n["type"] not in types]


def default(config: dict[str, Any], ctx: Context) -> None:
    """Docker 20.10's shape, unchanged."""


def ns_minimal(config: dict[str, Any], ctx: Context) -> None:
    """Only mount and pid namespaces: the host's network, uts and ipc are shared (no hostname)."""
    _drop_ns(config, "network", "uts", "ipc")
    config.pop("hostname", None)


def ns_cgroup(config: dict[str, Any], ctx: Context) -> None:
    config["linux"]["namespaces"].append({"type": "cgroup"})


def ns_no_pid(config: dict[str, Any], ctx: Context) -> None:
    """Docker's --pid host: the host pid namespace (NSpid has one level)."""
    _drop_ns(config, "pid")


def ns_user(config: dict[str, Any], ctx: Context) -> None:
    """A user namespace: container root is host uid/gid 100000 (the shape dockerd's userns-remap writes)."""
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def ns_user_nonroot(config: dict[str, Any], ctx: Context) -> None:
    """A user namespace with a non-root process user and two ranges."""
    ns_user(config, ctx)
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000},
                                      {"containerID": 1000, "hostID": 201000, "size": 1000}]
    config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1000]}


def ns_uts_domain(config: dict[str, Any], ctx: Context) -> None:
    config["hostname"] = "differential-host"
    config["domainname"] = "example.test"


def mounts_bind(config: dict[str, Any], ctx: Context) -> None:
    """A read-only rbind of a host directory, a tmpfs with size and mode, a read-write bind of a file."""
    (ctx.host_dir / "data").mkdir(exist_ok=True)
    (ctx.host_dir / "data" / "file").write_text("hello\n")
    (ctx.host_dir / "single").write_text("single\n")
    config["mounts"] += [
        {"destination": "/data", "type": "bind", "source": str(ctx.host_dir / "data"),
         "options": ["rbind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "size=1024k", "mode=1770"]},
        {"destination": "/etc/single", "type": "bind", "source": str(ctx.host_dir / "single"),
         "options": ["bind", "rw"]},
    ]


def mounts_propagation_private(config: dict[str, Any], ctx: Context) -> None:
    config["linux"]["rootfsPropagation"] = "private"
    _bind_data(config, ctx, ["rbind", "rprivate"])


def mounts_propagation_shared(config: dict[str, Any], ctx: Context) -> None:
    """rootfsPropagation shared with an rshared bind (Docker's --mount bind-propagation=rshared)."""
    config["linux"]["rootfsPropagation"] = "shared"
    _bind_data(config, ctx, ["rbind", "rshared"])


def mounts_propagation_slave(config: dict[str, Any], ctx: Context) -> None:
    config["linux"]["rootfsPropagation"] = "rslave"
    _bind_data(config, ctx, ["rbind", "rslave", "ro"])


def _bind_data(config: dict[str, Any], ctx: Context, options: list[str]) -> None:
    (ctx.host_dir / "data").mkdir(exist_ok=True)
    (ctx.host_dir / "data" / "file").write_text("hello\n")
    config["mounts"].append({"destination": "/data", "type": "bind", "source": str(ctx.host_dir / "data"),
                             "options": options})


def caps_added(config: dict[str, Any], ctx: Context) -> None:
    """--cap-add NET_ADMIN --cap-add SYS_ADMIN: bounding, effective, permitted."""
    _caps(config, ("bounding", "effective", "permitted"), ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])


def caps_none(config: dict[str, Any], ctx: Context) -> None:
    """--cap-drop ALL."""
    config["process"]["capabilities"] = {k: [] for k in ("bounding", "effective", "permitted")}


def caps_ambient_user(config: dict[str, Any], ctx: Context) -> None:
    """A non-root user keeping NET_BIND_SERVICE through inheritable + ambient."""
    config["process"]["user"] = {"uid": 1000, "gid": 1000}
    _caps(config, ("bounding", "effective", "permitted", "inheritable", "ambient"), ["CAP_NET_BIND_SERVICE"])


def caps_privileged(config: dict[str, Any], ctx: Context) -> None:
    """--privileged: every capability, no masked or read-only paths, rw sysfs and cgroupfs."""
    config["process"]["capabilities"] = {k: _own_bounding() for k in ("bounding", "effective", "permitted")}
    config["linux"]["maskedPaths"] = []
    config["linux"]["readonlyPaths"] = []
    for m in config["mounts"]:
        if m["destination"] in ("/sys", "/sys/fs/cgroup"):
            m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
    config["linux"]["resources"]["devices"] = [{"allow": True, "access": "rwm"}]


def caps_unknown_to_kernel(config: dict[str, Any], ctx: Context) -> None:
    """Every capability skiff-runc knows, some outside the caller's bounding set: create fails as runc's."""
    _caps(config, ("bounding", "effective", "permitted"), list(ALL_CAPS))


def _own_bounding() -> list[str]:
    """What dockerd gives --privileged: every capability in its own bounding set."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return [name for i, name in enumerate(ALL_CAPS) if mask & (1 << i)]
    return []


def seccomp_docker(config: dict[str, Any], ctx: Context) -> None:
    config["linux"]["seccomp"] = json.loads(DOCKER_SECCOMP.read_text())


def seccomp_docker_nnp(config: dict[str, Any], ctx: Context) -> None:
    """--security-opt no-new-privileges with the default profile: the filter loads just before execve."""
    config["linux"]["seccomp"] = json.loads(DOCKER_SECCOMP.read_text())
    config["process"]["noNewPrivileges"] = True


def seccomp_custom(config: dict[str, Any], ctx: Context) -> None:
    """Default allow; mkdir EACCES; sethostname ENOSYS; chown only for uid 1 (an argument condition)."""
    config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["chown", "fchownat", "lchown"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchownat"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 2, "value": 1, "op": "SCMP_CMP_EQ"}]},
        ],
    }


def seccomp_default_errno(config: dict[str, Any], ctx: Context) -> None:
    """Default ERRNO (EPERM) with an allow list big enough for sh: unshare/mount are refused."""
    profile = json.loads(DOCKER_SECCOMP.read_text())
    profile["syscalls"] = [s for s in profile["syscalls"] if s["action"] == "SCMP_ACT_ALLOW" and
                           not s.get("includes") and not s.get("excludes")]
    config["linux"]["seccomp"] = profile


def no_new_privs(config: dict[str, Any], ctx: Context) -> None:
    config["process"]["noNewPrivileges"] = True


def rlimits(config: dict[str, Any], ctx: Context) -> None:
    config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
        {"type": "RLIMIT_NPROC", "soft": 200, "hard": 300},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551615},
        {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608},
        {"type": "RLIMIT_MEMLOCK", "soft": 65536, "hard": 65536},
    ]


def cgroup_memory(config: dict[str, Any], ctx: Context) -> None:
    """--memory 64m --memory-reservation 32m --memory-swap 128m --memory-swappiness 10 --oom-kill-disable."""
    config["linux"]["resources"]["memory"] = {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20,
                                              "swappiness": 10, "disableOOMKiller": True}


def cgroup_cpu(config: dict[str, Any], ctx: Context) -> None:
    """--cpu-shares 512 --cpus 0.5 --cpuset-cpus 0 --cpuset-mems 0."""
    config["linux"]["resources"]["cpu"] = {"shares": 512, "quota": 50000, "period": 100000,
                                           "cpus": "0", "mems": "0"}


def cgroup_pids_blkio(config: dict[str, Any], ctx: Context) -> None:
    config["linux"]["resources"]["pids"] = {"limit": 42}
    config["linux"]["resources"]["blockIO"] = {"weight": 300}


def cgroup_devices(config: dict[str, Any], ctx: Context) -> None:
    """--device /dev/fuse plus a device cgroup rule (c 1:9 rm), Docker's default allow list."""
    res = config["linux"]["resources"]
    res["devices"] = [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rm"},
        {"allow": True, "type": "c", "major": 136, "access": "rwm"},
    ]
    config["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                   "fileMode": 0o666, "uid": 0, "gid": 0}]


def masked_readonly(config: dict[str, Any], ctx: Context) -> None:
    """Extra masked paths (a directory and a file), an extra read-only path, and a read-only root."""
    config["linux"]["maskedPaths"] += ["/masked-dir", "/masked-file"]
    config["linux"]["readonlyPaths"] += ["/ro-dir"]
    config["root"]["readonly"] = True


def hooks_all(config: dict[str, Any], ctx: Context) -> None:
    """Five hook kinds (poststart has its own bundle); each records its cwd, its stdin (state) and env."""
    hooks: dict[str, list[dict[str, Any]]] = {}
    for phase in ("prestart", "createRuntime", "createContainer", "poststop"):
        hooks[phase] = [{"path": str(ctx.host_hook), "args": ["hook", phase, str(ctx.host_dir)],
                         "env": ["HOOK_PHASE=" + phase], "timeout": 10}]
    hooks["startContainer"] = [{"path": ctx.container_hook, "args": ["hook", "startContainer", "/hookout"],
                                "env": ["HOOK_PHASE=startContainer"]}]
    config["hooks"] = hooks
    config["mounts"].append({"destination": "/hookout", "type": "bind", "source": str(ctx.host_dir),
                             "options": ["rbind", "rw"]})
    config["annotations"] = {"org.skiff.test": "hooks"}


def hooks_poststart(config: dict[str, Any], ctx: Context) -> None:
    hook = {"path": str(ctx.host_hook), "args": ["hook", "poststart", str(ctx.host_dir)], "timeout": 10}
    config["hooks"] = {"poststart": [hook]}


def user_groups(config: dict[str, Any], ctx: Context) -> None:
    """--user 1000:1000 --group-add 10 --group-add 20, umask 027."""
    config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20, 1000], "umask": 0o27}


def user_root_groups(config: dict[str, Any], ctx: Context) -> None:
    config["process"]["user"] = {"uid": 0, "gid": 0, "additionalGids": [0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27]}


def env_cwd(config: dict[str, Any], ctx: Context) -> None:
    """Custom env (an empty value, '=' in a value, no PATH order change) and a cwd that exists."""
    config["process"]["env"] += ["EMPTY=", "WITH_EQ=a=b", "SPACES=one two", "HOME=/home/user"]
    config["process"]["cwd"] = "/home/user"


def cwd_missing(config: dict[str, Any], ctx: Context) -> None:
    """A cwd that does not exist in the image: runc creates it."""
    config["process"]["cwd"] = "/differential/made"


def annotations(config: dict[str, Any], ctx: Context) -> None:
    config["annotations"] = {"org.opencontainers.image.ref.name": "busybox", "com.example.empty": "",
                             "com.example.json": '{"a": 1}'}


def sysctls(config: dict[str, Any], ctx: Context) -> None:
    """Namespaced sysctls: net (network ns) and kernel.shm_rmid_forced/msgmax (ipc ns)."""
    config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1",
                                 "kernel.msgmax": "4096", "net.ipv4.ping_group_range": "0 2147483647"}


def oom_score(config: dict[str, Any], ctx: Context) -> None:
    config["process"]["oomScoreAdj"] = 500


def shm_size(config: dict[str, Any], ctx: Context) -> None:
    """--shm-size 1m and --tmpfs /tmp:rw,size=2m."""
    for m in config["mounts"]:
        if m["destination"] == "/dev/shm":
            m["options"] = ["nosuid", "noexec", "nodev", "mode=1777", "size=1048576"]
    config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                             "options": ["rw", "nosuid", "nodev", "noexec", "size=2m"]})


def bad_cap_name(config: dict[str, Any], ctx: Context) -> None:
    _caps(config, ("bounding", "effective", "permitted"), ["CAP_NOT_A_CAP"])


def bad_rlimit(config: dict[str, Any], ctx: Context) -> None:
    config["process"]["rlimits"] = [{"type": "RLIMIT_NOT_A_LIMIT", "soft": 1, "hard": 1}]


def bad_mount_type(config: dict[str, Any], ctx: Context) -> None:
    config["mounts"].append({"destination": "/bad", "type": "nosuchfs", "source": "none", "options": []})


def bad_namespace(config: dict[str, Any], ctx: Context) -> None:
    config["linux"]["namespaces"].append({"type": "nosuchns"})


def bad_memory_limit(config: dict[str, Any], ctx: Context) -> None:
    config["linux"]["resources"]["memory"] = {"limit": -5}


def bad_seccomp_action(config: dict[str, Any], ctx: Context) -> None:
    config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_BOGUS", "syscalls": []}


def bad_seccomp_syscall(config: dict[str, Any], ctx: Context) -> None:
    """An unknown syscall name is skipped (runc and libseccomp ignore it)."""
    config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["nosuchcall"], "action": "SCMP_ACT_ERRNO"}]}


def bad_cwd_relative(config: dict[str, Any], ctx: Context) -> None:
    config["process"]["cwd"] = "relative/dir"


CASES: list[tuple[str, Mutate]] = [
    (f.__name__, f) for f in (
        default, ns_minimal, ns_cgroup, ns_no_pid, ns_uts_domain, ns_user, ns_user_nonroot,
        mounts_bind, mounts_propagation_private, mounts_propagation_shared, mounts_propagation_slave,
        caps_added, caps_none, caps_ambient_user, caps_privileged, caps_unknown_to_kernel,
        seccomp_docker, seccomp_docker_nnp, seccomp_custom, seccomp_default_errno, no_new_privs,
        rlimits, cgroup_memory, cgroup_cpu, cgroup_pids_blkio, cgroup_devices,
        masked_readonly, hooks_all, hooks_poststart, user_groups, user_root_groups, env_cwd, cwd_missing,
        annotations, sysctls, oom_score, shm_size,
        bad_cap_name, bad_rlimit, bad_mount_type, bad_namespace, bad_memory_limit, bad_seccomp_action,
        bad_seccomp_syscall, bad_cwd_relative,
    )
]
