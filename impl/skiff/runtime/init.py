"""The processes ``create`` forks: the bootstrap (enters namespaces, forks the init) and the container init.

runc re-execs itself as ``runc init`` because a Go process is multi-threaded and namespaces/setns need a
single thread. The ``skiff-runc create`` Python process is single-threaded (it starts no threads), so a
plain ``fork`` from it is the equivalent of runc's re-exec'd init: the children run our code with the
parsed spec already in memory, and talk to ``create`` through the typed protocol in ``sync.py``.

    create --fork--> bootstrap: waits for ``cgroups``, setns/unshare, fork --> init (pid 1 in a new pid ns)
                     bootstrap sends ``init-pid`` and exits, so the init is reparented to the caller's
                     subreaper (the shim), as with runc.
    init: rootfs, pivot_root, hostname, sysctl, readonly/masked paths, rlimits, caps, user, cwd, finds the
          executable, sends ``ready`` and blocks opening exec.fifo for writing until ``start`` reads it,
          then execve's process.args.

Nothing may be imported lazily on the init's path after pivot_root: the host's Python stdlib is no
longer reachable from inside the container's root.
"""

from __future__ import annotations

import os
import resource  # every module the init needs is imported up front: after pivot_root the stdlib is gone

from skiff.runtime import hooks, namespaces, rootfs, sync
from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from skiff.oci.runtime import Capabilities, Process, Spec
    from skiff.runtime.seccomp import SeccompFilter
    from skiff.runtime.syscalls.protocol import Syscalls

PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2

CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
CAP_NUMBERS = {name: i for i, name in enumerate(CAPABILITIES)}
RESET_SIGNALS = (2, 13, 25)  # SIGINT, SIGPIPE, SIGXFSZ


class InitArgs:
    """What the forked children need; all of it was prepared by ``create`` before forking."""

    __slots__ = ("cgroup_mounts", "channel", "container_cgroups", "fifo_fd", "fifo_path", "hook_state",
                 "preserve_fds", "rootfs", "seccomp", "spec", "sys")

    def __init__(self, spec: Spec, rootfs: str, fifo_path: str, channel: sync.Channel, sys: Syscalls,
                 cgroup_mounts: dict[str, str], preserve_fds: int = 0,
                 seccomp: SeccompFilter | None = None,
                 container_cgroups: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.rootfs = rootfs
        self.fifo_path = fifo_path
        self.channel = channel
        self.sys = sys
        self.cgroup_mounts = cgroup_mounts  # hierarchy -> mountpoint
        # hierarchy -> the container's cgroup path in it, computed by create on the host: inside a new
        # cgroup namespace /proc/self/cgroup would only say "/"
        self.container_cgroups = container_cgroups or {}
        self.fifo_fd = -1
        self.preserve_fds = preserve_fds
        self.seccomp = seccomp
        # the OCI state the in-container hooks (createContainer, startContainer) get, without the pid
        self.hook_state: dict[str, object] = {}


def bootstrap(args: InitArgs) -> None:
    """Child of create: never returns."""
    status = 1
    try:
        msg = args.channel.recv()
        if msg != sync.CgroupsReady():
            raise ContainerError(f"bootstrap: unexpected sync message {msg!r}")
        linux = args.spec.linux

        def become_root_in_userns() -> None:
            """create writes our maps (it is in the parent user namespace); then uid 0 in ours."""
            args.channel.send(sync.Userns())
            if args.channel.recv() != sync.Mapped():
                raise ContainerError("bootstrap: user namespace mappings were not written")
            os.setresuid(0, 0, 0)

        process = args.spec.process
        if process is not None and process.oom_score_adj is not None:
            # before the user namespace, as runc's nsexec: inside it the file is no longer writable
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(process.oom_score_adj))
        flags = namespaces.enter(linux.namespaces if linux else (), args.sys, become_root_in_userns)
        if flags & namespaces.CLONE_FLAGS["user"]:
            # gid 0 only now: runc's new ipc namespace (its mqueue root) still has the unmapped gid
            os.setresgid(0, 0, 0)
        pid = os.fork()
        if pid == 0:
            container_init(args)  # never returns
        args.channel.send(sync.InitPid(pid))
        status = 0
    except BaseException as exc:  # report everything, then exit: this is a forked child
        _report(args.channel, exc)
    finally:
        os._exit(status)


def container_init(args: InitArgs) -> None:
    """pid 1 of the container until it execs: never returns."""
    try:
        path, argv, env = setup(args)
        args.channel.send(sync.Ready())
        args.channel.close()
        fd = os.open(f"/proc/self/fd/{args.fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
        os.write(fd, b"0")
        os.close(fd)
        close_fds(3 + args.preserve_fds)
        if args.seccomp is not None and args.spec.process and args.spec.process.no_new_privileges:
            args.seccomp.load()  # as late as possible, so the filter sees only the execve
        run_container_hooks(args, "startContainer", "created")
    except BaseException as exc:
        if args.channel.wfd >= 0:
            _report(args.channel, exc)
        os._exit(1)
    try:
        os.execve(path, argv, env)
    except OSError as exc:
        os.write(2, f"skiff-runc: exec {argv[0]}: {exc.strerror}\n".encode())
        os._exit(127 if exc.errno == 2 else 126)


def setup(args: InitArgs) -> tuple[str, list[str], dict[str, str]]:
    """The init's setup in runc's order; returns the resolved executable, argv and environment."""
    spec, sys = args.spec, args.sys
    process = spec.process
    if process is None:
        raise ContainerError("process must be set")
    # O_PATH keeps a handle on the fifo across pivot_root; it is reopened for writing via /proc/self/fd.
    # create opens it before forking (in a user namespace the state dir may not be reachable from here).
    if args.fifo_fd < 0:
        args.fifo_fd = os.open(args.fifo_path, os.O_PATH | os.O_CLOEXEC)
    linux = spec.linux
    net = linux.namespace("network") if linux is not None else None
    if net is not None and not net.path:
        sys.set_link_up("lo")
    if linux is not None and linux.namespace("mount") is not None:
        rootfs.prepare(spec, args.rootfs, sys, args.container_cgroups, args.cgroup_mounts)
        wait_for_hooks(args)
        os.chdir(args.rootfs)
        run_container_hooks(args, "createContainer", "creating")
        rootfs.pivot_root(args.rootfs, sys)
    else:
        rootfs.make_cwd(spec, args.rootfs)
        wait_for_hooks(args)
        os.chdir(args.rootfs)
        run_container_hooks(args, "createContainer", "creating")
        os.chroot(args.rootfs)
        os.chdir("/")
    uts = linux is not None and linux.namespace("uts") is not None
    if spec.hostname:
        if not uts:
            raise ContainerError("unable to set hostname without a private UTS namespace")
        sys.sethostname(spec.hostname)
    if spec.domainname:
        sys.setdomainname(spec.domainname)
    if linux is not None:
        for key, value in linux.sysctl:
            with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                f.write(value)
    rootfs.finalize(spec, sys)
    if process.terminal:
        from skiff.runtime import console  # imported by create before the fork

        console.setup(process.user.uid, process.user.gid)
    set_rlimits(process)
    if process.no_new_privileges:
        sys.prctl(PR_SET_NO_NEW_PRIVS, 1)
    elif args.seccomp is not None:
        args.seccomp.load()  # needs CAP_SYS_ADMIN without no_new_privs: before the capabilities go
    caps = process.capabilities
    if caps is not None:
        drop_bounding(caps, sys)
    sys.prctl(PR_SET_KEEPCAPS, 1)
    set_user(process)
    sys.prctl(PR_SET_KEEPCAPS, 0)
    if caps is not None:
        apply_caps(caps, sys)
    try:
        os.chdir(process.cwd)
    except OSError as exc:
        raise ContainerError(
            f"chdir to cwd ({process.cwd!r}) set in config.json failed: {exc.strerror}") from None
    os.umask(process.user.umask if process.user.umask is not None else 0o022)
    if not process.args:
        raise ContainerError("args must not be empty")
    env = process.env_map()
    if not env.get("HOME"):
        env["HOME"] = home_of(process.user.uid)
    path = lookpath(process.args[0], env.get("PATH", ""))
    # Python ignores SIGPIPE and SIGXFSZ; ignored dispositions survive execve, so restore the defaults
    sys.reset_signals(RESET_SIGNALS)
    return path, list(process.args), env


def wait_for_hooks(args: InitArgs) -> None:
    """Let create run the prestart/createRuntime hooks: mounts are set up, pivot_root not yet done."""
    if not (args.spec.hooks.get("prestart") or args.spec.hooks.get("createRuntime")):
        return
    args.channel.send(sync.Hooks())
    msg = args.channel.recv()
    if msg != sync.Resume():
        raise ContainerError(f"hooks failed (sync message {msg!r})")


def run_container_hooks(args: InitArgs, phase: str, status: str) -> None:
    """createContainer (mounts done, before pivot_root, cwd the rootfs) and startContainer (after start,
    just before execve): run by the init itself, in the container's namespaces, as runc does."""
    found = args.spec.hooks.get(phase)
    if found:
        hooks.run_hooks(phase, found, {**args.hook_state, "pid": os.getpid(), "status": status})


def home_of(uid: int) -> str:
    """runc sets HOME when the config does not: the user's home in the container's /etc/passwd, else /."""
    try:
        with open("/etc/passwd", errors="replace") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2] == str(uid):
                    return fields[5]
    except OSError:
        pass
    return "/"


def close_fds(first: int) -> None:
    """Mark fds from ``first`` up close-on-exec, like runc: no fd the caller leaked reaches the container."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= first:
            try:  # noqa: SIM105 - contextlib costs start-up time
                os.set_inheritable(fd, False)
            except OSError:  # the fd of the listdir itself, already closed
                pass


def lookpath(name: str, path_env: str) -> str:
    """Go's exec.LookPath with the container's PATH, with runc's error messages."""
    if "/" in name:
        err = _executable_error(name)
        if err:
            raise ContainerError(f"exec: {_quote(name)}: {err}")
        return name
    for directory in path_env.split(":"):
        candidate = os.path.join(directory or ".", name)
        if not _executable_error(candidate):
            return candidate
    raise ContainerError(f"exec: {_quote(name)}: executable file not found in $PATH")


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _executable_error(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"stat {path}: {exc.strerror.lower() if exc.strerror else exc}"
    if (st.st_mode & 0o170000) == 0o040000 or not st.st_mode & 0o111:
        return "permission denied"
    return ""


def set_rlimits(process: Process) -> None:
    for rl in process.rlimits:
        which = getattr(resource, rl.type, None)
        if which is None:
            raise ContainerError(f"unknown rlimit type {rl.type}")
        resource.setrlimit(which, (_rlim(rl.soft), _rlim(rl.hard)))


def _rlim(value: int) -> int:
    return -1 if value >= 2**64 - 1 else value


def set_user(process: Process) -> None:
    user = process.user
    os.setgroups(list(user.additional_gids))
    os.setgid(user.gid)
    os.setuid(user.uid)


def _mask(names: tuple[str, ...]) -> int:
    """The bits of the names this kernel knows; the others were warned about by create (runc ignores them)."""
    mask, top = 0, last_cap()
    for name in names:
        number = CAP_NUMBERS.get(name, top + 1)
        if number <= top:
            mask |= 1 << number
    return mask


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(CAPABILITIES) - 1


def drop_bounding(caps: Capabilities, sys: Syscalls) -> None:
    keep = _mask(caps.bounding)
    for cap in range(last_cap() + 1):
        if not keep & (1 << cap):
            sys.prctl(PR_CAPBSET_DROP, cap)


def apply_caps(caps: Capabilities, sys: Syscalls) -> None:
    try:
        sys.capset(_mask(caps.effective), _mask(caps.permitted), _mask(caps.inheritable))
    except OSError as exc:  # runc's wording, e.g. a capability this kernel does not know
        raise ContainerError(f"unable to apply caps: {os.strerror(exc.errno or 1).lower()}") from None
    for name in caps.ambient:
        bit = _mask((name,))
        if bit:
            sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, bit.bit_length() - 1)


def _report(channel: sync.Channel, exc: BaseException) -> None:
    message = str(exc) if isinstance(exc, ContainerError) else f"{type(exc).__name__}: {exc}"
    try:  # noqa: SIM105 - contextlib costs start-up time
        channel.send(sync.Error(message))
    except OSError:
        pass
