"""Invoking the OCI runtime (runc's command line) and turning its failures into errdefs errors.

Runtime commands are short and run synchronously: the shim serves a single container, the runtime returns
as soon as the init is set up (create) or signalled (start, kill), and running them inline keeps one thread
and no child-watcher races with the shim's own ``waitpid(-1)`` reaper, which only runs between requests.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # not signal: its enums cost every shim ~0.5 MB
import os
import select

from skiff import errdefs
from skiff.shim import codec

# Python ignores these two; the container must not inherit that
_RESTORE_SIGNALS = (_signal.SIGPIPE, _signal.SIGXFSZ)


def spawn(path: str, argv: list[str], stdio: tuple[int, int, int]) -> int:
    """fork + exec with ``stdio`` as fds 0-2, default signal dispositions and an empty signal mask.

    Not ``os.posix_spawn``: glibc's makes the child *ignore* its internal signals 32 and 33, and that
    SIG_IGN survives runc's exec into the container (Docker's containers ignore nothing). After a plain
    fork the child's handlers are reset by exec. Exec failures come back through a close-on-exec pipe.
    """
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child execs or exits
        try:
            for target, fd in enumerate(stdio):
                if fd == target:
                    os.set_inheritable(fd, True)
                else:
                    os.dup2(fd, target)
            for sig in _RESTORE_SIGNALS:
                _signal.signal(sig, _signal.SIG_DFL)
            _signal.pthread_sigmask(_signal.SIG_SETMASK, ())
            os.execve(path, argv, os.environ)
        except OSError as err:
            os.write(err_w, str(err.errno).encode())
        finally:
            os._exit(127)
    os.close(err_w)
    try:
        failed = os.read(err_r, 32)
    finally:
        os.close(err_r)
    if failed:
        os.waitpid(pid, 0)
        errno = int(failed)
        raise OSError(errno, os.strerror(errno), path)
    return pid


def own_runtime(path: str) -> bool:
    """Is ``path`` this installation's skiff-runc? Then its verbs can run in a forked child of the shim
    (``fork_call``) instead of a new interpreter: no Python start-up, site or imports (SKIFF_RUNTIME_FORK=0
    turns that off). Any other runtime (runc, crun, a wrapper) is exec'd as always."""
    if os.environ.get("SKIFF_RUNTIME_FORK", "1") == "0":
        return False
    import sys

    try:
        return os.path.samefile(path, os.path.join(os.path.dirname(sys.executable), "skiff-runc"))
    except OSError:
        return False


# what ``skiff-runc exec`` imports: loaded into the shim at its first exec, so each later exec's forked child
# has nothing left to import (a shim that never execs never pays for them)
_EXEC_MODULES = ("skiff.runtime.cli", "skiff.runtime.execute", "skiff.runtime.seccomp", "skiff.runtime.init",
                 "skiff.runtime.syscalls.linux", "skiff.runtime.cgroups.v1", "skiff.oci.runtime")


def preload_exec() -> None:
    import importlib

    for name in _EXEC_MODULES:
        try:  # noqa: SIM105 - contextlib would cost every shim its imports
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - a module renamed by the runtime's owners: just slower
            pass


def fork_call(argv: list[str], stdio: tuple[int, int, int]) -> int:
    """fork; the child is ``skiff-runc argv[1:]`` as ``spawn`` would exec it: ``stdio`` as fds 0-2, every
    other fd closed (what exec's close-on-exec did), default signal dispositions, an empty mask, then the
    runtime's ``main`` and ``_exit`` with its status (no atexit, no buffers of the shim flushed twice)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child exits
        code = 1
        try:
            for target, fd in enumerate(stdio):
                if fd != target:
                    os.dup2(fd, target)
            os.closerange(3, 1 << 16)
            _signal.set_wakeup_fd(-1)
            for sig in (*_RESTORE_SIGNALS, _signal.SIGCHLD, _signal.SIGINT, _signal.SIGTERM):
                _signal.signal(sig, _signal.SIG_DFL)
            _signal.pthread_sigmask(_signal.SIG_SETMASK, ())
            import sys

            # fresh text streams on the new fds 1-2 (the shim's objects may hold buffers or be replaced)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            from skiff.runtime.cli import main

            code = main(argv[1:])
        except BaseException as exc:  # the runtime's own errors are logged by main; this is a bug
            os.write(2, f"{os.path.basename(argv[0])}: {exc!r}\n".encode())
        finally:
            import sys

            for stream in (sys.stdout, sys.stderr):
                try:
                    if stream is not None:
                        stream.flush()
                except Exception:
                    pass
            os._exit(code if isinstance(code, int) else 1)
    return pid


def _kind_for(message: str) -> type[errdefs.SkiffError]:
    low = message.lower()
    # about the container's runtime state, not a missing executable inside it (that one stays Unknown)
    if "container does not exist" in low or (low.startswith("container") and "not found" in low):
        return errdefs.NotFound
    if "not running" in low or "not stopped" in low:
        return errdefs.FailedPrecondition
    if "already exists" in low:
        return errdefs.AlreadyExists
    return errdefs.Unknown


class Runtime:
    """One container's runtime commands:
    ``<runtime> [--root R] --log <bundle>/runtime.log --log-format json VERB ...``.
    """

    def __init__(self, path: str, root: str | None, bundle: str, container_id: str) -> None:
        self.path = path
        self.root = root
        self.bundle = bundle
        self.id = container_id
        self.log = os.path.join(bundle, "runtime.log")
        self.forks = own_runtime(path)  # exec runs skiff-runc in a forked child (see fork_call)

    def argv(self, *args: str) -> list[str]:
        head = [self.path]
        if self.root:
            head += ["--root", self.root]
        return [*head, "--log", self.log, "--log-format", "json", *args]

    def _spawn(self, args: list[str], stdout: int, stderr: int, stdin: int = -1) -> int:
        devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC) if stdin < 0 else -1
        stdio = (stdin if stdin >= 0 else devnull, stdout, stderr)
        try:
            if args[0] == "exec" and self.forks:
                preload_exec()
                return fork_call(self.argv(*args), stdio)
            return spawn(self.path, self.argv(*args), stdio)
        except OSError as err:
            raise errdefs.FailedPrecondition(f"cannot execute runtime {self.path}: {err.strerror}") from err
        finally:
            if devnull >= 0:
                os.close(devnull)

    def _log_offset(self) -> int:
        try:
            return os.stat(self.log).st_size
        except FileNotFoundError:
            return 0

    def _error_from_log(self, offset: int) -> str:
        """The last ``{"level":"error","msg":...}`` logged since ``offset`` (containerd-shim's rule)."""
        message = ""
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                for raw in f:
                    try:
                        entry = codec.loads(raw)
                    except ValueError:
                        continue
                    if isinstance(entry, dict) and entry.get("level") == "error" and entry.get("msg"):
                        message = str(entry["msg"])
        except OSError:
            pass
        return message

    def _fail(self, verb: str, status: int, offset: int, stderr: bytes) -> errdefs.SkiffError:
        message = self._error_from_log(offset) or stderr.decode("utf-8", "replace").strip()
        if not message:
            message = f"{os.path.basename(self.path)} {verb} failed: exit status {status}"
        return _kind_for(message)(message)

    def run(self, *args: str) -> bytes:
        """Run a runtime command with stdout and stderr captured; returns stdout or raises its error."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        offset = self._log_offset()
        try:
            pid = self._spawn(list(args), out_w, err_w)
        finally:
            os.close(out_w)
            os.close(err_w)
        try:
            out, err = _read_both(out_r, err_r)
        finally:
            os.close(out_r)
            os.close(err_r)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status != 0:
            raise self._fail(args[0], status, offset, err)
        return out

    def create(self, pid_file: str, stdout: int, stderr: int, stderr_reader: int, stdin: int = -1,
               console_socket: str = "") -> None:
        """``create --bundle --pid-file``: the init's stdio is ours to give, stdin is /dev/null unless given.

        ``stderr_reader`` is the shim's end of the stderr pipe: if the runtime fails without logging an error,
        whatever it printed there is the message.
        """
        args = ["create", "--bundle", self.bundle, "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        self._run_setup("create", [*args, self.id], stdout, stderr, stderr_reader, stdin)

    def exec(self, process_file: str, pid_file: str, stdout: int, stderr: int, stderr_reader: int,
             stdin: int = -1, console_socket: str = "") -> None:
        """``exec --detach --process --pid-file``: the exec'd process is reparented to us (subreaper)."""
        args = ["exec", "--detach", "--process", process_file, "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        self._run_setup("exec", [*args, self.id], stdout, stderr, stderr_reader, stdin)

    def _run_setup(self, verb: str, args: list[str], stdout: int, stderr: int, stderr_reader: int,
                   stdin: int) -> None:
        offset = self._log_offset()
        pid = self._spawn(args, stdout, stderr, stdin)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status != 0:
            os.set_blocking(stderr_reader, False)
            try:
                printed = os.read(stderr_reader, 65536)
            except BlockingIOError:
                printed = b""
            raise self._fail(verb, status, offset, printed)

    def start(self) -> None:
        self.run("start", self.id)

    def kill(self, sig: int, all_: bool = False) -> None:
        self.run("kill", *(["--all"] if all_ else []), self.id, str(sig))

    def pause(self) -> None:
        self.run("pause", self.id)

    def resume(self) -> None:
        self.run("resume", self.id)

    def delete(self, force: bool = False) -> None:
        self.run("delete", *(["--force"] if force else []), self.id)

    def update(self, resources_file: str) -> None:
        """``update -r FILE``: the OCI ``linux.resources`` in FILE applied to the running container."""
        self.run("update", "-r", resources_file, self.id)


def _read_both(out_r: int, err_r: int) -> tuple[bytes, bytes]:
    """Read two pipes to EOF without deadlocking on either."""
    bufs: dict[int, bytearray] = {out_r: bytearray(), err_r: bytearray()}
    poller = select.poll()
    for fd in bufs:
        poller.register(fd, select.POLLIN)
    open_fds = len(bufs)
    while open_fds:
        for fd, _ in poller.poll():
            chunk = os.read(fd, 65536)
            if chunk:
                bufs[fd] += chunk
            else:
                poller.unregister(fd)
                open_fds -= 1
    return bytes(bufs[out_r]), bytes(bufs[err_r])
