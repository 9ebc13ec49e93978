"""The container's init process as the shim sees it: one explicit state machine and its exit record."""

from __future__ import annotations

import os

from skiff import errdefs
from skiff.shim import codec
from skiff.shim.timestamps import ZERO_TIME, rfc3339nano

UNKNOWN = "unknown"
CREATED = "created"
RUNNING = "running"
STOPPED = "stopped"
DELETED = "deleted"

# the verbs each state accepts; anything else is refused before the runtime is asked
_ALLOWED: dict[str, frozenset[str]] = {
    UNKNOWN: frozenset({"create"}),
    CREATED: frozenset({"start", "kill", "delete", "wait"}),
    RUNNING: frozenset({"kill", "wait"}),
    STOPPED: frozenset({"delete", "wait"}),
    DELETED: frozenset({"wait"}),
}


def has_own_pid_namespace(bundle: str) -> bool:
    """Whether ``config.json`` gives the container a new pid namespace (one without a ``path`` to join)."""
    try:
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            config = codec.loads(f.read())
        namespaces = config.get("linux", {}).get("namespaces", [])
        return any(ns.get("type") == "pid" and not ns.get("path") for ns in namespaces)
    except (OSError, ValueError, AttributeError):
        return True  # unknown: assume the usual, which needs no extra kill


def exit_code(wait_status: int) -> int:
    """Docker's exit code: the process's exit status, or 128 + the signal that killed it."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def unlink_quietly(path: str) -> None:
    """Remove ``path`` if it exists (contextlib.suppress would cost ~3 ms of imports per shim)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return


def write_atomic(path: str, data: bytes) -> None:
    """Write, fsync, rename: readers see the old file or the whole new one."""
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


class Init:
    """Lifecycle of the container's init: unknown -> created -> running -> stopped -> deleted."""

    def __init__(self, container_id: str, bundle: str) -> None:
        self.id = container_id
        self.bundle = bundle
        self.status = UNKNOWN
        self.pid = 0
        self.exit_status = 0
        self.exited_at = ZERO_TIME
        self.stopped = False  # exited; stays true after delete

    def check(self, verb: str) -> None:
        """Refuse ``verb`` in the current state with the error a containerd shim would give."""
        if verb in _ALLOWED[self.status]:
            return
        if self.status == UNKNOWN:
            raise errdefs.FailedPrecondition(f"container {self.id} is not created")
        if self.status == DELETED:
            raise errdefs.NotFound(f"container {self.id} is deleted")
        if verb == "create":
            raise errdefs.AlreadyExists(f"container {self.id} is already created")
        if verb == "kill" and self.stopped:
            raise errdefs.NotFound(f"container {self.id}: process already finished")
        if verb == "delete":
            raise errdefs.FailedPrecondition(f"cannot delete container {self.id}: it is {self.status}")
        raise errdefs.FailedPrecondition(f"cannot {verb} container {self.id}: it is {self.status}")

    def created(self, pid: int) -> None:
        self.status, self.pid = CREATED, pid

    def started(self) -> None:
        if self.status == CREATED:
            self.status = RUNNING

    def exited(self, wait_status: int, when_ns: int | None = None) -> None:
        """Record the exit and persist it as ``<bundle>/exit.json`` for a core that outlives this shim."""
        self.exit_status = exit_code(wait_status)
        self.exited_at = rfc3339nano(when_ns)
        self.stopped = True
        if self.status != DELETED:
            self.status = STOPPED
        record = {"exit_status": self.exit_status, "exited_at": self.exited_at, "pid": self.pid}
        write_atomic(os.path.join(self.bundle, "exit.json"), codec.dumps(record).encode() + b"\n")

    def deleted(self) -> None:
        self.status = DELETED

    def state(self) -> dict[str, object]:
        status = STOPPED if self.status == DELETED else self.status
        return {
            "id": self.id,
            "pid": self.pid,
            "status": status,
            "exit_status": self.exit_status,
            "exited_at": self.exited_at,
            "bundle": self.bundle,
            "deleted": self.status == DELETED,
        }
