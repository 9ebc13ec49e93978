"""A tiny busybox bundle: Debian's busybox-static plus a config.json shaped like Docker 20.10's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

BUSYBOX = "/bin/busybox"


def make_rootfs(rootfs: Path) -> None:
    """Copy busybox into ``rootfs/bin`` and link every applet except ``busybox`` itself."""
    for sub in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/user"):
        (rootfs / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(rootfs / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], check=True, capture_output=True, text=True).stdout.split()
    for name in applets:
        if name == "busybox":
            continue
        link = rootfs / "bin" / name
        if not link.exists():
            link.symlink_to("busybox")
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                           "user:x:1000:1000::/home/user:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\nuser:x:1000:\n")


def docker_config(args: list[str], *, hostname: str = "skiffbox", cgroups_path: str = "",
                  env: list[str] | None = None, cwd: str = "/", uid: int = 0, gid: int = 0,
                  additional_gids: list[int] | None = None) -> dict[str, Any]:
    """A config with the shape Docker 20.10 writes (mounts, masked/readonly paths, caps, namespaces)."""
    caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
    linux: dict[str, Any] = {
        "resources": {"devices": [{"allow": False, "access": "rwm"}], "memory": {"disableOOMKiller": False}},
        "namespaces": [{"type": t} for t in ("mount", "network", "uts", "pid", "ipc")],
        "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                        "/sys/firmware"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    }
    if cgroups_path:
        linux["cgroupsPath"] = cgroups_path
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "user": {"uid": uid, "gid": gid, "additionalGids": additional_gids or [gid]},
            "args": args,
            "env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           f"HOSTNAME={hostname}"],
            "cwd": cwd,
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "oomScoreAdj": 0,
        },
        "root": {"path": "rootfs"},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["ro", "nosuid", "noexec", "nodev"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
        ],
        "linux": linux,
    }


def make_bundle(bundle: Path, args: list[str], **kw: Any) -> Path:
    make_rootfs(bundle / "rootfs")
    write_config(bundle, docker_config(args, **kw))
    return bundle


def write_config(bundle: Path, config: dict[str, Any]) -> None:
    (bundle / "config.json").write_text(json.dumps(config, indent=2))
