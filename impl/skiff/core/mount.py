"""Mount: the currency snapshotters hand to tasks (containerd's mount.Mount), and mounting it via mount(2)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass, field
from pathlib import Path

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2

_FLAGS: dict[str, tuple[bool, int]] = {
    "ro": (False, MS_RDONLY),
    "rw": (True, MS_RDONLY),
    "bind": (False, MS_BIND),
    "rbind": (False, MS_BIND | MS_REC),
    "nosuid": (False, MS_NOSUID),
    "nodev": (False, MS_NODEV),
    "noexec": (False, MS_NOEXEC),
}

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


@dataclass(frozen=True)
class Mount:
    """One mount to perform: ``type`` (overlay, bind), ``source`` and fs-specific ``options``."""

    type: str
    source: str
    options: tuple[str, ...] = field(default_factory=tuple)
    target: str = ""

    def option(self, name: str) -> str | None:
        """The value of a ``name=value`` option, e.g. ``upperdir``."""
        prefix = name + "="
        for opt in self.options:
            if opt.startswith(prefix):
                return opt[len(prefix):]
        return None

    @property
    def readonly(self) -> bool:
        return "ro" in self.options


def _parse_options(options: tuple[str, ...]) -> tuple[int, str]:
    flags = 0
    data: list[str] = []
    for opt in options:
        if opt in _FLAGS:
            clear, bit = _FLAGS[opt]
            flags = flags & ~bit if clear else flags | bit
        else:
            data.append(opt)
    return flags, ",".join(data)


def _sys_mount(source: str, target: str, fstype: str, flags: int, data: str) -> None:
    cdata = data.encode() if data else None
    rc = _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, cdata)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype} {source} on {target}: {os.strerror(err)}")


def mount(m: Mount, target: str | Path) -> None:
    """Mount ``m`` at ``target``; bind mounts that ask for ``ro`` get the read-only remount they need."""
    flags, data = _parse_options(m.options)
    fstype = "" if flags & MS_BIND else m.type
    _sys_mount(m.source, str(target), fstype, flags, data)
    if flags & MS_BIND and flags & MS_RDONLY:
        _sys_mount("", str(target), "", flags | MS_REMOUNT, data)


def mount_all(mounts: list[Mount], target: str | Path) -> None:
    """Mount each of ``mounts`` on ``target`` in order, undoing the earlier ones if a later one fails."""
    done = 0
    try:
        for m in mounts:
            mount(m, target)
            done += 1
    except BaseException:
        for _ in range(done):
            unmount(target)
        raise


def unmount(target: str | Path, detach: bool = False) -> None:
    rc = _libc.umount2(str(target).encode(), MNT_DETACH if detach else 0)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def is_mountpoint(path: str | Path) -> bool:
    """Whether ``path`` is listed as a mount point in /proc/self/mountinfo."""
    want = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == want:
                return True
    return False


def unmount_all(target: str | Path) -> None:
    """Unmount everything stacked on ``target`` (no error when nothing is mounted)."""
    while is_mountpoint(target):
        try:
            unmount(target)
        except OSError:
            unmount(target, detach=True)
