"""OOM notifications for the container's memory cgroup, as containerd's shim has them.

cgroup v1: an eventfd registered with ``cgroup.event_control`` against ``memory.oom_control`` (the kernel
signals it on every OOM in the cgroup, and once more when the cgroup is removed). cgroup v2: the
``memory.events`` file, which the kernel marks changed (``EPOLLPRI``) whenever a counter moves. Either way
the ``oom_kill`` counter decides: one event per increase (a v1 notification on a kernel without that
counter, or without the OOM killer, counts as one), never one for the cgroup's removal.

Standard library only, no imports beyond ``os``: the shim's start-up time is measured.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from skiff.shim.loop import Loop


def memory_cgroup(pid: int, proc: str = "/proc", mountinfo: str = "/proc/self/mountinfo") -> tuple[str, int]:
    """(directory of ``pid``'s memory cgroup, 1 or 2), or ("", 0): the v1 memory controller when it is
    mounted, else the unified hierarchy (which has ``memory.events`` only where memory is enabled)."""
    v1_path = v2_path = None
    try:
        with open(f"{proc}/{pid}/cgroup") as f:
            for line in f:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                if "memory" in ctrls.split(","):
                    v1_path = path
                elif ctrls == "":
                    v2_path = path
    except (OSError, ValueError):
        return "", 0
    v1_mount = v2_mount = None
    try:
        with open(mountinfo) as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                fields, rest = pre.split(), post.split()
                if len(fields) < 5 or len(rest) < 3:
                    continue
                if rest[0] == "cgroup" and "memory" in rest[2].split(",") and v1_mount is None:
                    v1_mount = (fields[3], fields[4])
                elif rest[0] == "cgroup2" and v2_mount is None:
                    v2_mount = (fields[3], fields[4])
    except OSError:
        return "", 0
    if v1_path is not None and v1_mount is not None:
        return _join(v1_mount, v1_path), 1
    if v2_path is not None and v2_mount is not None:
        path = _join(v2_mount, v2_path)
        if os.path.exists(os.path.join(path, "memory.events")):
            return path, 2
    return "", 0


def _join(mount: tuple[str, str], path: str) -> str:
    """The directory of cgroup ``path`` under a mount whose root (in the hierarchy) is ``mount[0]``."""
    root, point = mount
    rel = path[len(root):] if root != "/" and path.startswith(root) else path
    return point.rstrip("/") + "/" + rel.lstrip("/")


def oom_kills(text: str) -> int | None:
    """The ``oom_kill`` counter of a ``memory.oom_control`` or ``memory.events`` text; None if absent."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


def _under_oom(path: str) -> bool:
    try:
        with open(path) as f:
            return any(line.strip() == "under_oom 1" for line in f)
    except OSError:
        return False


class OomMonitor:
    """Calls ``on_oom`` once per OOM kill in the init's memory cgroup while the container lives."""

    def __init__(self, loop: Loop, on_oom: Callable[[], None]) -> None:
        self._loop = loop
        self._on_oom = on_oom
        self._fds: list[int] = []
        self._watched = -1  # the fd the loop polls
        self._counter = ""  # the file holding oom_kill
        self.version = 0
        self.count = 0

    def start(self, pid: int) -> bool:
        """Watch ``pid``'s memory cgroup; False if there is none to watch (no memory controller)."""
        path, version = memory_cgroup(pid)
        if not path:
            return False
        try:
            if version == 1:
                self._counter = os.path.join(path, "memory.oom_control")
                control = os.open(self._counter, os.O_RDONLY | os.O_CLOEXEC)
                self._fds.append(control)
                efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
                self._fds.append(efd)
                with open(os.path.join(path, "cgroup.event_control"), "w") as f:
                    f.write(f"{efd} {control}")
                self._watched = efd
                self._loop.add_reader(efd, self._v1_ready)
            else:
                self._counter = os.path.join(path, "memory.events")
                fd = os.open(self._counter, os.O_RDONLY | os.O_CLOEXEC)
                self._fds.append(fd)
                self._watched = fd
                self._loop.add_priority_reader(fd, self._check)
        except OSError:
            self.close()
            return False
        self.version = version
        self.count = self._read() or 0
        return True

    def _read(self) -> int | None:
        try:
            with open(self._counter) as f:
                return oom_kills(f.read())
        except OSError:
            return None

    def _v1_ready(self) -> None:
        try:
            os.eventfd_read(self._watched)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        if not os.path.exists(self._counter):
            self.close()  # the notification of the cgroup's removal
            return
        before = self.count
        self._check()
        if self.count == before and _under_oom(self._counter):
            self._on_oom()  # the OOM killer is disabled (or the kernel has no counter): the task waits

    def _check(self) -> None:
        """Publish one event per increase of oom_kill (also called when the init exits, to miss none)."""
        if self.version == 2 and self._watched >= 0:
            try:  # noqa: SIM105 - contextlib costs imports; kernfs signals again only after a read
                os.pread(self._watched, 4096, 0)
            except OSError:
                pass
        current = self._read()
        if current is None:
            if self.version == 2:
                self.close()
            return
        while self.count < current:
            self.count += 1
            self._on_oom()

    def check(self) -> None:
        if self._counter:
            self._check()

    def close(self) -> None:
        if self._watched >= 0:
            self._loop.forget(self._watched)
            self._watched = -1
        for fd in self._fds:
            try:  # noqa: SIM105 - contextlib costs imports
                os.close(fd)
            except OSError:
                pass
        self._fds = []
