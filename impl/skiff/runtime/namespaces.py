"""Enter the namespaces listed in ``linux.namespaces``: join those with a path (setns), unshare the rest.

Runs in the bootstrap child of ``create``; a new pid namespace applies to its children, which is why the
bootstrap forks the container init afterwards.
"""

from __future__ import annotations

import os

from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from skiff.oci.runtime import Namespace
    from skiff.runtime.syscalls.protocol import Syscalls

CLONE_FLAGS = {
    "mount": 0x00020000,
    "cgroup": 0x02000000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "user": 0x10000000,
    "pid": 0x20000000,
    "network": 0x40000000,
}
# setns order: runc joins user first and mount last, so that paths under /proc stay resolvable
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "mount")


def flag(kind: str) -> int:
    try:
        return CLONE_FLAGS[kind]
    except KeyError:
        raise ContainerError(f"namespace {kind!r} is not supported") from None


def enter(namespaces: Iterable[Namespace], sys: Syscalls,
          new_user: Callable[[], None] | None = None) -> int:
    """Join/unshare; returns the unshare flags used (so callers know which namespaces are new).

    A new user namespace is unshared first and alone; ``new_user`` then has it mapped and makes us root
    in it, so that the other new namespaces belong to it (runc's nsexec order)."""
    joins = sorted((ns for ns in namespaces if ns.path), key=lambda ns: JOIN_ORDER.index(ns.type))
    for ns in joins:
        fd = os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            sys.setns(fd, flag(ns.type))
        except OSError as exc:
            raise ContainerError(f"failed to join {ns.type} namespace {ns.path}: {exc.strerror}") from None
        finally:
            os.close(fd)
    flags = 0
    for ns in namespaces:
        if not ns.path:
            flags |= flag(ns.type)
    user = CLONE_FLAGS["user"]
    if flags & user:
        try:
            sys.unshare(user)
        except OSError as exc:
            raise ContainerError(f"unshare user namespace: {exc.strerror}") from None
        if new_user is not None:
            new_user()
    rest = flags & ~user
    if rest:
        try:
            sys.unshare(rest)
        except OSError as exc:
            raise ContainerError(f"unshare namespaces: {exc.strerror}") from None
    return flags
