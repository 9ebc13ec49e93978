"""``skiff-runc``: runc's command line (one function per verb) over ``skiff.runtime.container``.

Errors exit 1. Like runc (logrus): without ``--log`` the error goes to stderr as a log line in
``--log-format``; with ``--log`` it is appended to that file as a log line (containerd's shim reads the
json form) and the plain message is printed on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

from skiff.runtime import container
from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

VERSION = "skiff-runc version 0.1.0\nspec: 1.0.2-dev"
DEFAULT_ROOT = "/run/skiff-runc"


class Logger:
    def __init__(self, path: str, fmt: str, debug: bool) -> None:
        self.path = path
        self.fmt = fmt
        self.debug_enabled = debug

    def _line(self, level: str, msg: str) -> str:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.fmt == "json":
            return json.dumps({"level": level, "msg": msg, "time": now}, separators=(",", ":")) + "\n"
        return f"time={json.dumps(now)} level={level} msg={json.dumps(msg)}\n"

    def _emit(self, line: str) -> None:
        if self.path:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        else:
            sys.stderr.write(line)

    def error(self, msg: str) -> None:
        self._emit(self._line("error", msg))
        if self.path:
            sys.stderr.write(msg + "\n")

    def debug(self, msg: str) -> None:
        if self.debug_enabled:
            self._emit(self._line("debug", msg))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ContainerError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="skiff-runc", add_help=True)
    p.add_argument("--root", default=DEFAULT_ROOT, help="state directory (default /run/skiff-runc)")
    p.add_argument("--log", default="", help="log file (json lines with --log-format json)")
    p.add_argument("--log-format", default="text", choices=("text", "json"))
    p.add_argument("--debug", action="store_true")
    p.add_argument("--systemd-cgroup", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--version", "-v", action="store_true")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def common_create(c: argparse.ArgumentParser) -> None:
        c.add_argument("--bundle", "-b", default=".")
        c.add_argument("--pid-file", default="")
        c.add_argument("--console-socket", default="")
        c.add_argument("--no-pivot", action="store_true", help=argparse.SUPPRESS)
        c.add_argument("--no-new-keyring", action="store_true", help=argparse.SUPPRESS)
        c.add_argument("--preserve-fds", type=int, default=0, help=argparse.SUPPRESS)
        c.add_argument("id")

    common_create(sub.add_parser("create", help="create a container (init blocks until start)"))
    run = sub.add_parser("run", help="create and start a container")
    common_create(run)
    run.add_argument("--detach", "-d", action="store_true")
    sub.add_parser("start", help="start a created container").add_argument("id")
    sub.add_parser("state", help="print the OCI state").add_argument("id")
    k = sub.add_parser("kill", help="signal the container init")
    k.add_argument("--all", "-a", action="store_true")
    k.add_argument("id")
    k.add_argument("signal", nargs="?", default="SIGTERM")
    d = sub.add_parser("delete", help="delete a container")
    d.add_argument("--force", "-f", action="store_true")
    d.add_argument("id")
    ls = sub.add_parser("list", help="list containers")
    ls.add_argument("--format", "-f", default="table", choices=("table", "json"))
    ls.add_argument("--quiet", "-q", action="store_true")
    return p


def cmd_create(a: argparse.Namespace) -> int:
    container.create(a.root, a.id, a.bundle, a.pid_file)
    return 0


def cmd_start(a: argparse.Namespace) -> int:
    container.start(a.root, a.id)
    return 0


def cmd_state(a: argparse.Namespace) -> int:
    sys.stdout.write(json.dumps(container.oci_state(a.root, a.id), indent=2))
    sys.stdout.flush()
    return 0


def cmd_kill(a: argparse.Namespace) -> int:
    container.kill(a.root, a.id, container.parse_signal(a.signal), a.all)
    return 0


def cmd_delete(a: argparse.Namespace) -> int:
    container.delete(a.root, a.id, a.force)
    return 0


def cmd_list(a: argparse.Namespace) -> int:
    states = container.list_states(a.root)
    if a.quiet:
        sys.stdout.write("".join(f"{s['id']}\n" for s in states))
    elif a.format == "json":
        sys.stdout.write(json.dumps(states or None, separators=(",", ":")) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(str(s["id"]), str(s["pid"]), str(s["status"]), str(s["bundle"]), str(s["created"]), "root")
                 for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            sys.stdout.write("".join(f"{cell:<{max(w + 3, 12)}}" for cell, w in zip(r, widths, strict=True))
                             .rstrip() + "\n")
    return 0


def cmd_run(a: argparse.Namespace) -> int:
    """create + start; without --detach, wait for the init (we are its subreaper) and return its status."""
    if not a.detach:
        from skiff.runtime.syscalls.linux import LinuxSyscalls

        LinuxSyscalls().prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: the init is reparented to us
    record = container.create(a.root, a.id, a.bundle, a.pid_file)
    try:
        container.start(a.root, a.id)
    except BaseException:
        container.delete(a.root, a.id, force=True)
        raise
    if a.detach:
        return 0
    return _wait_and_delete(a.root, a.id, record.pid)


def _wait_and_delete(root: str, container_id: str, init_pid: int) -> int:
    import signal

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(init_pid, signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    code = 255
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid == init_pid:
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code
            break
    container.delete(root, container_id, force=True)
    return code


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "create": cmd_create, "start": cmd_start, "state": cmd_state, "kill": cmd_kill,
    "delete": cmd_delete, "list": cmd_list, "run": cmd_run,
}


def _peek_log_options(argv: Sequence[str]) -> Logger:
    """Find --log/--log-format before full parsing, so even usage errors are logged where runc logs them."""
    path, fmt, debug = "", "text", False
    it = iter(argv)
    for arg in it:
        if arg in ("--log", "-log"):
            path = next(it, "")
        elif arg.startswith(("--log=", "-log=")):
            path = arg.split("=", 1)[1]
        elif arg in ("--log-format", "-log-format"):
            fmt = next(it, "text")
        elif arg.startswith(("--log-format=", "-log-format=")):
            fmt = arg.split("=", 1)[1]
        elif arg == "--debug":
            debug = True
    return Logger(path, fmt, debug)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    log = _peek_log_options(args_list)
    try:
        args = build_parser().parse_args(args_list)
        if args.version:
            print(VERSION)
            return 0
        if not args.command:
            build_parser().print_help()
            return 0
        log.debug(f"skiff-runc {' '.join(args_list)}")
        return COMMANDS[args.command](args)
    except ContainerError as exc:
        log.error(_prefix(args_list, str(exc)))
        return 1
    except OSError as exc:
        log.error(_prefix(args_list, str(exc)))
        return 1


def _prefix(argv: Sequence[str], message: str) -> str:
    """runc prefixes create/run failures with ``runc create failed: ``; we say skiff-runc."""
    verbs = [a for a in argv if a in ("create", "run")]
    if verbs and not message.startswith(("container with id exists", "invalid container ID")):
        return f"skiff-runc {verbs[0]} failed: {message}"
    if verbs and message.startswith("invalid container ID"):
        return f"skiff-runc {verbs[0]} failed: {message}"
    return message


if __name__ == "__main__":
    raise SystemExit(main())
