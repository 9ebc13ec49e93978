"""The shim's task service: one method per protocol verb, over one container's init process.

Everything runs on one thread in :class:`~skiff.shim.loop.Loop`: requests, the container's output and the
SIGCHLD reaper. As the child subreaper, the shim inherits the init once the runtime's ``create`` exits and
learns its exit status from ``waitpid``; exits of pids it does not know yet are remembered, in case the init
dies before the pid file is read.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # not signal: its enums cost every shim ~0.5 MB
import os
import sys

from skiff import errdefs
from skiff.shim import process, stdio, wire
from skiff.shim.io import Output
from skiff.shim.loop import Loop
from skiff.shim.oom import OomMonitor
from skiff.shim.runc import Runtime
from skiff.shim.server import DEFERRED, NO_REPLY, Connection, Server, reap_all

TYPE_CHECKING = False  # typing costs ~8 ms of imports at run time; annotations only need it for mypy
if TYPE_CHECKING:
    from typing import Any

    from skiff.shim import execs  # at run time imported by the first exec: most containers never have one

MAX_ORPHANS = 64
_EXEC_RUNNING = "running"  # execs.RUNNING, without importing execs


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise errdefs.InvalidArgument(f"{name} must be a boolean")
    return value


class Service:
    def __init__(self, loop: Loop, container_id: str, bundle: str, runtime: Runtime, log_path: str) -> None:
        self.loop = loop
        self.bundle = bundle
        self.runtime = runtime
        self.init = process.Init(container_id, bundle)
        self.output = Output(loop, log_path, self._release_waiters)
        self.server: Server | None = None
        self._waiters: list[Connection] = []
        self._orphans: dict[int, int] = {}
        self._host_pid_ns = False
        self.stdin: stdio.StdinSink | None = None
        self.execs: dict[str, execs.Exec] = {}
        self.oom = OomMonitor(loop, self._oom)
        self._events: list[dict[str, Any]] = []  # {"seq", "topic"}: what ``events`` long-polls for
        self._event_waiters: list[tuple[Connection, int]] = []
        self._methods = {
            "create": self.create,
            "start": self.start,
            "state": self.state,
            "kill": self.kill,
            "wait": self.wait,
            "delete": self.delete,
            "attach": self.attach,
            "stdin": self.stdin_stream,
            "close_io": self.close_io,
            "resize": self.resize,
            "pause": self.pause,
            "resume": self.resume,
            "exec": self.exec_,
            "start_exec": self.start_exec,
            "wait_exec": self.wait_exec,
            "state_exec": self.state_exec,
            "delete_exec": self.delete_exec,
            "shutdown": self.shutdown,
            "events": self.events,
            "update": self.update,
        }

    def serve(self, listener: Any) -> None:
        self.server = Server(self.loop, listener, self.dispatch, self._closed)
        self.loop.on_sigchld(self._reap)
        self._reap()  # anything that exited before the handler was installed

    def dispatch(self, conn: Connection, method: str, params: dict[str, Any]) -> Any:
        handler = self._methods.get(method)
        if handler is None:
            raise errdefs.InvalidArgument(f"unknown method {method!r}")
        return handler(conn, params)

    # children
    def _reap(self) -> None:
        reaped = reap_all()
        for pid, status in reaped:
            self._child_exited(pid, status)
        if reaped and self._host_pid_ns and self.init.stopped and not self._finished():
            self._kill_orphans()

    def _child_exited(self, pid: int, status: int) -> None:
        for ex in self.execs.values():
            if ex.pid == pid and ex.status == _EXEC_RUNNING:
                ex.exited(status)
                return
        if self.init.pid and pid == self.init.pid and not self.init.stopped:
            self.oom.check()  # an OOM kill that ended the init is reported before its exit
            self.init.exited(status)
            if self._host_pid_ns:
                self._kill_leftovers()
            self._release_waiters()
            return
        self._orphans[pid] = status
        while len(self._orphans) > MAX_ORPHANS:
            del self._orphans[next(iter(self._orphans))]

    def _kill_leftovers(self) -> None:
        """Without a pid namespace of its own, the init's exit does not end its descendants (which would
        hold the output pipes open and ``wait`` forever): kill what is left, as containerd does."""
        try:
            self.runtime.kill(_signal.SIGKILL, all_=True)
        except errdefs.SkiffError as err:
            print(f"skiff-shim: killing what the init left: {err}", file=sys.stderr, flush=True)
            self._kill_orphans()

    def _kill_orphans(self) -> None:
        """SIGKILL the shim's own children: as subreaper it inherits the init's orphans. Runs again after each
        reap until the output ends, since their children are orphaned in turn."""
        me = os.getpid()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == me:
                try:  # noqa: SIM105 - contextlib costs imports
                    os.kill(int(name), _signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _finished(self) -> bool:
        return self.init.stopped and (self.output.done or not self.output.started)

    def _wait_result(self) -> dict[str, Any]:
        return {"exit_status": self.init.exit_status, "exited_at": self.init.exited_at}

    def _release_waiters(self) -> None:
        if not self._finished():
            return
        self.oom.close()
        waiters, self._waiters = self._waiters, []
        for conn in waiters:
            conn.reply(self._wait_result())
        self._release_event_waiters()

    # events (OOM) for the core: a long poll that also ends with the init's exit
    def _oom(self) -> None:
        self._events.append({"seq": len(self._events) + 1, "topic": "oom"})
        self._release_event_waiters()

    def _events_since(self, after: int) -> dict[str, Any] | None:
        new = self._events[after:] if after >= 0 else self._events
        finished = self._finished()
        if not new and not finished:
            return None
        return {"events": new, "exited": finished, **self._wait_result()}

    def _release_event_waiters(self) -> None:
        waiting, self._event_waiters = self._event_waiters, []
        for conn, after in waiting:
            res = self._events_since(after)
            if res is None:
                self._event_waiters.append((conn, after))
            else:
                conn.reply(res)

    def events(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Events after sequence number ``after`` (``[{"seq", "topic": "oom"}]``), and whether the init has
        exited (then with its exit status): answered at once if there is news, else once there is."""
        self.init.check("wait")
        after = params.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise errdefs.InvalidArgument("after must be a non-negative integer")
        res = self._events_since(after)
        if res is not None:
            return res
        self._event_waiters.append((conn, after))
        return DEFERRED

    def update(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        """``runtime update -r <file>`` with the OCI ``linux.resources`` given."""
        resources = params.get("resources")
        if not isinstance(resources, dict):
            raise errdefs.InvalidArgument("resources must be an object (OCI linux.resources)")
        self.init.check("kill")
        path = os.path.join(self.bundle, "resources.json")
        process.write_atomic(path, wire.encode_line(resources))
        try:
            self.runtime.update(path)
        finally:
            process.unlink_quietly(path)
        return {}

    def _closed(self, conn: Connection) -> None:
        if conn in self._waiters:
            self._waiters.remove(conn)
        self._event_waiters = [(c, a) for c, a in self._event_waiters if c is not conn]
        self.output.unsubscribe(conn)
        for ex in self.execs.values():
            if conn in ex.waiters:
                ex.waiters.remove(conn)
            ex.output.unsubscribe(conn)

    # verbs
    def create(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        self.init.check("create")
        want_stdin = _bool(params, "stdin", False)
        terminal = _bool(params, "terminal", False)
        pid_file = os.path.join(self.bundle, "init.pid")
        process.unlink_quietly(pid_file)
        out_w, err_w, err_r = self.output.open_pipes()
        in_r = in_w = -1
        if want_stdin and not terminal:
            in_r, in_w = os.pipe2(os.O_CLOEXEC)
        console: Any = None
        console_path = ""
        if terminal:
            console, console_path = stdio.console_listener()
        try:
            self.runtime.create(pid_file, out_w, err_w, err_r, stdin=in_r, console_socket=console_path)
            if console is not None:
                master = stdio.receive_master(console, console_path)
                console = None
                self.output.add_terminal(master)
                if want_stdin:
                    self.stdin = stdio.StdinSink(self.loop, os.dup(master), terminal=True)
            elif in_w >= 0:
                self.stdin = stdio.StdinSink(self.loop, in_w)
                in_w = -1
        except (errdefs.SkiffError, OSError) as err:
            self.output.abandon()
            if in_w >= 0:
                os.close(in_w)
            if isinstance(err, OSError):
                raise errdefs.Unknown(f"console socket: {err}") from err
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
            if in_r >= 0:
                os.close(in_r)
            if console is not None:
                console.close()
                process.unlink_quietly(console_path)
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError) as err:
            self.output.abandon()
            raise errdefs.Unknown(f"runtime create left no usable pid file {pid_file}: {err}") from err
        self._host_pid_ns = not process.has_own_pid_namespace(self.bundle)
        self.init.created(pid)
        self.oom.start(pid)
        self.output.begin()
        if pid in self._orphans:  # died between create and now
            self._child_exited(pid, self._orphans.pop(pid))
        return {"pid": pid}

    def start(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        self.init.check("start")
        self.runtime.start()
        self.init.started()
        return {"pid": self.init.pid}

    def state(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        if self.init.status == process.UNKNOWN:
            raise errdefs.NotFound(f"container {self.init.id} is not created")
        self._reap()
        return self.init.state()

    def kill(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        sig = params.get("signal", _signal.SIGTERM)
        if not isinstance(sig, int) or isinstance(sig, bool) or not 0 < sig < 65:
            raise errdefs.InvalidArgument(f"invalid signal {sig!r}")
        all_ = _bool(params, "all", False)
        self._reap()
        self.init.check("kill")
        try:
            self.runtime.kill(sig, all_)
        except errdefs.FailedPrecondition:
            self._reap()  # the init may have died a moment ago and still be a zombie
            if self.init.stopped:
                raise errdefs.NotFound(f"container {self.init.id}: process already finished") from None
            raise
        return {}

    def wait(self, conn: Connection, params: dict[str, Any]) -> Any:
        self.init.check("wait")
        if self._finished():
            return self._wait_result()
        self._waiters.append(conn)
        return DEFERRED

    def delete(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        self._reap()
        self.init.check("delete")
        if self.init.status == process.CREATED:
            # never started: kill the init ourselves and reap it, so any runtime sees a stopped container
            try:
                self.runtime.kill(_signal.SIGKILL)
            except errdefs.SkiffError as err:
                print(f"skiff-shim: runtime kill before delete: {err}", file=sys.stderr, flush=True)
                try:  # noqa: SIM105 - contextlib costs imports
                    os.kill(self.init.pid, _signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                _, status = os.waitpid(self.init.pid, 0)
                self._child_exited(self.init.pid, status)
            except ChildProcessError:
                self._reap()
        try:  # noqa: SIM105 - contextlib costs imports
            self.runtime.delete()
        except errdefs.NotFound:
            pass  # already gone from the runtime: deleting twice is not an error
        self.init.deleted()
        return {"pid": self.init.pid, **self._wait_result()}

    def _exec(self, params: dict[str, Any]) -> execs.Exec | None:
        """The exec a request names with ``exec_id`` (None: the init)."""
        exec_id = params.get("exec_id") or ""
        if not exec_id:
            return None
        from skiff.shim.execs import check_id

        ex = self.execs.get(check_id(exec_id))
        if ex is None:
            raise errdefs.NotFound(f"exec {exec_id} not found in container {self.init.id}")
        return ex

    def attach(self, conn: Connection, params: dict[str, Any]) -> Any:
        stdout = _bool(params, "stdout", True)
        stderr = _bool(params, "stderr", True)
        ex = self._exec(params)
        conn.send(wire.result({}))
        conn.streaming = True
        (ex.output if ex is not None else self.output).subscribe(conn, stdout, stderr)
        return NO_REPLY

    def stdin_stream(self, conn: Connection, params: dict[str, Any]) -> Any:
        """After the reply, the connection's bytes go to the init's stdin; its EOF closes that stdin when
        ``close_on_eof`` (Docker's StdinOnce), else it only ends this writer."""
        close_on_eof = _bool(params, "close_on_eof", False)
        ex = self._exec(params)
        sink = ex.stdin if ex is not None else self.stdin
        if sink is None or sink.closed:
            raise errdefs.FailedPrecondition(f"container {self.init.id} has no open stdin")
        conn.send(wire.result({}))
        conn.streaming = True

        def feed(data: bytes) -> None:
            if data:
                sink.feed(data)
                if sink.full:
                    conn.pause_reading()
                    sink.when_drained(conn.resume_reading)
            elif close_on_eof:
                sink.close()

        conn.sink = feed
        return NO_REPLY

    def close_io(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        ex = self._exec(params)
        sink = ex.stdin if ex is not None else self.stdin
        if sink is not None:
            sink.close()
        return {}

    def resize(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        width, height = params.get("width"), params.get("height")
        if not isinstance(width, int) or not isinstance(height, int) or not (0 <= width < 65536
                                                                           and 0 <= height < 65536):
            raise errdefs.InvalidArgument("width and height must be integers from 0 to 65535")
        ex = self._exec(params)
        output = ex.output if ex is not None else self.output
        if output.terminal < 0:
            raise errdefs.FailedPrecondition(f"container {self.init.id} has no terminal")
        try:
            stdio.resize(output.terminal, width, height)
        except OSError as err:
            raise errdefs.FailedPrecondition(f"resize: {err.strerror}") from err
        return {}

    def pause(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        self.init.check("kill")
        self.runtime.pause()
        return {}

    def resume(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        self.init.check("kill")
        self.runtime.resume()
        return {}

    def exec_(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        from skiff.shim import execs

        exec_id = execs.check_id(params.get("exec_id"))
        proc = params.get("process")
        if not isinstance(proc, dict):
            raise errdefs.InvalidArgument("process must be an OCI process object")
        self._reap()
        if self.init.status != process.RUNNING:
            raise errdefs.FailedPrecondition(f"container {self.init.id} is not running")
        if exec_id in self.execs:
            raise errdefs.AlreadyExists(f"exec {exec_id} already exists")
        self.execs[exec_id] = execs.Exec(self.loop, exec_id, self.bundle, proc, _bool(params, "stdin", False),
                                         _bool(params, "terminal", False))
        return {}

    def start_exec(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        ex = self._exec(params)
        if ex is None:
            raise errdefs.InvalidArgument("exec_id is required")
        self._reap()
        if self.init.status != process.RUNNING:
            raise errdefs.FailedPrecondition(f"container {self.init.id} is not running")
        pid = ex.start(self.runtime)
        if pid in self._orphans:
            ex.exited(self._orphans.pop(pid))
        return ex.result()

    def wait_exec(self, conn: Connection, params: dict[str, Any]) -> Any:
        ex = self._exec(params)
        if ex is None:
            raise errdefs.InvalidArgument("exec_id is required")
        if ex.finished:
            return ex.result()
        ex.waiters.append(conn)
        return DEFERRED

    def state_exec(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        ex = self._exec(params)
        if ex is None:
            raise errdefs.InvalidArgument("exec_id is required")
        self._reap()
        return ex.result()

    def delete_exec(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        ex = self._exec(params)
        if ex is None:
            raise errdefs.InvalidArgument("exec_id is required")
        if ex.status == _EXEC_RUNNING:
            raise errdefs.FailedPrecondition(f"exec {ex.id} is running")
        ex.close()
        del self.execs[ex.id]
        return ex.result()

    def shutdown(self, conn: Connection, params: dict[str, Any]) -> dict[str, Any]:
        if self.init.status in (process.CREATED, process.RUNNING):
            raise errdefs.FailedPrecondition(
                f"container {self.init.id} is {self.init.status}: kill and delete it before shutdown")
        for name in ("shim.sock", "shim.pid"):  # gone before the caller hears back
            process.unlink_quietly(os.path.join(self.bundle, name))
        self.loop.call_soon(self._exit)
        return {}

    def _exit(self) -> None:
        if self.server is not None:
            self.server.close()
        self.output.close()
        self.loop.stop()
