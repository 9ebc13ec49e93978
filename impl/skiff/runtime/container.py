"""The OCI verbs on a container directory ``<root>/<id>``: create, start, state, kill, delete, list.

``create`` is the only verb that parses config.json, forks and touches namespaces; its heavier imports are
local to it so ``state``/``start``/``kill``/``delete`` start fast.
"""

from __future__ import annotations

import os
import time

from skiff.runtime import jsonfast, state
from skiff.runtime.errors import ContainerError
from skiff.runtime.state import ContainerRecord, Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from skiff.oci.runtime import Spec
    from skiff.runtime.cgroups.protocol import Cgroups
    from skiff.runtime.seccomp import SeccompFilter
    from skiff.runtime.syscalls.protocol import Syscalls

OCI_VERSION = "1.0.2-dev"
SIGKILL = 9
# Linux signal numbers (x86_64 and aarch64 agree); a table, because ``import signal`` imports enum
SIGNALS = {
    "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGIOT": 6, "SIGBUS": 7,
    "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14,
    "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20,
    "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27,
    "SIGWINCH": 28, "SIGIO": 29, "SIGPOLL": 29, "SIGPWR": 30, "SIGSYS": 31, "SIGRTMIN": 34, "SIGRTMAX": 64,
}
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")


def validate_id(container_id: str) -> None:
    if not container_id or container_id in (".", "..") or not set(container_id) <= _ID_CHARS:
        raise ContainerError("invalid container ID format")


def rfc3339nano(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


def load_spec(bundle: str) -> Spec:
    """Read and validate ``<bundle>/config.json`` (runc's messages for a missing bundle or config)."""
    from skiff.oci.runtime import Spec
    from skiff.oci.validate import InvalidConfig, validate_config

    if not os.path.isdir(bundle):
        raise ContainerError(f"chdir {bundle}: no such file or directory")
    try:
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ContainerError("JSON specification file config.json not found") from None
    try:
        config = jsonfast.loads(raw)
    except ValueError as exc:
        raise ContainerError(f"invalid config.json: {exc}") from None
    precheck(config)
    try:
        validate_config(_schema_view(config))
    except InvalidConfig as exc:
        raise ContainerError(f"invalid config.json: {exc}") from None
    spec = Spec.from_dict(config)
    if spec.process is None:
        raise ContainerError("invalid config.json: process must be set for create")
    if spec.root is None:
        raise ContainerError("invalid config.json: root must be set")
    if spec.linux is None:
        raise ContainerError("invalid config.json: linux section must be set")
    from skiff.runtime import console

    if spec.process.terminal and console.SOCKET_FD < 0:
        raise ContainerError("cannot allocate tty if runc will detach without setting console socket")
    userns = spec.linux.namespace("user")
    if userns is not None and not userns.path and not (spec.linux.uid_mappings and spec.linux.gid_mappings):
        raise ContainerError("user namespaces enabled, but no uid or gid mappings found")
    if spec.linux.has_user_mappings and userns is None:
        raise ContainerError("user namespaces enabled, but no user namespace found")
    _warn_unknown_caps(spec)
    return spec


_NAMESPACES = frozenset(("pid", "network", "mount", "ipc", "uts", "user", "cgroup"))
_RLIMITS = frozenset("RLIMIT_" + n for n in (
    "AS", "CORE", "CPU", "DATA", "FSIZE", "LOCKS", "MEMLOCK", "MSGQUEUE", "NICE", "NOFILE", "NPROC", "RSS",
    "RTPRIO", "RTTIME", "SIGPENDING", "STACK"))
_SECCOMP_ACTIONS = frozenset("SCMP_ACT_" + n for n in ("KILL", "KILL_PROCESS", "KILL_THREAD", "ERRNO", "TRAP",
                                                       "ALLOW", "TRACE", "LOG", "NOTIFY"))


def precheck(config: dict[str, object]) -> None:
    """runc's own checks, with its messages, before the schema's (which would word them differently)."""
    process = config.get("process")
    if isinstance(process, dict):
        cwd = process.get("cwd")
        if isinstance(cwd, str) and cwd and not cwd.startswith("/"):
            raise ContainerError("Cwd must be an absolute path")
        for rl in process.get("rlimits") or ():
            if isinstance(rl, dict) and rl.get("type") not in _RLIMITS:
                raise ContainerError(f"wrong rlimit value: {rl.get('type')}")
    linux = config.get("linux")
    if not isinstance(linux, dict):
        return
    for ns in linux.get("namespaces") or ():
        if isinstance(ns, dict) and ns.get("type") not in _NAMESPACES:
            raise ContainerError(f'namespace {{"{ns.get("type")}" "{ns.get("path", "")}"}} does not exist')
    seccomp = linux.get("seccomp")
    if isinstance(seccomp, dict):
        actions = [seccomp.get("defaultAction")]
        actions += [s.get("action") for s in seccomp.get("syscalls") or () if isinstance(s, dict)]
        for action in actions:
            if isinstance(action, str) and action not in _SECCOMP_ACTIONS:
                raise ContainerError(f"string {action} is not a valid action for seccomp")


def _warn_unknown_caps(spec: Spec) -> None:
    """runc 1.1 ignores capabilities it or the kernel does not know, with a warning."""
    caps = spec.process.capabilities if spec.process else None
    if caps is None:
        return
    from skiff.runtime.errors import warn
    from skiff.runtime.init import CAP_NUMBERS, last_cap

    top = last_cap()
    sets = (caps.bounding, caps.effective, caps.permitted, caps.inheritable, caps.ambient)
    unknown = {name for names in sets for name in names if CAP_NUMBERS.get(name, top + 1) > top}
    if unknown:
        warn(f"ignoring unknown or unavailable capabilities: [{' '.join(sorted(unknown))}]")


# runc also takes the recursive forms the schema's enum lacks (Docker and containerd write "rslave")
_RECURSIVE_PROPAGATION = ("rprivate", "rshared", "rslave", "runbindable")


def _schema_view(config: dict[str, object]) -> dict[str, object]:
    """The config as the schema should see it: a recursive ``rootfsPropagation`` checked as its base form."""
    linux = config.get("linux")
    if isinstance(linux, dict) and linux.get("rootfsPropagation") in _RECURSIVE_PROPAGATION:
        return {**config, "linux": {**linux, "rootfsPropagation": linux["rootfsPropagation"][1:]}}
    return config


def create(root: str, container_id: str, bundle: str, pid_file: str = "", sys: Syscalls | None = None,
           preserve_fds: int = 0) -> ContainerRecord:
    """Set up the container init, blocked on exec.fifo; returns once the init waits there."""
    from skiff.runtime.cgroups.v1 import V1Cgroups, hierarchies, own_cgroups

    validate_id(container_id)
    bundle = os.path.abspath(bundle)
    spec = load_spec(bundle)
    assert spec.root is not None and spec.linux is not None
    rootfs = os.path.normpath(os.path.join(bundle, spec.root.path))
    if not os.path.isdir(rootfs):
        raise ContainerError(f"rootfs ({rootfs}) does not exist")
    os.makedirs(root, mode=0o711, exist_ok=True)
    directory = state.state_dir(root, container_id)
    try:
        os.mkdir(directory, 0o711)
    except FileExistsError:
        raise ContainerError(f"container with id exists: {container_id}") from None
    cgroups: Cgroups | None = None
    init_pid = 0
    try:
        fifo = os.path.join(directory, state.FIFO)
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)
        if spec.linux.cgroups_path:
            cgroups = V1Cgroups.for_path(spec.linux.cgroups_path)
            cgroups.create()
            from skiff.runtime.cgroups import resources

            resources.apply(cgroups.paths, spec.linux.resources.raw, devices=[])
        if sys is None:
            from skiff.runtime.syscalls.linux import LinuxSyscalls

            sys = LinuxSyscalls()
        seccomp = None
        if spec.linux.seccomp is not None:
            from skiff.runtime.seccomp import SeccompFilter

            seccomp = SeccompFilter(spec.linux.seccomp)
        mounts = hierarchies()
        if cgroups is not None:
            container_cgroups = {name: "/" + os.path.relpath(path, mounts[name])
                                 for name, path in cgroups.paths.items() if name in mounts}
        else:
            container_cgroups = own_cgroups()
        init_pid = spawn(spec, rootfs, fifo, sys, cgroups, mounts, preserve_fds, container_id, bundle,
                         seccomp, container_cgroups)
        start_time = state.pid_start_time(init_pid)
        if start_time is None:
            raise ContainerError("container init exited unexpectedly")
        record = ContainerRecord(
            id=container_id, pid=init_pid, start_time=start_time, bundle=bundle, rootfs=rootfs,
            created=rfc3339nano(time.time_ns()), annotations=dict(spec.annotations),
            cgroup_paths=cgroups.paths if cgroups else {},
            hooks={phase: [h.to_dict() for h in spec.hooks.get(phase)]
                   for phase in ("poststart", "poststop") if spec.hooks.get(phase)},
        )
        state.save(root, record)
        if pid_file:
            state.atomic_write(os.path.abspath(pid_file), str(init_pid), sync=False)
        return record
    except BaseException:
        if init_pid:
            _kill_quietly(init_pid, SIGKILL)
            _wait_gone(init_pid, None)
        if cgroups is not None:
            for pid in cgroups.pids():
                _kill_quietly(pid, SIGKILL)
            cgroups.destroy()
        _remove_dir(directory)
        raise


def spawn(spec: Spec, rootfs: str, fifo: str, sys: Syscalls, cgroups: Cgroups | None,
          cgroup_mounts: dict[str, str], preserve_fds: int = 0, container_id: str = "",
          bundle: str = "", seccomp: SeccompFilter | None = None,
          container_cgroups: dict[str, str] | None = None) -> int:
    """Fork the bootstrap, place it in the cgroups, and wait until the init reports ``ready``."""
    from skiff.runtime import init, sync

    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(to_child_w)
        os.close(from_child_r)
        init_args = init.InitArgs(spec, rootfs, fifo, sync.Channel(to_child_r, from_child_w), sys,
                                  cgroup_mounts, preserve_fds, seccomp, container_cgroups)
        init_args.fifo_fd = fifo_fd
        init_args.hook_state = {"ociVersion": OCI_VERSION, "id": container_id, "status": "creating",
                                "bundle": bundle, "annotations": dict(spec.annotations)}
        init.bootstrap(init_args)
    os.close(to_child_r)
    os.close(from_child_w)
    os.close(fifo_fd)
    channel = sync.Channel(from_child_r, to_child_w)
    init_pid = 0
    try:
        if cgroups is not None:
            cgroups.add(pid)
        channel.send(sync.CgroupsReady())
        msg = channel.recv()
        if isinstance(msg, sync.Userns):
            write_id_maps(pid, spec)
            channel.send(sync.Mapped())
            msg = channel.recv()
        early = None  # the init may ask for its hooks before the bootstrap has reported its pid
        if isinstance(msg, sync.Hooks):
            early, msg = msg, channel.recv()
        if isinstance(msg, sync.Error):
            raise ContainerError(f"unable to start container process: {msg.message}")
        if not isinstance(msg, sync.InitPid):
            raise ContainerError(f"container bootstrap failed (sync message {msg!r})")
        init_pid = msg.pid
        os.waitpid(pid, 0)
        pid = 0
        msg = early or channel.recv()
        if isinstance(msg, sync.Hooks):
            from skiff.runtime.hooks import run_hooks

            hook_state = {"ociVersion": OCI_VERSION, "id": container_id, "status": "creating",
                          "pid": init_pid, "bundle": bundle, "annotations": dict(spec.annotations)}
            # runc works in the bundle directory: its hooks start there
            run_hooks("prestart", spec.hooks.get("prestart"), hook_state, cwd=bundle)
            run_hooks("createRuntime", spec.hooks.get("createRuntime"), hook_state, cwd=bundle)
            channel.send(sync.Resume())
            msg = channel.recv()
        if isinstance(msg, sync.Error):
            raise ContainerError(f"unable to start container process: {msg.message}")
        if not isinstance(msg, sync.Ready):
            raise ContainerError("container init exited before it was ready")
        return init_pid
    except BaseException:
        if init_pid:
            _kill_quietly(init_pid, SIGKILL)
        if pid:
            _kill_quietly(pid, SIGKILL)
            os.waitpid(pid, 0)
        raise
    finally:
        channel.close()


def write_id_maps(pid: int, spec: Spec) -> None:
    """``/proc/<pid>/{uid,gid}_map`` of the bootstrap that unshared its user namespace (we are its parent,
    in the parent namespace, with CAP_SETUID/CAP_SETGID: setgroups stays allowed, as with runc as root)."""
    assert spec.linux is not None
    for name, maps in (("uid_map", spec.linux.uid_mappings), ("gid_map", spec.linux.gid_mappings)):
        text = "".join(f"{inside} {outside} {size}\n" for inside, outside, size in maps)
        try:
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(text)
        except OSError as exc:
            raise ContainerError(f"failed to write {name}: {exc.strerror}") from None


def start(root: str, container_id: str) -> None:
    """Open exec.fifo for reading: the blocked init writes a byte and execs; then remove the fifo."""
    import select

    record = state.load(root, container_id)
    state.can_start(state.status(root, record))
    fifo = os.path.join(state.state_dir(root, container_id), state.FIFO)
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ContainerError("cannot start an already running container") from None
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        while not poller.poll(50):
            if not state.init_alive(record):
                raise ContainerError("cannot start a container that has stopped")
        data = os.read(fd, 1)
    finally:
        os.close(fd)
    if not data:
        raise ContainerError("cannot start an already running container")
    os.unlink(fifo)
    if record.hooks.get("poststart"):
        _run_recorded_hooks(root, record, "poststart")


def _run_recorded_hooks(root: str, record: ContainerRecord, phase: str) -> None:
    from skiff.oci.runtime import Hook
    from skiff.runtime.hooks import run_hooks

    hook_state = _state_dict(root, record)
    for key in ("rootfs", "created", "owner"):
        hook_state.pop(key, None)
    if not hook_state.get("pid"):
        hook_state.pop("pid", None)  # runc's hook state omits a zero pid
    # poststart starts in the bundle as runc's (which runs it from ``run``/``create`` in the bundle)
    cwd = record.bundle if phase == "poststart" else ""
    run_hooks(phase, [Hook.from_dict(h) for h in record.hooks.get(phase, [])], hook_state, cwd=cwd)


def oci_state(root: str, container_id: str) -> dict[str, object]:
    record = state.load(root, container_id)
    return _state_dict(root, record)


def _state_dict(root: str, record: ContainerRecord, owner: str = "") -> dict[str, object]:
    status = state.status(root, record)
    out: dict[str, object] = {
        "ociVersion": OCI_VERSION, "id": record.id,
        "pid": 0 if status == Status.STOPPED else record.pid, "status": status,
        "bundle": record.bundle, "rootfs": record.rootfs, "created": record.created, "owner": owner,
    }
    if record.annotations:
        out["annotations"] = record.annotations
    return out


def list_states(root: str) -> list[dict[str, object]]:
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        try:
            out.append(_state_dict(root, state.load(root, name), owner="root"))
        except ContainerError:
            continue
    return out


def parse_signal(raw: str) -> int:
    """runc's rules: a number, or a name with or without ``SIG`` in any case."""
    if raw.isdigit():
        return int(raw)
    name = raw.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return SIGNALS[name]
    except KeyError:
        raise ContainerError(f'unknown signal "{raw}"') from None


def kill(root: str, container_id: str, sig: int, all_processes: bool = False) -> None:
    record = state.load(root, container_id)
    state.can_kill(state.status(root, record))
    if all_processes and record.cgroup_paths:
        for pid in _cgroups(record).pids():
            _kill_quietly(pid, sig)
        return
    try:
        os.kill(record.pid, sig)
    except ProcessLookupError:
        raise ContainerError("container not running") from None


def delete(root: str, container_id: str, force: bool = False) -> None:
    try:
        record = state.load(root, container_id)
    except ContainerError:
        if force:
            _remove_dir(state.state_dir(root, container_id))
            return
        raise
    status = state.status(root, record)
    state.can_delete(container_id, status, force)
    destroy(root, record)
    if record.hooks.get("poststop"):
        try:
            _run_recorded_hooks(root, record, "poststop")
        except ContainerError as exc:  # runc only warns: the container is gone either way
            os.write(2, f"skiff-runc: warning: {exc}\n".encode())


def destroy(root: str, record: ContainerRecord) -> None:
    """SIGKILL what is left (init, then the cgroup's processes); remove the cgroups and the state dir."""
    if record.cgroup_paths and state.frozen(record.cgroup_paths):  # paused: SIGKILL pends until thawed
        from skiff.runtime.cgroups import resources

        for pid in _cgroups(record).pids():
            _kill_quietly(pid, SIGKILL)
        resources.freeze(record.cgroup_paths, False)
    if state.init_alive(record):
        _kill_quietly(record.pid, SIGKILL)
        _wait_gone(record.pid, record.start_time)
    if record.cgroup_paths:
        cgroups = _cgroups(record)
        for pid in cgroups.pids():
            _kill_quietly(pid, SIGKILL)
        try:
            cgroups.destroy()
        except OSError as exc:
            raise ContainerError(str(exc)) from None
    _remove_dir(state.state_dir(root, record.id))


def _cgroups(record: ContainerRecord) -> Cgroups:
    from skiff.runtime.cgroups.v1 import V1Cgroups

    return V1Cgroups(record.cgroup_paths)


def _kill_quietly(pid: int, sig: int) -> None:
    try:  # noqa: SIM105 - contextlib costs start-up time
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, start_time: int | None, timeout: float = 10.0) -> None:
    """Poll /proc until the pid is gone or a zombie (its reaper is the shim, not us)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = state.pid_start_time(pid)
        if current is None or (start_time is not None and current != start_time):
            return
        time.sleep(0.002)
    raise ContainerError(f"process {pid} did not exit after SIGKILL")


def _remove_dir(directory: str) -> None:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        try:  # noqa: SIM105 - contextlib costs start-up time
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass
    try:  # noqa: SIM105
        os.rmdir(directory)
    except FileNotFoundError:
        pass
