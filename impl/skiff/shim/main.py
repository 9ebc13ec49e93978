"""``skiff-shim --id ID --bundle DIR --runtime PATH [--runtime-root DIR] --log-path FILE start``.

``start`` daemonises like containerd's shims: fork, ``setsid``, fork again, so the shim is nobody's child and
survives its starter. The daemon makes itself child subreaper (so it inherits and reaps the container's init
once the runtime exits), binds ``<bundle>/shim.sock`` (0600), writes ``<bundle>/shim.pid`` and only then tells
the starting process, which prints the socket path and exits 0: by then the socket accepts connections.

``serve`` runs the same shim in the foreground (for debugging).

Arguments are parsed by hand: argparse costs ~8 ms of imports in a process started per container.
"""

from __future__ import annotations

import _socket  # not socket: it pulls in enum and selectors, ~1 MB of the daemon's memory
import os
import sys

from skiff.shim import unixsock

USAGE = ("usage: skiff-shim --id ID --bundle DIR --runtime PATH [--runtime-root DIR] --log-path FILE "
         "[start|serve]")
PR_SET_CHILD_SUBREAPER = 36
_FLAGS = {"--id": "id", "--bundle": "bundle", "--runtime": "runtime", "--runtime-root": "runtime_root",
          "--log-path": "log_path"}


class UsageError(Exception):
    pass


class ShimError(Exception):
    """A start failure, printed as ``<kind>: <message>`` for ``protocol.start_shim`` to rebuild."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")


def parse(argv: list[str]) -> tuple[dict[str, str], str]:
    opts: dict[str, str] = {}
    command = ""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name not in _FLAGS:
                raise UsageError(f"unknown flag {name}")
            if not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"flag {name} needs a value")
                value = argv[i]
            opts[_FLAGS[name]] = value
        elif command:
            raise UsageError(f"unexpected argument {arg!r}")
        else:
            command = arg
        i += 1
    for required in ("id", "bundle", "runtime", "log_path"):
        if not opts.get(required):
            raise UsageError(f"--{required.replace('_', '-')} is required")
    if command not in ("start", "serve"):
        raise UsageError(f"unknown command {command!r}" if command else "a command is required")
    opts["bundle"] = os.path.abspath(opts["bundle"])
    opts["runtime"] = _resolve(opts["runtime"])
    opts["log_path"] = os.path.abspath(opts["log_path"])
    return opts, command


def _resolve(runtime: str) -> str:
    """An absolute path for the runtime: the daemon runs in ``/`` and spawns it without a PATH search."""
    if "/" in runtime:
        return os.path.abspath(runtime)
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(d or ".", runtime)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return os.path.abspath(candidate)
    return runtime  # reported by create as a runtime that cannot be executed


def _socket_path(opts: dict[str, str]) -> str:
    return os.path.join(opts["bundle"], "shim.sock")


def _check_bundle(opts: dict[str, str]) -> None:
    if not os.path.isdir(opts["bundle"]):
        raise ShimError("NotFound", f"bundle {opts['bundle']} is not a directory")
    path = _socket_path(opts)
    if os.path.exists(path):
        probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            unixsock.connect(probe, path)
        except OSError:
            os.unlink(path)  # stale: its shim is gone
        else:
            raise ShimError("AlreadyExists", f"a shim is already serving {path}")
        finally:
            probe.close()


def _set_subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def _listen(path: str) -> _socket.socket:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        unixsock.bind(sock, path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    return sock


def _write_pid(bundle: str) -> None:
    path = os.path.join(bundle, "shim.pid")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(os.getpid()))
    os.rename(tmp, path)


def _detach_stdio(bundle: str) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(os.path.join(bundle, "shim.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)


def _prepare(opts: dict[str, str]) -> _socket.socket:
    """Everything that must hold before the shim reports ready."""
    os.umask(0o022)
    _set_subreaper()
    listener = _listen(_socket_path(opts))
    _write_pid(opts["bundle"])
    return listener


def _serve(opts: dict[str, str], listener: _socket.socket) -> None:
    from skiff.shim.loop import Loop
    from skiff.shim.process import unlink_quietly
    from skiff.shim.runc import Runtime
    from skiff.shim.service import Service

    loop = Loop()
    runtime = Runtime(opts["runtime"], opts.get("runtime_root"), opts["bundle"], opts["id"])
    service = Service(loop, opts["id"], opts["bundle"], runtime, opts["log_path"])
    service.serve(listener)
    try:
        loop.run()
    finally:
        for name in ("shim.sock", "shim.pid"):
            unlink_quietly(os.path.join(opts["bundle"], name))


def _daemon(opts: dict[str, str], ready_w: int) -> None:
    """The grandchild: the shim proper. Never returns."""
    code = 0
    try:
        os.chdir("/")
        _detach_stdio(opts["bundle"])
        try:
            listener = _prepare(opts)
        except OSError as err:
            os.write(ready_w, f"Unknown: cannot start shim: {err}".encode())
            os._exit(1)
        os.write(ready_w, b"ok")
        os.close(ready_w)
        print(f"skiff-shim {os.getpid()} serving {opts['id']}", file=sys.stderr, flush=True)
        _serve(opts, listener)
    except BaseException as err:  # the daemon has no caller left to raise to
        import traceback

        traceback.print_exc()
        code = 1 if not isinstance(err, SystemExit) else int(err.code or 0)
    finally:
        sys.stderr.flush()
    os._exit(code)


def start(opts: dict[str, str]) -> str:
    """Daemonise; return the socket path once the daemon's socket accepts connections."""
    _check_bundle(opts)
    ready_r, ready_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # intermediate: new session, fork the daemon, exit so the daemon is orphaned
        try:
            os.close(ready_r)
            os.setsid()
            if os.fork() == 0:
                _daemon(opts, ready_w)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.waitpid(pid, 0)
    chunks = []
    while chunk := os.read(ready_r, 4096):
        chunks.append(chunk)
    os.close(ready_r)
    status = b"".join(chunks).decode(errors="replace")
    if status != "ok":
        kind, _, message = status.partition(": ")
        raise ShimError(kind or "Unknown", message or "shim exited before it was ready")
    return _socket_path(opts)


def main(argv: list[str] | None = None) -> int:
    try:
        opts, command = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        print(f"skiff-shim: {err}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        if command == "start":
            sys.stdout.write(start(opts) + "\n")
            sys.stdout.flush()
            os._exit(0)  # skip interpreter teardown: the caller is waiting on this exit
        _check_bundle(opts)
        _serve(opts, _prepare(opts))
        return 0
    except ShimError as err:
        print(f"skiff-shim: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
