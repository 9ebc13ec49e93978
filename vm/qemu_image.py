#!/usr/bin/env python3
"""Build the qemu reference's disk: Debian bookworm by debootstrap with docker.io and Debian's kernel.

`python -m vm.qemu_image [--cache DIR] [--force]`. Output in the cache (never the repo): ``root.img``
(ext4 made by ``mkfs.ext4 -d``, no loop mount), ``vmlinuz`` and ``initrd.img`` copied from the image's /boot
for qemu's -kernel/-initrd, and ``build.json`` with the timings. The guest boots ``/sbin/skiff-init`` as
PID 1 (no systemd: under TCG every second of boot counts): it mounts the pseudo file systems, loads the
drivers of the devices present, brings up the user-mode network and execs dockerd on tcp://0.0.0.0:2375.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CACHE = Path(os.environ.get("SKIFF_VM_CACHE", "/var/cache/skiff-vm"))
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("linux-image-amd64", "docker.io", "iproute2", "iptables", "kmod", "procps", "e2fsprogs")
IMAGE_SIZE = "6G"  # sparse: only written blocks use disk
GUEST_PORT = 2375

INIT = f"""#!/bin/sh
# PID 1 of the qemu reference (written by vm/qemu_image.py): the pseudo file systems, the drivers of the
# devices present, the user-mode network, then dockerd in the foreground on TCP (reached by qemu's hostfwd).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# the initramfs loaded the virtio drivers (and its udev may have renamed eth0: take the first link)
modprobe -a -q virtio_net virtio_rng overlay br_netfilter veth nf_tables 2>/dev/null
hostname skiff-ref
ip link set lo up
IF=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set "$IF" up
ip addr add 10.0.2.15/24 dev "$IF"
ip route add default via 10.0.2.2
echo "skiff-init: starting dockerd at $(cut -d' ' -f1 /proc/uptime)s of uptime" > /dev/console
exec dockerd -H tcp://0.0.0.0:{GUEST_PORT} -H unix:///var/run/docker.sock --tls=false \\
    --storage-driver overlay2 --log-level warn
"""


def write_init(img: Path) -> None:
    """(Re)write /sbin/skiff-init inside `img` with debugfs (no mount): a changed INIT needs no rebuild."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as f:
        f.write(INIT)
        f.flush()
        target = "/usr/sbin/skiff-init"  # /sbin is a symlink in Debian's merged /usr
        for req in (f"rm {target}", f"write {f.name} {target}", f"sif {target} mode 0100755"):
            subprocess.run(["debugfs", "-w", "-R", req, str(img)], check=req.startswith("rm") is False,
                           capture_output=True, stdin=subprocess.DEVNULL)


def run(cmd: list[str], **kw: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]


def build(cache: Path = CACHE, force: bool = False) -> dict[str, float]:
    """Build (or reuse) the image in `cache`; return the timings of the steps in seconds."""
    stamp = cache / "build.json"
    if stamp.exists() and not force:
        timings: dict[str, float] = json.loads(stamp.read_text())
        return timings
    cache.mkdir(parents=True, exist_ok=True)
    rootfs = cache / "rootfs"
    if rootfs.exists():
        shutil.rmtree(rootfs)
    t0 = time.monotonic()
    run(
        [
            "nice", "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
            SUITE, str(rootfs), MIRROR,
        ]
    )
    t1 = time.monotonic()
    init = rootfs / "sbin" / "skiff-init"
    init.write_text(INIT)
    init.chmod(0o755)
    (rootfs / "etc" / "hostname").write_text("skiff-ref\n")
    (rootfs / "etc" / "fstab").write_text("/dev/vda / ext4 rw,relatime 0 1\n")
    shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
    (rootfs / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True)
    boot = rootfs / "boot"
    kernel = sorted(boot.glob("vmlinuz-*"))[-1]
    initrd = sorted(boot.glob("initrd.img-*"))[-1]
    shutil.copy2(kernel, cache / "vmlinuz")
    shutil.copy2(initrd, cache / "initrd.img")
    img = cache / "root.img"
    img.unlink(missing_ok=True)
    run(["nice", "mkfs.ext4", "-q", "-L", "skiffroot", "-d", str(rootfs), str(img), IMAGE_SIZE])
    t2 = time.monotonic()
    shutil.rmtree(rootfs)
    timings = {"debootstrap_s": round(t1 - t0, 1), "image_s": round(t2 - t1, 1), "kernel": kernel.name}  # type: ignore[dict-item]
    stamp.write_text(json.dumps(timings, indent=2) + "\n")
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache has an image")
    parser.add_argument("--init-only", action="store_true", help="only rewrite /sbin/skiff-init in the image")
    args = parser.parse_args(argv)
    if args.init_only:
        write_init(args.cache / "root.img")
        return 0
    print(json.dumps(build(args.cache, args.force)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
