"""Busybox bundles for shim integration tests: a rootfs from Debian's busybox-static and a Docker-shaped
config.json (the shape of the reference dockerd's, minus seccomp and the libnetwork hook)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

BUSYBOX = Path("/bin/busybox")
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE"]


def make_rootfs(dest: Path) -> None:
    """busybox plus one symlink per applet (not ``busybox`` itself) in /bin."""
    bindir = dest / "bin"
    bindir.mkdir(parents=True)
    shutil.copy2(BUSYBOX, bindir / "busybox")
    listing = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True)
    applets = listing.stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", bindir / applet)
    for d in ("proc", "sys", "dev", "etc", "tmp", "root", "usr"):
        (dest / d).mkdir(exist_ok=True)
    os.symlink("../bin", dest / "usr" / "bin")
    os.symlink("bin", dest / "sbin")
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (dest / "etc" / "group").write_text("root:x:0:\n")


def config(container_id: str, args: list[str]) -> dict[str, Any]:
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "user": {"uid": 0, "gid": 0, "additionalGids": [0]},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    f"HOSTNAME={container_id[:12]}"],
            "cwd": "/",
            "capabilities": {"bounding": CAPS, "effective": CAPS, "permitted": CAPS},
            "oomScoreAdj": 0,
        },
        "root": {"path": "rootfs"},
        "hostname": container_id[:12],
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "cgroupsPath": f"/skiff-shim-test/{container_id}",
            "namespaces": [{"type": t} for t in ("mount", "network", "uts", "pid", "ipc")],
            "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                            "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


def make_bundle(bundle: Path, rootfs_template: Path, container_id: str, args: list[str]) -> Path:
    """``bundle/rootfs`` (a hard-link copy of the template) and ``bundle/config.json``."""
    bundle.mkdir(parents=True, exist_ok=True)
    shutil.copytree(rootfs_template, bundle / "rootfs", symlinks=True, copy_function=os.link)
    (bundle / "config.json").write_text(json.dumps(config(container_id, args), indent=2))
    return bundle
