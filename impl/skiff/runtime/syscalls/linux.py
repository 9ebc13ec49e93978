"""The real syscalls, through libc with ctypes (Python 3.11 has no os.unshare/os.setns/os.mount)."""

from __future__ import annotations

import ctypes
import os

_SYS_NUMBERS = {  # machine -> (pivot_root, capset)
    "x86_64": (155, 126),
    "aarch64": (41, 91),
}

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_AF_INET = 2
_SOCK_DGRAM = 2
_SOCK_CLOEXEC = 0o2000000
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _IfReq(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 16), ("flags", ctypes.c_short), ("pad", ctypes.c_char * 22)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _check(result: int, what: str) -> int:
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


class LinuxSyscalls:
    """``skiff.runtime.syscalls.protocol.Syscalls`` on Linux via libc."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._nr_pivot_root, self._nr_capset = _SYS_NUMBERS[os.uname().machine]

    def unshare(self, flags: int) -> None:
        _check(self._libc.unshare(ctypes.c_int(flags)), "unshare")

    def setns(self, fd: int, nstype: int) -> None:
        _check(self._libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None:
        res = self._libc.mount(source.encode() or None, target.encode(), fstype.encode() or None,
                               ctypes.c_ulong(flags), data.encode() or None)
        if res == -1:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {source or fstype} to {target} (flags {flags:#x}, data {data!r}): "
                               f"{os.strerror(err)}")

    def umount2(self, target: str, flags: int) -> None:
        _check(self._libc.umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")

    def pivot_root(self, new_root: str, put_old: str) -> None:
        _check(self._libc.syscall(ctypes.c_long(self._nr_pivot_root), new_root.encode(), put_old.encode()),
               "pivot_root")

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        _check(self._libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")

    def setdomainname(self, name: str) -> None:
        raw = name.encode()
        _check(self._libc.setdomainname(raw, ctypes.c_size_t(len(raw))), "setdomainname")

    def prctl(self, option: int, arg2: int, arg3: int = 0) -> int:
        return _check(self._libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                                       ctypes.c_ulong(0), ctypes.c_ulong(0)), f"prctl({option})")

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        for i in range(2):
            shift = 32 * i
            data[i].effective = (effective >> shift) & 0xFFFFFFFF
            data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
            data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
        _check(self._libc.syscall(ctypes.c_long(self._nr_capset), ctypes.byref(header), data), "capset")

    def reset_signals(self, signals: tuple[int, ...]) -> None:
        """Default dispositions for ``signals`` and an empty signal mask (``import signal`` imports enum)."""
        for sig in signals:
            self._libc.signal(ctypes.c_int(sig), ctypes.c_void_p(0))  # SIG_DFL
        empty = (ctypes.c_ulong * 16)()  # glibc's sigset_t is 1024 bits
        _check(self._libc.sigprocmask(ctypes.c_int(2), ctypes.byref(empty), None), "sigprocmask")  # SETMASK

    def set_link_up(self, name: str) -> None:
        """SIOCSIFFLAGS on a datagram socket: bring ``lo`` up in a fresh netns without ``ip``.

        socket(2) and ioctl(2) go through libc too: ``import socket`` costs ~10 ms of start-up.
        """
        fd = _check(self._libc.socket(ctypes.c_int(_AF_INET), ctypes.c_int(_SOCK_DGRAM | _SOCK_CLOEXEC),
                                      ctypes.c_int(0)), "socket")
        try:
            req = _IfReq(name.encode())
            _check(self._libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(SIOCGIFFLAGS), ctypes.byref(req)),
                   f"ioctl SIOCGIFFLAGS {name}")
            req.flags |= IFF_UP
            _check(self._libc.ioctl(ctypes.c_int(fd), ctypes.c_ulong(SIOCSIFFLAGS), ctypes.byref(req)),
                   f"ioctl SIOCSIFFLAGS {name}")
        finally:
            os.close(fd)
