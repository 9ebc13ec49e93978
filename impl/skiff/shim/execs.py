"""Exec'd processes of the container: each with its own output, stdin and exit, children of this shim.

``exec`` registers one (its output can be attached from then on), ``start_exec`` runs the runtime's
``exec --detach --pid-file``; the process is reparented to the shim (the child subreaper), which reaps it.
"""

from __future__ import annotations

import os
import time

from skiff import errdefs
from skiff.shim import codec, process, stdio
from skiff.shim.io import Output
from skiff.shim.loop import Loop
from skiff.shim.runc import Runtime
from skiff.shim.timestamps import ZERO_TIME, rfc3339nano

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from skiff.shim.server import Connection

CREATED, RUNNING, STOPPED = "created", "running", "stopped"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


class Exec:
    def __init__(self, loop: Loop, exec_id: str, bundle: str, proc: dict[str, Any], stdin: bool,
                 terminal: bool) -> None:
        self.loop = loop
        self.id = exec_id
        self.bundle = bundle
        self.process = proc
        self.want_stdin = stdin
        self.terminal = terminal
        self.output = Output(loop, "", self._release)
        self.stdin: stdio.StdinSink | None = None
        self.pid = 0
        self.status = CREATED
        self.exit_status = 0
        self.exited_at = ZERO_TIME
        self.waiters: list[Connection] = []

    def start(self, runtime: Runtime) -> int:
        if self.status != CREATED:
            raise errdefs.FailedPrecondition(f"exec {self.id} is {self.status}")
        proc_file = os.path.join(self.bundle, f"exec-{self.id}.json")
        pid_file = os.path.join(self.bundle, f"exec-{self.id}.pid")
        with open(proc_file, "w") as f:
            f.write(codec.dumps({**self.process, "terminal": self.terminal}))
        out_w, err_w, err_r = self.output.open_pipes()
        in_r = in_w = -1
        if self.want_stdin and not self.terminal:
            in_r, in_w = os.pipe2(os.O_CLOEXEC)
        console: Any = None
        console_path = ""
        if self.terminal:
            console, console_path = stdio.console_listener()
        try:
            runtime.exec(proc_file, pid_file, out_w, err_w, err_r, stdin=in_r, console_socket=console_path)
            if console is not None:
                master = stdio.receive_master(console, console_path)
                console = None
                self.output.add_terminal(master)
                if self.want_stdin:
                    self.stdin = stdio.StdinSink(self.loop, os.dup(master), terminal=True)
            elif in_w >= 0:
                self.stdin = stdio.StdinSink(self.loop, in_w)
                in_w = -1
            with open(pid_file) as f:
                self.pid = int(f.read().strip())
        except (errdefs.SkiffError, OSError, ValueError) as err:
            self.output.abandon()
            self.status = STOPPED
            self.exit_status = 126
            if isinstance(err, errdefs.SkiffError):
                raise
            raise errdefs.Unknown(f"exec {self.id}: {err}") from err
        finally:
            for fd in (out_w, err_w, in_r, in_w):
                if fd >= 0:
                    os.close(fd)
            if console is not None:
                console.close()
                process.unlink_quietly(console_path)
            process.unlink_quietly(proc_file)
            process.unlink_quietly(pid_file)
        self.status = RUNNING
        self.output.begin()
        return self.pid

    def exited(self, wait_status: int) -> None:
        self.status = STOPPED
        self.exit_status = process.exit_code(wait_status)
        self.exited_at = rfc3339nano(time.time_ns())
        self._release()

    @property
    def finished(self) -> bool:
        return self.status == STOPPED and (self.output.done or not self.output.started)

    def result(self) -> dict[str, Any]:
        return {"exec_id": self.id, "pid": self.pid, "status": self.status, "exit_status": self.exit_status,
                "exited_at": self.exited_at}

    def _release(self) -> None:
        if not self.finished:
            return
        waiters, self.waiters = self.waiters, []
        for conn in waiters:
            conn.reply(self.result())

    def close(self) -> None:
        if self.stdin is not None:
            self.stdin.close()
        self.output.close()


def check_id(exec_id: Any) -> str:
    if not isinstance(exec_id, str) or not exec_id or not set(exec_id) <= _ID_CHARS or len(exec_id) > 128:
        raise errdefs.InvalidArgument(f"invalid exec id {exec_id!r}")
    return exec_id
