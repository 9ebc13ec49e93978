"""``skiff-runc exec``: run a process inside a running container, as runc does.

    exec --fork--> bootstrap: waits until it is in the container's cgroups, opens /proc/<init>/ns/*, setns
                   into each (user first, mount last), forks the process (so it lands in the pid namespace)
                   and exits, which reparents the process to the caller's subreaper (the shim)
    process: pty (--console-socket), rlimits, no_new_privs, seccomp, capabilities, user, cwd; ``ready``;
             execve.

After the mount namespace is joined the host's stdlib is out of reach, so everything the process needs is
imported before the fork (``init`` and, for a terminal, ``console``).
"""

from __future__ import annotations

import os

from skiff.runtime import init, jsonfast, state, sync
from skiff.runtime.errors import ContainerError
from skiff.runtime.state import Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from skiff.oci.runtime import Process
    from skiff.runtime.seccomp import SeccompFilter
    from skiff.runtime.syscalls.protocol import Syscalls

# /proc/<pid>/ns name -> namespaces.JOIN_ORDER name
NS_FILES = (("user", "user"), ("ipc", "ipc"), ("uts", "uts"), ("net", "network"), ("pid", "pid"),
            ("cgroup", "cgroup"), ("mnt", "mount"))


class Overrides:
    """The command-line flags that change the container's process (runc exec without --process)."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self.cwd = ""
        self.env: list[str] = []
        self.user = ""
        self.tty = False
        self.no_new_privs = False
        self.caps: list[str] = []


def process_from(bundle: str, process_file: str, ov: Overrides) -> dict[str, object]:
    """The OCI process to run: ``--process`` as given, else the container's with the flags applied."""
    if process_file:
        try:
            with open(process_file, "rb") as f:
                proc = jsonfast.loads(f.read())
        except OSError as exc:
            raise ContainerError(f"open {process_file}: {exc.strerror}") from None
        except ValueError as exc:
            raise ContainerError(f"invalid process json: {exc}") from None
        if not isinstance(proc, dict):
            raise ContainerError("invalid process json: not an object")
        return proc
    with open(os.path.join(bundle, "config.json"), "rb") as f:
        config = jsonfast.loads(f.read())
    proc = dict(config.get("process") or {})
    if not ov.args:
        raise ContainerError("exec: a command is required (--process or arguments)")
    proc["args"] = list(ov.args)
    proc["terminal"] = ov.tty
    if ov.cwd:
        proc["cwd"] = ov.cwd
    if ov.env:
        proc["env"] = [*(proc.get("env") or []), *ov.env]
    if ov.user:
        uid, _, gid = ov.user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            raise ContainerError(f"invalid --user {ov.user!r}: want UID[:GID]")
        proc["user"] = {"uid": int(uid), "gid": int(gid or 0)}
    if ov.no_new_privs:
        proc["noNewPrivileges"] = True
    if ov.caps:
        caps = dict(proc.get("capabilities") or {})
        for kind in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            caps[kind] = [*(caps.get(kind) or []), *ov.caps]
        proc["capabilities"] = caps
    return proc


def execute(root: str, container_id: str, proc_dict: dict[str, object], detach: bool, pid_file: str,
            preserve_fds: int = 0) -> int:
    """Start the process; with ``detach`` return 0 once it runs, else wait and return its exit code."""
    from skiff.oci.runtime import Process, Spec

    record = state.load(root, container_id)
    status = state.status(root, record)
    if status != Status.RUNNING:
        raise ContainerError(f"cannot exec in a {status} container")
    proc_dict.setdefault("cwd", "/")
    process = Process.from_dict(proc_dict)
    if not process.args:
        raise ContainerError("args must not be empty")
    if process.terminal:
        from skiff.runtime import console

        if console.SOCKET_FD < 0:
            raise ContainerError("cannot allocate tty if runc will detach without setting console socket")
    seccomp = None
    try:
        with open(os.path.join(record.bundle, "config.json"), "rb") as f:
            spec = Spec.from_dict(jsonfast.loads(f.read()))
        if spec.linux is not None and spec.linux.seccomp is not None:
            from skiff.runtime.seccomp import SeccompFilter

            seccomp = SeccompFilter(spec.linux.seccomp)
    except (OSError, ValueError):
        pass
    from skiff.runtime.syscalls.linux import LinuxSyscalls

    sys = LinuxSyscalls()
    if not detach:
        sys.prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: the process is reparented to us when the bootstrap exits
    pid = _spawn(record, process, sys, seccomp, preserve_fds)
    if pid_file:
        state.atomic_write(os.path.abspath(pid_file), str(pid), sync=False)
    if detach:
        return 0
    return _wait(pid)


def _spawn(record: state.ContainerRecord, process: Process, sys: Syscalls, seccomp: SeccompFilter | None,
           preserve_fds: int) -> int:
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(to_child_w)
        os.close(from_child_r)
        _bootstrap(record.pid, process, sync.Channel(to_child_r, from_child_w), sys, seccomp, preserve_fds)
    os.close(to_child_r)
    os.close(from_child_w)
    channel = sync.Channel(from_child_r, to_child_w)
    proc_pid = 0
    try:
        if record.cgroup_paths:
            from skiff.runtime.cgroups.v1 import V1Cgroups

            V1Cgroups(record.cgroup_paths).add(pid)
        channel.send(sync.CgroupsReady())
        # the bootstrap's InitPid and the process's Ready share the pipe and may come in either order
        ready = False
        while not (proc_pid and ready):
            msg = channel.recv()
            if isinstance(msg, sync.Error):
                raise ContainerError(f"exec failed: unable to start container process: {msg.message}")
            if isinstance(msg, sync.InitPid) and not proc_pid:
                proc_pid = msg.pid
                os.waitpid(pid, 0)
                pid = 0
            elif isinstance(msg, sync.Ready) and not ready:
                ready = True
            elif msg is None:
                raise ContainerError("exec: the process exited before it was ready")
            else:
                raise ContainerError(f"exec bootstrap failed (sync message {msg!r})")
        return proc_pid
    except BaseException:
        if pid:
            _kill(pid)
            os.waitpid(pid, 0)
        if proc_pid:
            _kill(proc_pid)
        raise
    finally:
        channel.close()


def _kill(pid: int) -> None:
    try:  # noqa: SIM105 - contextlib costs start-up time
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def _bootstrap(init_pid: int, process: Process, channel: sync.Channel, sys: Syscalls,
               seccomp: SeccompFilter | None, preserve_fds: int) -> None:
    """Child of exec: never returns."""
    from skiff.runtime import namespaces

    status = 1
    try:
        if channel.recv() != sync.CgroupsReady():
            raise ContainerError("exec bootstrap: unexpected sync message")
        fds = []
        for name, kind in NS_FILES:
            theirs, ours = f"/proc/{init_pid}/ns/{name}", f"/proc/self/ns/{name}"
            try:
                if os.stat(theirs).st_ino == os.stat(ours).st_ino:
                    continue  # shared with the host (or not supported): nothing to join
                fds.append((kind, os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)))
            except FileNotFoundError:
                continue
        for kind, fd in fds:  # already in JOIN_ORDER
            try:
                sys.setns(fd, namespaces.flag(kind))
            except OSError as exc:
                raise ContainerError(f"failed to join {kind} namespace: {exc.strerror}") from None
            finally:
                os.close(fd)
        pid = os.fork()
        if pid == 0:
            _process(process, channel, sys, seccomp, preserve_fds)  # never returns
        channel.send(sync.InitPid(pid))
        status = 0
    except BaseException as exc:
        init._report(channel, exc)
    finally:
        os._exit(status)


def _process(process: Process, channel: sync.Channel, sys: Syscalls, seccomp: SeccompFilter | None,
             preserve_fds: int) -> None:
    """The exec'd process until it execs: never returns."""
    try:
        if process.terminal:
            from skiff.runtime import console

            console.setup(process.user.uid, process.user.gid)
        if process.oom_score_adj is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(process.oom_score_adj))
        init.set_rlimits(process)
        if process.no_new_privileges:
            sys.prctl(init.PR_SET_NO_NEW_PRIVS, 1)
        elif seccomp is not None:
            seccomp.load()
        caps = process.capabilities
        if caps is not None:
            init.drop_bounding(caps, sys)
        sys.prctl(init.PR_SET_KEEPCAPS, 1)
        init.set_user(process)
        sys.prctl(init.PR_SET_KEEPCAPS, 0)
        if caps is not None:
            init.apply_caps(caps, sys)
        try:
            os.chdir(process.cwd)
        except OSError as exc:
            raise ContainerError(f"chdir to cwd ({process.cwd!r}) set in config.json failed: "
                                 f"{exc.strerror}") from None
        os.umask(process.user.umask if process.user.umask is not None else 0o022)
        env = process.env_map()
        path = init.lookpath(process.args[0], env.get("PATH", ""))
        sys.reset_signals(init.RESET_SIGNALS)
        channel.send(sync.Ready())
        channel.close()
        init.close_fds(3 + preserve_fds)
        if seccomp is not None and process.no_new_privileges:
            seccomp.load()
    except BaseException as exc:
        if channel.wfd >= 0:
            init._report(channel, exc)
        os._exit(1)
    try:
        os.execve(path, list(process.args), env)
    except OSError as exc:
        os.write(2, f"skiff-runc: exec {process.args[0]}: {exc.strerror}\n".encode())
        os._exit(127 if exc.errno == 2 else 126)


def _wait(pid: int) -> int:
    """Forward signals to the process, reap until it exits; its code, or 128+signal."""
    import signal

    def forward(signum: int, _frame: object) -> None:
        try:  # noqa: SIM105
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    while True:
        try:
            got, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if got == pid:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code
