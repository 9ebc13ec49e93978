"""The container's root filesystem, set up inside its mount namespace before and after pivot_root.

Order follows runc: make / rslave (or ``rootfsPropagation``), bind the rootfs onto itself, mount the
config's mounts in order, populate /dev (mknod, or binds of the host's nodes where mknod is refused, as
runc), pivot_root, then readonly/masked paths and a read-only root.
"""

from __future__ import annotations

import errno
import os

from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from skiff.oci.runtime import Mount, Spec
    from skiff.runtime.syscalls.protocol import Syscalls

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 0x2

# option -> (clear?, flag)
FLAG_OPTIONS: dict[str, tuple[bool, int]] = {
    "async": (True, MS_SYNCHRONOUS), "atime": (True, MS_NOATIME), "bind": (False, MS_BIND),
    "defaults": (False, 0), "dev": (True, MS_NODEV), "diratime": (True, MS_NODIRATIME),
    "dirsync": (False, MS_DIRSYNC), "exec": (True, MS_NOEXEC), "mand": (False, MS_MANDLOCK),
    "noatime": (False, MS_NOATIME), "nodev": (False, MS_NODEV), "nodiratime": (False, MS_NODIRATIME),
    "noexec": (False, MS_NOEXEC), "nomand": (True, MS_MANDLOCK), "norelatime": (True, MS_RELATIME),
    "nostrictatime": (True, MS_STRICTATIME), "nosuid": (False, MS_NOSUID), "rbind": (False, MS_BIND | MS_REC),
    "relatime": (False, MS_RELATIME), "remount": (False, MS_REMOUNT), "ro": (False, MS_RDONLY),
    "rw": (True, MS_RDONLY), "strictatime": (False, MS_STRICTATIME), "suid": (True, MS_NOSUID),
    "sync": (False, MS_SYNCHRONOUS),
}
PROPAGATION_OPTIONS = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
    "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
    "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC, "unbindable": MS_UNBINDABLE,
    "runbindable": MS_UNBINDABLE | MS_REC,
}
DEVICES = (("null", 1, 3), ("random", 1, 8), ("full", 1, 7), ("tty", 5, 0), ("zero", 1, 5),
           ("urandom", 1, 9))  # runc's order (its binds show in this order in a user namespace)
DEV_SYMLINKS = (("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"),
                ("/proc/self/fd/2", "stderr"))


def parse_options(options: tuple[str, ...] | list[str]) -> tuple[int, list[int], str]:
    """Mount options -> (mount flags, propagation flags to apply after, data string)."""
    flags = 0
    propagation: list[int] = []
    data: list[str] = []
    for opt in options:
        if opt in FLAG_OPTIONS:
            clear, bit = FLAG_OPTIONS[opt]
            flags = flags & ~bit if clear else flags | bit
        elif opt in PROPAGATION_OPTIONS:
            propagation.append(PROPAGATION_OPTIONS[opt])
        else:
            data.append(opt)
    return flags, propagation, ",".join(data)


def secure_join(root: str, unsafe: str) -> str:
    """``root``/``unsafe`` with symlinks resolved as if ``root`` were /, so no path escapes the rootfs."""
    parts = [p for p in unsafe.split("/") if p]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        if os.path.islink(candidate):
            links += 1
            if links > 255:
                raise ContainerError(f"too many symlinks resolving {unsafe}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)


def prepare(spec: Spec, rootfs: str, sys: Syscalls, own_cgroups: dict[str, str],
            cgroup_mounts: dict[str, str]) -> None:
    """Everything before pivot_root: propagation, the rootfs bind, the config's mounts and /dev."""
    linux = spec.linux
    propagation = PROPAGATION_OPTIONS.get(linux.rootfs_propagation if linux else "", MS_SLAVE | MS_REC)
    sys.mount("", "/", "", propagation, "")
    parent_mount_private(rootfs, sys)
    sys.mount(rootfs, rootfs, "bind", MS_BIND | MS_REC, "")
    dev_is_bind = False
    cgroupns = linux is not None and linux.namespace("cgroup") is not None
    for m in spec.mounts:
        if os.path.normpath(m.destination) == "/dev" and m.type == "bind":
            dev_is_bind = True
        mount_one(m, rootfs, sys, own_cgroups, cgroup_mounts, cgroupns)
    if not dev_is_bind:
        setup_dev(rootfs, sys)
    if linux is not None and linux.devices:
        create_devices(linux.devices, rootfs, sys)
    make_cwd(spec, rootfs)


def parent_mount_private(rootfs: str, sys: Syscalls) -> None:
    """pivot_root refuses a new root whose parent mount is shared (``rootfsPropagation: shared``): make that
    mount private, as runc's rootfsParentMountPrivate."""
    best, shared = "", False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split(" - ", 1)[0].split()
            point = fields[4].replace("\\040", " ")
            inside = rootfs == point or rootfs.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, shared = point, any(o.startswith("shared:") for o in fields[6:])
    if shared:
        sys.mount("", best, "", MS_PRIVATE, "")


def create_devices(devices: tuple[Mapping[str, Any], ...], rootfs: str, sys: Syscalls) -> None:
    """``linux.devices``: mknod each node with its mode and owner (runc); where mknod is not allowed, a bind
    of the host's node of the same path."""
    import stat

    for dev in devices:
        target = os.path.join(rootfs, str(dev["path"]).lstrip("/"))
        kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
        kind = kinds.get(str(dev["type"]))
        if kind is None:
            raise OSError(22, f"{dev['path']}: unknown device type {dev['type']!r}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.lexists(target):
            os.unlink(target)
        mode = int(dev.get("fileMode") or 0o666)
        try:
            os.mknod(target, kind | stat.S_IMODE(mode), os.makedev(int(dev.get("major") or 0),
                                                                    int(dev.get("minor") or 0)))
        except PermissionError:
            _make_target(target, is_dir=False)
            sys.mount(str(dev["path"]), target, "", MS_BIND, "")
            continue
        os.chmod(target, stat.S_IMODE(mode))
        os.chown(target, int(dev.get("uid") or 0), int(dev.get("gid") or 0))


def make_cwd(spec: Spec, rootfs: str) -> None:
    """Create process.cwd (as root, before the user switch) if the image lacks it, as runc does."""
    if spec.process is not None and spec.process.cwd:
        os.makedirs(secure_join(rootfs, spec.process.cwd), mode=0o755, exist_ok=True)


def mount_one(m: Mount, rootfs: str, sys: Syscalls, own_cgroups: dict[str, str],
              cgroup_mounts: dict[str, str], cgroupns: bool = False) -> None:
    try:
        _mount_one(m, rootfs, sys, own_cgroups, cgroup_mounts, cgroupns)
    except OSError as exc:  # runc's wording
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise ContainerError(f'error during container init: error mounting "{m.source}" to rootfs at '
                             f'"{m.destination}": mount {m.source}:{m.destination}: {reason}') from None


def _mount_one(m: Mount, rootfs: str, sys: Syscalls, own_cgroups: dict[str, str],
               cgroup_mounts: dict[str, str], cgroupns: bool) -> None:
    dest = secure_join(rootfs, m.destination)
    flags, propagation, data = parse_options(m.options)
    is_bind = m.type == "bind" or flags & MS_BIND
    if m.type == "cgroup":
        mount_cgroups(dest, flags, sys, own_cgroups, cgroup_mounts, cgroupns)
        return
    if is_bind:
        if not os.path.exists(m.source):
            raise ContainerError(f"bind mount source {m.source} does not exist")
        _make_target(dest, is_dir=os.path.isdir(m.source))
        sys.mount(m.source, dest, "", MS_BIND | (flags & MS_REC), "")
        extra = flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
        if extra:
            sys.mount(m.source, dest, "", MS_BIND | MS_REMOUNT | extra, "")
    else:
        _make_target(dest, is_dir=True)
        sys.mount(m.source, dest, m.type, flags, data)
    for pflag in propagation:
        sys.mount("", dest, "", pflag, "")


def mount_cgroups(dest: str, flags: int, sys: Syscalls, own_cgroups: dict[str, str],
                  cgroup_mounts: dict[str, str], cgroupns: bool = False) -> None:
    """As runc 1.1. cgroup v1: a tmpfs (read-write even when the cgroup mount is ``ro``) with one mount
    per hierarchy (read-only if the cgroup mount is): a bind of the container's own cgroup, or in a
    cgroup namespace a fresh mount (whose root is the container's cgroup). Unified-only: a cgroup2 mount."""
    _make_target(dest, is_dir=True)
    if list(cgroup_mounts) == ["unified"]:
        sys.mount("cgroup2", dest, "cgroup2", flags, "")
        return
    base = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    sys.mount("tmpfs", dest, "tmpfs", base, "mode=755")
    for name, mountpoint in cgroup_mounts.items():  # the host's mount order, as runc
        if name == "unified":
            continue  # hybrid layout: runc shows only the v1 hierarchies
        sub = os.path.join(dest, os.path.basename(mountpoint))
        os.makedirs(sub, exist_ok=True)
        if cgroupns:
            source = "systemd" if name == "name=systemd" else "cgroup"
            sys.mount(source, sub, "cgroup", flags, name)
            continue
        source = os.path.join(mountpoint, own_cgroups.get(name, "/").lstrip("/"))
        sys.mount(source, sub, "", MS_BIND | MS_REC, "")
        sys.mount(source, sub, "", MS_BIND | MS_REMOUNT | (flags & MS_RDONLY) | base, "")


def setup_dev(rootfs: str, sys: Syscalls) -> None:
    """runc's default devices made with mknod (0666, root-owned); a bind of the host's node where mknod is
    refused."""
    dev = os.path.join(rootfs, "dev")
    os.makedirs(dev, exist_ok=True)
    for name, major, minor in DEVICES:
        target = os.path.join(dev, name)
        if os.path.lexists(target):
            os.unlink(target)
        try:
            os.mknod(target, 0o20666, os.makedev(major, minor))
        except PermissionError:
            if not os.path.exists(f"/dev/{name}"):
                continue
            _make_target(target, is_dir=False)
            sys.mount(f"/dev/{name}", target, "", MS_BIND, "")
            continue
        os.chmod(target, 0o666)
        os.chown(target, 0, 0)
    ptmx = os.path.join(dev, "ptmx")
    if os.path.lexists(ptmx):
        os.unlink(ptmx)
    os.symlink("pts/ptmx", ptmx)
    for source, name in DEV_SYMLINKS:
        link = os.path.join(dev, name)
        if not os.path.lexists(link):
            os.symlink(source, link)
    if os.path.exists("/proc/kcore") and not os.path.lexists(os.path.join(dev, "core")):
        os.symlink("/proc/kcore", os.path.join(dev, "core"))


def pivot_root(rootfs: str, sys: Syscalls) -> None:
    """pivot_root(".", ".") then lazily detach the old root stacked underneath, as runc does."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        sys.pivot_root(".", ".")
        os.fchdir(old)
        sys.mount("", ".", "", MS_SLAVE | MS_REC, "")
        sys.umount2(".", MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def finalize(spec: Spec, sys: Syscalls) -> None:
    """After pivot_root (and sysctls): readonly paths, masked paths, read-only root."""
    linux = spec.linux
    if linux:
        for path in linux.readonly_paths:
            readonly_path(path, sys)
        for path in linux.masked_paths:
            mask_path(path, sys)
    if spec.root and spec.root.readonly:
        sys.mount("/", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY, "")


def readonly_path(path: str, sys: Syscalls) -> None:
    try:
        sys.mount(path, path, "", MS_BIND | MS_REC, "")
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return
        raise
    keep = os.statvfs(path).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    sys.mount(path, path, "", keep | MS_BIND | MS_REMOUNT | MS_RDONLY, "")


def mask_path(path: str, sys: Syscalls) -> None:
    if not os.path.lexists(path):
        return
    if os.path.isdir(path):
        sys.mount("tmpfs", path, "tmpfs", MS_RDONLY, "")
    else:
        sys.mount("/dev/null", path, "", MS_BIND, "")


def _make_target(path: str, *, is_dir: bool) -> None:
    if os.path.lexists(path):
        return
    if is_dir:
        os.makedirs(path, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
