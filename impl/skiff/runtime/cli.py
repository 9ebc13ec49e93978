"""``skiff-runc``: runc's command line (one function per verb) over ``skiff.runtime.container``.

Flags are parsed by a small table-driven parser rather than argparse, which with gettext, locale and
shutil costs ~7 ms per invocation. Like runc (urfave/cli) both ``--flag`` and ``-flag``, and
``--flag=value``, are accepted; global flags come before the command.

Errors exit 1. Like runc (logrus): without ``--log`` the error goes to stderr as a log line in
``--log-format``; with ``--log`` it is appended to that file as a log line (containerd's shim reads the
json form) and the plain message is printed on stderr.
"""

from __future__ import annotations

import os
import sys
import time

from skiff.runtime import container, errors, jsonfast, state
from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

VERSION = "skiff-runc version 0.1.0\nspec: 1.0.2-dev"
DEFAULT_ROOT = "/run/skiff-runc"
USAGE = """usage: skiff-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND

commands:
  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] ID
  run [--bundle DIR] [--pid-file FILE] [--detach] ID
  exec [--process FILE] [--detach] [--pid-file FILE] [--console-socket SOCKET] [--tty] [--cwd DIR]
       [--env K=V]... [--user UID[:GID]] [--cap CAP]... [--no-new-privs] ID [COMMAND [ARG...]]
  start ID
  state ID
  kill [--all] ID [SIGNAL]
  delete [--force] ID
  list [--format table|json] [--quiet]
  pause ID, resume ID, ps [--format table|json] ID [PS ARGS], events [--stats] [--interval D] ID
  update [-r FILE|-] [--memory N] [--cpu-quota N] [--pids-limit N] ... ID, features
"""


class Args:
    """Parsed command line; attribute names follow the long flag names."""

    def __init__(self) -> None:
        self.root = DEFAULT_ROOT
        self.log = ""
        self.log_format = "text"
        self.debug = False
        self.version = False
        self.help = False
        self.command = ""
        self.id = ""
        self.bundle = "."
        self.pid_file = ""
        self.console_socket = ""
        self.preserve_fds = "0"
        self.detach = False
        self.all = False
        self.signal = "SIGTERM"
        self.force = False
        self.format = "table"
        self.quiet = False
        self.process = ""
        self.exec: Any = None  # execute.Overrides for ``exec``
        self.resources = ""
        self.stats = False
        self.interval = "5s"
        self.ps_args: list[str] = []


# flag -> attribute; value flags take an argument, bool flags do not
GLOBAL_VALUES = {"root": "root", "log": "log", "log-format": "log_format", "criu": "", "rootless": ""}
GLOBAL_BOOLS = {"debug": "debug", "systemd-cgroup": "", "version": "version", "v": "version", "help": "help",
                "h": "help"}
_CREATE_VALUES = {"bundle": "bundle", "b": "bundle", "pid-file": "pid_file",
                  "console-socket": "console_socket", "preserve-fds": "preserve_fds"}
_CREATE_BOOLS = {"no-pivot": "", "no-new-keyring": ""}
# command -> (value flags, bool flags, positional names, required positionals)
COMMAND_FLAGS: dict[str, tuple[dict[str, str], dict[str, str], tuple[str, ...], int]] = {
    "create": (_CREATE_VALUES, _CREATE_BOOLS, ("id",), 1),
    "run": (_CREATE_VALUES, {**_CREATE_BOOLS, "detach": "detach", "d": "detach"}, ("id",), 1),
    "start": ({}, {}, ("id",), 1),
    "state": ({}, {}, ("id",), 1),
    "kill": ({}, {"all": "all", "a": "all"}, ("id", "signal"), 1),
    "delete": ({}, {"force": "force", "f": "force"}, ("id",), 1),
    "list": ({"format": "format", "f": "format"}, {"quiet": "quiet", "q": "quiet"}, (), 0),
}
# the verbs of skiff.runtime.verbs (pause, resume, ps, update, events, features)
UPDATE_FLAGS = ("memory", "memory-swap", "memory-reservation", "kernel-memory", "cpu-shares", "cpu-period",
                "cpu-quota", "cpuset-cpus", "cpuset-mems", "pids-limit", "blkio-weight")
COMMAND_FLAGS.update({
    "pause": ({}, {}, ("id",), 1),
    "resume": ({}, {}, ("id",), 1),
    "ps": ({"format": "format", "f": "format"}, {}, ("id", "ps1", "ps2", "ps3", "ps4", "ps5"), 1),
    "update": ({"resources": "resources", "r": "resources", **{f: "upd_" + f for f in UPDATE_FLAGS}}, {},
               ("id",), 1),
    "events": ({"interval": "interval"}, {"stats": "stats"}, ("id",), 1),
    "features": ({}, {}, (), 0),
})
CHOICES = {"log_format": ("text", "json"), "format": ("table", "json")}


def parse(argv: Sequence[str]) -> Args:
    args = Args()
    rest = _parse_flags(list(argv), GLOBAL_VALUES, GLOBAL_BOOLS, args, stop_at_positional=True)
    if not rest:
        return args
    args.command, rest = rest[0], rest[1:]
    if args.command == "exec":
        _parse_exec(rest, args)
        return args
    if args.command not in COMMAND_FLAGS:
        raise ContainerError(f"unknown command {args.command!r}")
    values, bools, names, required = COMMAND_FLAGS[args.command]
    positionals = _parse_flags(rest, values, bools, args, stop_at_positional=False)
    if not required <= len(positionals) <= len(names):
        count = f"exactly {required}" if required == len(names) else f"between {required} and {len(names)}"
        raise ContainerError(f'skiff-runc: "{args.command}" requires {count} argument(s)')
    for name, value in zip(names, positionals, strict=False):
        setattr(args, name, value)
    return args


EXEC_VALUES = {"process": "process", "p": "process", "pid-file": "pid_file",
               "console-socket": "console_socket",
               "cwd": "cwd", "user": "user", "u": "user", "preserve-fds": "preserve_fds", "apparmor": "",
               "process-label": ""}
EXEC_LISTS = {"env": "env", "e": "env", "cap": "cap", "c": "cap", "additional-gids": "", "g": ""}
EXEC_BOOLS = {"detach": "detach", "d": "detach", "tty": "tty", "t": "tty", "no-new-privs": "no_new_privs",
              "no-subreaper": ""}


def _parse_exec(argv: list[str], args: Args) -> None:
    """``exec [flags] ID [COMMAND [ARG...]]``: flags end at the ID; the rest is the command."""
    from skiff.runtime.execute import Overrides

    ov = args.exec = Overrides()
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--" or not arg.startswith("-") or arg == "-":
            rest = argv[i:] if arg == "--" else [arg, *argv[i:]]
            if not rest:
                break
            args.id, ov.args = rest[0], rest[1:]
            return
        name, eq, inline = arg.lstrip("-").partition("=")
        if name in EXEC_BOOLS:
            if EXEC_BOOLS[name]:
                setattr(ov if hasattr(ov, EXEC_BOOLS[name]) else args, EXEC_BOOLS[name],
                        inline.lower() not in ("false", "0") if eq else True)
            continue
        if name not in EXEC_VALUES and name not in EXEC_LISTS:
            raise ContainerError(f"flag provided but not defined: {arg}")
        if eq:
            value = inline
        elif i < len(argv):
            value, i = argv[i], i + 1
        else:
            raise ContainerError(f"flag needs an argument: {arg}")
        if name in EXEC_LISTS:
            if EXEC_LISTS[name]:
                getattr(ov, EXEC_LISTS[name]).append(value)
        elif EXEC_VALUES[name] in ("process", "pid_file", "console_socket", "preserve_fds"):
            setattr(args, EXEC_VALUES[name], value)
        elif EXEC_VALUES[name]:
            setattr(ov, EXEC_VALUES[name], value)
    raise ContainerError('skiff-runc: "exec" requires a minimum of 1 argument(s)')


def _parse_flags(argv: list[str], values: dict[str, str], bools: dict[str, str], args: Args, *,
                 stop_at_positional: bool) -> list[str]:
    positionals: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positionals.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            if stop_at_positional:
                return [arg, *argv[i:]]
            positionals.append(arg)
            continue
        name, eq, inline = arg.lstrip("-").partition("=")
        if name in values:
            if eq:
                value = inline
            elif i < len(argv):
                value, i = argv[i], i + 1
            else:
                raise ContainerError(f"flag needs an argument: {arg}")
            attr = values[name]
            if attr:
                if attr in CHOICES and value not in CHOICES[attr]:
                    raise ContainerError(f"invalid value {value!r} for flag {arg}")
                setattr(args, attr, value)
        elif name in bools:
            if bools[name]:
                setattr(args, bools[name], inline.lower() not in ("false", "0") if eq else True)
        else:
            raise ContainerError(f"flag provided but not defined: {arg}")
    return positionals


class Logger:
    def __init__(self, path: str, fmt: str, debug: bool) -> None:
        self.path = path
        self.fmt = fmt
        self.debug_enabled = debug

    def _line(self, level: str, msg: str) -> str:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.fmt == "json":
            return jsonfast.dumps({"level": level, "msg": msg, "time": now}, compact=True) + "\n"
        return f"time={jsonfast.dumps(now)} level={level} msg={jsonfast.dumps(msg)}\n"

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

    def warning(self, msg: str) -> None:
        self._emit(self._line("warning", msg))

    def debug(self, msg: str) -> None:
        if self.debug_enabled:
            self._emit(self._line("debug", msg))


def _preserve_fds(a: Args) -> int:
    if not a.preserve_fds.isdigit():
        raise ContainerError(f"invalid value {a.preserve_fds!r} for flag --preserve-fds")
    return int(a.preserve_fds)


def cmd_create(a: Args) -> int:
    if a.console_socket:
        from skiff.runtime import console

        console.connect(a.console_socket)
    container.create(a.root, a.id, a.bundle, a.pid_file, preserve_fds=_preserve_fds(a))
    return 0


def cmd_exec(a: Args) -> int:
    from skiff.runtime import execute

    if a.console_socket:
        from skiff.runtime import console

        console.connect(a.console_socket)
    record = state.load(a.root, a.id)
    proc = execute.process_from(record.bundle, a.process, a.exec)
    return execute.execute(a.root, a.id, proc, a.detach, a.pid_file, _preserve_fds(a))


def cmd_start(a: Args) -> int:
    container.start(a.root, a.id)
    return 0


def cmd_state(a: Args) -> int:
    sys.stdout.write(jsonfast.dumps(container.oci_state(a.root, a.id), indent=2))
    sys.stdout.flush()
    return 0


def cmd_kill(a: Args) -> int:
    container.kill(a.root, a.id, container.parse_signal(a.signal), a.all)
    return 0


def cmd_delete(a: Args) -> int:
    container.delete(a.root, a.id, a.force)
    return 0


def cmd_list(a: Args) -> int:
    states = container.list_states(a.root)
    if a.quiet:
        sys.stdout.write("".join(f"{s['id']}\n" for s in states))
    elif a.format == "json":
        sys.stdout.write(jsonfast.dumps(states or None, compact=True) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(str(s["id"]), str(s["pid"]), str(s["status"]), str(s["bundle"]), str(s["created"]),
                  str(s["owner"])) for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            cells = (f"{cell:<{max(w + 3, 12)}}" for cell, w in zip(r, widths, strict=True))
            sys.stdout.write("".join(cells).rstrip() + "\n")
    return 0


def cmd_run(a: Args) -> int:
    """create + start; without --detach, wait for the init (we are its subreaper) and return its status."""
    if not a.detach:
        from skiff.runtime.syscalls.linux import LinuxSyscalls

        LinuxSyscalls().prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: the init is reparented to us
    record = container.create(a.root, a.id, a.bundle, a.pid_file, preserve_fds=_preserve_fds(a))
    try:
        container.start(a.root, a.id)
    except BaseException:
        container.delete(a.root, a.id, force=True)
        raise
    if a.detach:
        return 0
    return _wait_and_delete(a.root, a.id, record.pid)


def _wait_and_delete(root: str, container_id: str, init_pid: int) -> int:
    """Forward signals to the init, reap until it exits, delete the container, return 128+sig or the code."""
    import _signal  # type: ignore[import-not-found]  # the C module: ``signal`` imports enum (~5 ms)

    def forward(signum: int, _frame: object) -> None:
        try:  # noqa: SIM105
            os.kill(init_pid, signum)
        except ProcessLookupError:
            pass

    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"):
        _signal.signal(container.SIGNALS[name], forward)
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


def cmd_pause(a: Args) -> int:
    from skiff.runtime import verbs

    verbs.pause(a.root, a.id)
    return 0


def cmd_resume(a: Args) -> int:
    from skiff.runtime import verbs

    verbs.resume(a.root, a.id)
    return 0


def cmd_ps(a: Args) -> int:
    from skiff.runtime import verbs

    extra = [getattr(a, f"ps{i}", "") for i in range(1, 6)]
    verbs.ps(a.root, a.id, a.format, [x for x in extra if x])
    return 0


def cmd_update(a: Args) -> int:
    from skiff.runtime import verbs

    flags = {f: str(getattr(a, "upd_" + f)) for f in UPDATE_FLAGS if hasattr(a, "upd_" + f)}
    verbs.update(a.root, a.id, a.resources, flags)
    return 0


def cmd_events(a: Args) -> int:
    from skiff.runtime import verbs

    text = a.interval.strip()
    try:
        interval = float(text[:-2]) / 1000 if text.endswith("ms") else float(text.rstrip("s"))
    except ValueError:
        raise ContainerError(f"invalid value {a.interval!r} for flag --interval") from None
    verbs.events(a.root, a.id, a.stats, max(interval, 0.01))
    return 0


def cmd_features(a: Args) -> int:
    from skiff.runtime import verbs

    verbs.features()
    return 0


COMMANDS: dict[str, Callable[[Args], int]] = {
    "create": cmd_create, "start": cmd_start, "state": cmd_state, "kill": cmd_kill,
    "delete": cmd_delete, "list": cmd_list, "run": cmd_run, "exec": cmd_exec,
    "pause": cmd_pause, "resume": cmd_resume, "ps": cmd_ps, "update": cmd_update, "events": cmd_events,
    "features": cmd_features,
}


def _peek_log_options(argv: Sequence[str]) -> Logger:
    """Find --log/--log-format before parsing, so even usage errors are logged where runc logs them."""
    path, fmt, debug = "", "text", False
    it = iter(argv)
    for arg in it:
        name, eq, inline = arg.lstrip("-").partition("=")
        if not arg.startswith("-"):
            break
        if name == "log":
            path = inline if eq else next(it, "")
        elif name == "log-format":
            fmt = inline if eq else next(it, "text")
        elif name == "debug":
            debug = True
        elif name in GLOBAL_VALUES and not eq:
            next(it, "")
    return Logger(path, fmt, debug)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    log = _peek_log_options(args_list)
    errors.WARN[0] = log.warning
    try:
        args = parse(args_list)
        if args.version:
            sys.stdout.write(VERSION + "\n")
            return 0
        if args.help or not args.command:
            sys.stdout.write(USAGE)
            return 0
        log.debug(f"skiff-runc {' '.join(args_list)}")
        return COMMANDS[args.command](args)
    except (ContainerError, OSError) as exc:
        log.error(_prefix(args_list, str(exc)))
        return 1


def _prefix(argv: Sequence[str], message: str) -> str:
    """runc prefixes create/run failures with ``runc create failed: ``; we say skiff-runc."""
    verbs = [a for a in argv if a in ("create", "run")]
    if verbs and not message.startswith("container with id exists"):
        return f"skiff-runc {verbs[0]} failed: {message}"
    return message


if __name__ == "__main__":
    raise SystemExit(main())
