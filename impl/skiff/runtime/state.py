"""Container lifecycle: statuses, the legal transitions per verb, and the on-disk state (``state.json``).

A container's status is derived, as in runc: *stopped* when the init pid is gone, a zombie, or was
reused (its start time in /proc/<pid>/stat differs from the one recorded at create); *created* while
``exec.fifo`` still exists (the init blocks on it); *running* once ``start`` consumed and removed it.
"""

from __future__ import annotations

import os

from skiff.runtime import jsonfast
from skiff.runtime.errors import ContainerError

STATE_FILE = "state.json"
FIFO = "exec.fifo"


class Status:
    """The OCI statuses (plain strings: ``enum`` would cost a few ms of start-up on every verb)."""

    CREATING = "creating"
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    PAUSED = "paused"
    ALL = (CREATING, CREATED, RUNNING, STOPPED, PAUSED)


def can_start(status: str) -> None:
    if status == Status.RUNNING:
        raise ContainerError("cannot start an already running container")
    if status == Status.STOPPED:
        raise ContainerError("cannot start a container that has stopped")
    if status != Status.CREATED:
        raise ContainerError(f"cannot start a container in the {status} state")


def can_kill(status: str) -> None:
    if status not in (Status.CREATED, Status.RUNNING, Status.PAUSED):
        raise ContainerError("container not running")


def can_delete(container_id: str, status: str, force: bool) -> None:
    if status in (Status.RUNNING, Status.PAUSED) and not force:
        raise ContainerError(f"cannot delete container {container_id} that is not stopped: {status}")
    if status == Status.CREATING and not force:
        raise ContainerError(f"cannot delete container {container_id} that is not stopped: creating")


class ContainerRecord:
    """What ``create`` records in ``<root>/<id>/state.json`` (skiff's own format, like runc's)."""

    __slots__ = ("annotations", "bundle", "cgroup_paths", "created", "hooks", "id", "pid", "rootfs",
                 "start_time")

    def __init__(self, id: str, pid: int, start_time: int, bundle: str, rootfs: str, created: str,
                 annotations: dict[str, str], cgroup_paths: dict[str, str],
                 hooks: dict[str, list[dict[str, object]]] | None = None) -> None:
        self.id = id
        self.pid = pid
        self.start_time = start_time
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.annotations = annotations
        self.cgroup_paths = cgroup_paths
        self.hooks = hooks or {}  # poststart/poststop hooks (OCI JSON), run by start and delete

    def to_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ContainerRecord:
        return cls(**data)  # type: ignore[arg-type]


def state_dir(root: str, container_id: str) -> str:
    return os.path.join(root, container_id)


def load(root: str, container_id: str) -> ContainerRecord:
    try:
        with open(os.path.join(state_dir(root, container_id), STATE_FILE)) as f:
            return ContainerRecord.from_json(jsonfast.loads(f.read()))
    except (FileNotFoundError, NotADirectoryError):
        raise ContainerError("container does not exist") from None


def save(root: str, record: ContainerRecord) -> None:
    atomic_write(os.path.join(state_dir(root, record.id), STATE_FILE), jsonfast.dumps(record.to_json()))


def atomic_write(path: str, text: str, sync: bool = True) -> None:
    """Write, fsync (unless ``sync`` is false) and rename: readers see the old file or all of the new one."""
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, text.encode())
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def pid_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if the pid is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def init_alive(record: ContainerRecord) -> bool:
    return record.pid > 0 and pid_start_time(record.pid) == record.start_time


def status(root: str, record: ContainerRecord) -> str:
    if not init_alive(record):
        return Status.STOPPED
    if os.path.exists(os.path.join(state_dir(root, record.id), FIFO)):
        return Status.CREATED
    if frozen(record.cgroup_paths):
        return Status.PAUSED
    return Status.RUNNING


def frozen(cgroup_paths: dict[str, str]) -> bool:
    """Paused means the v1 freezer says FROZEN, or v2's cgroup.freeze is 1 (``pause`` waits until settled)."""
    for name, path in cgroup_paths.items():
        if "freezer" in name.split(","):
            try:
                with open(os.path.join(path, "freezer.state")) as f:
                    return f.read().strip() == "FROZEN"
            except OSError:
                return False
    if list(cgroup_paths) == ["unified"]:
        try:
            with open(os.path.join(cgroup_paths["unified"], "cgroup.freeze")) as f:
                return f.read().strip() == "1"
        except OSError:
            return False
    return False
