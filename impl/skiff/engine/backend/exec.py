"""Exec instances (``docker exec``): create, start (detached or attached, with or without a TTY), inspect,
resize, as dockerd's daemon/exec.go.

An exec's process is the container's OCI process with the exec's args, env, cwd, user and terminal; the
core registers it with the container's shim, which runs the runtime's ``exec`` and reaps it. The stream of an
attached start ends only once the exit code is known, so the CLI's inspect right after sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from skiff import errdefs
from skiff.engine import detachkeys
from skiff.engine.backend import runspec
from skiff.engine.streams import StdcopyDecoder, StdType, encode_frame

log = logging.getLogger(__name__)

DETACH_FAREWELL = b"exec attach failed: error on attach stdin: read escape sequence\r\n"

ALL_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
]


@dataclass
class ExecRecord:
    id: str
    container_id: str
    config: dict[str, Any]
    running: bool = False
    started: bool = False
    exit_code: int | None = None
    pid: int = 0
    size: tuple[int, int] | None = None  # (height, width) asked for before the process ran
    done: asyncio.Event = field(default_factory=asyncio.Event)
    stdin_ready: asyncio.Event = field(default_factory=asyncio.Event)
    detached: bool = False  # the client typed the detach keys (dockerd 20.10 then ends the exec)

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @property
    def cmd(self) -> list[str]:
        return [str(a) for a in self.config.get("Cmd") or []]


class ExecBackend:
    def __init__(self, containers: Any) -> None:
        self.containers = containers
        self.execs: dict[str, ExecRecord] = {}

    @property
    def core(self) -> Any:
        return self.containers.core

    def _running_container(self, ref: str) -> Any:
        record = self.containers.get(ref)
        st = record.state
        if not st.running:
            raise errdefs.Conflict(f"Container {record.id} is not running")
        if st.paused:
            raise errdefs.Conflict(f"Container {ref} is paused, unpause the container before exec")
        if st.restarting:
            raise errdefs.Conflict(f"Container {record.id} is restarting, wait until the container is "
                                   "running")
        return record

    def get(self, exec_id: str) -> ExecRecord:
        ex = self.execs.get(exec_id)
        if ex is None:
            raise errdefs.NotFound(f"No such exec instance: {exec_id}")
        return ex

    # ---------- create ----------
    async def create(self, ref: str, config: dict[str, Any]) -> str:
        record = self._running_container(ref)
        keys = str(config.get("DetachKeys") or "")
        try:
            detachkeys.parse(keys)
        except ValueError:
            raise errdefs.Unknown(f"Invalid escape keys ({keys}) provided") from None
        exec_id = secrets.token_hex(32)
        self.execs[exec_id] = ExecRecord(exec_id, record.id, dict(config))
        self.containers._publish(record, f"exec_create: {_event_cmd(self.execs[exec_id].cmd)}",
                                 execID=exec_id)
        return exec_id

    def _process(self, record: Any, ex: ExecRecord) -> bytes:
        spec = runspec.build_spec(record, getattr(self.containers, "init_path", None))
        proc: dict[str, Any] = copy.deepcopy(spec["process"])
        cfg = ex.config
        proc["args"] = ex.cmd
        proc["terminal"] = ex.tty
        env = list(proc.get("env") or [])
        for item in cfg.get("Env") or []:
            key = str(item).split("=", 1)[0]
            env = [e for e in env if e.split("=", 1)[0] != key] + [str(item)]
        if ex.tty and not any(e.startswith("TERM=") for e in env):
            env.append("TERM=xterm")
        proc["env"] = env
        if cfg.get("WorkingDir"):
            proc["cwd"] = str(cfg["WorkingDir"])
        if cfg.get("User"):
            uid, gid, groups = runspec.resolve_user(str(cfg["User"]), record.rootfs_mounts)
            proc["user"] = {"uid": uid, "gid": gid, "additionalGids": groups}
        if cfg.get("Privileged"):
            proc["capabilities"] = {k: list(ALL_CAPS) for k in ("bounding", "effective", "permitted")}
        return json.dumps(proc).encode()

    # ---------- start ----------
    async def _begin(self, exec_id: str) -> tuple[ExecRecord, Any]:
        ex = self.get(exec_id)
        if ex.started:
            if ex.running:
                raise errdefs.Conflict(f"Error: Exec command {exec_id} is already running")
            raise errdefs.Conflict(f"Error: Exec command {exec_id} has already run")
        record = self._running_container(ex.container_id)
        ex.started = True
        try:
            await self.core.tasks_exec(record.id, exec_id, self._process(record, ex),
                                       stdin=bool(ex.config.get("AttachStdin")), terminal=ex.tty)
        except errdefs.SkiffError:
            ex.exit_code = 126
            ex.done.set()
            raise
        return ex, record

    async def _run(self, ex: ExecRecord, record: Any) -> None:
        """Start the registered process; the exit is collected in the background."""
        try:
            state = await self.core.tasks_start_exec(record.id, ex.id)
        except errdefs.SkiffError as err:
            ex.exit_code = 126  # dockerd's code for any exec that did not start
            ex.done.set()
            with contextlib.suppress(errdefs.SkiffError):
                await self.core.tasks_delete_exec(record.id, ex.id)
            raise errdefs.Unknown(f"OCI runtime exec failed: {err}: unknown") from None
        ex.pid, ex.running = int(state.pid), True
        ex.stdin_ready.set()
        if ex.size is not None and ex.tty:  # the CLI resizes as soon as it has the upgrade answer
            with contextlib.suppress(errdefs.SkiffError):
                await self.core.tasks_resize(record.id, ex.size[1], ex.size[0], exec_id=ex.id)
        self.containers._publish(record, f"exec_start: {_event_cmd(ex.cmd)}", execID=ex.id)
        reaper = asyncio.ensure_future(self._reap(ex, record))
        self.containers._background.add(reaper)
        reaper.add_done_callback(self.containers._background.discard)

    async def _reap(self, ex: ExecRecord, record: Any) -> None:
        try:
            state = await self.core.tasks_wait_exec(record.id, ex.id)
            ex.exit_code = 126 if ex.detached else int(state.exit_status)
        except errdefs.SkiffError as err:
            log.warning("exec %s: wait failed: %s", ex.id, err)
            ex.exit_code = ex.exit_code if ex.exit_code is not None else 137
        finally:
            ex.running = False
            ex.done.set()
        self.containers._publish(record, "exec_die", execID=ex.id, exitCode=str(ex.exit_code))
        with contextlib.suppress(errdefs.SkiffError):
            await self.core.tasks_delete_exec(record.id, ex.id)

    async def start_detached(self, exec_id: str) -> None:
        ex, record = await self._begin(exec_id)
        await self._run(ex, record)

    async def start_attached(self, exec_id: str) -> tuple[ExecRecord, AsyncIterator[bytes]]:
        """Validate and register now (errors become HTTP answers); the output streams once hijacked."""
        ex, record = await self._begin(exec_id)
        cfg = ex.config
        stream = self.core.tasks_attach(record.id, stdout=bool(cfg.get("AttachStdout")),
                                        stderr=bool(cfg.get("AttachStderr")), exec_id=ex.id)
        await stream.ready()

        async def output() -> AsyncIterator[bytes]:
            try:
                try:
                    await self._run(ex, record)
                except errdefs.SkiffError as err:
                    message = f"{err}\r\n".encode()
                    yield message if ex.tty else encode_frame(StdType.STDOUT, message)
                    return
                decoder = StdcopyDecoder() if ex.tty else None
                async for frame in stream:
                    if decoder is None:
                        yield frame
                    else:
                        for _stream, payload in decoder.feed(frame):
                            yield payload
                await ex.done.wait()
            finally:
                stream.cancel()

        return ex, output()

    def attach_io(
        self, ex: ExecRecord, output: AsyncIterator[bytes]
    ) -> tuple[AsyncIterator[bytes], Callable[[AsyncIterator[bytes]], Awaitable[None]]]:
        """The hijacked start's output and stdin pump. With a terminal and stdin, the detach keys end the
        stream as dockerd 20.10 does: its error line, the exec reported ended with 126, its process killed."""
        if not (ex.tty and ex.config.get("AttachStdin")):
            async def pump(chunks: AsyncIterator[bytes]) -> None:
                await self.pump_stdin(ex, chunks)

            return output, pump
        detach = detachkeys.Detach(detachkeys.parse(str(ex.config.get("DetachKeys") or "")),
                                   on_detach=lambda: self._detached(ex))

        async def pump_detachable(chunks: AsyncIterator[bytes]) -> None:
            await self.pump_stdin(ex, detach.stdin(chunks))

        return detach.output(output, farewell=DETACH_FAREWELL), pump_detachable

    def _detached(self, ex: ExecRecord) -> None:
        ex.detached, ex.running, ex.exit_code = True, False, 126
        if ex.pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(ex.pid, signal.SIGKILL)  # host PID of a process the shim has not reaped yet

    async def pump_stdin(self, ex: ExecRecord, chunks: AsyncIterator[bytes]) -> None:
        if not ex.config.get("AttachStdin"):
            async for _ in chunks:
                pass
            return
        await ex.stdin_ready.wait()
        try:
            await self.core.tasks_stdin(ex.container_id, chunks, close_on_eof=True, exec_id=ex.id)
        except errdefs.SkiffError as err:
            log.debug("stdin of exec %s: %s", ex.id, err)

    async def resize(self, exec_id: str, height: int, width: int) -> None:
        ex = self.get(exec_id)
        height, width = height & 0xFFFF, width & 0xFFFF  # as the ioctl would keep them
        if not ex.tty:
            return
        if not ex.running:
            ex.size = (height, width)
            return
        with contextlib.suppress(errdefs.FailedPrecondition):
            await self.core.tasks_resize(ex.container_id, width, height, exec_id=ex.id)

    def inspect(self, exec_id: str) -> dict[str, Any]:
        ex = self.get(exec_id)
        cfg = ex.config
        cmd = ex.cmd
        return {
            "CanRemove": False,
            "ContainerID": ex.container_id,
            "DetachKeys": str(cfg.get("DetachKeys") or ""),
            "ExitCode": ex.exit_code,
            "ID": ex.id,
            "OpenStderr": bool(cfg.get("AttachStderr")),
            "OpenStdin": bool(cfg.get("AttachStdin")),
            "OpenStdout": bool(cfg.get("AttachStdout")),
            "ProcessConfig": {
                "tty": ex.tty,
                "entrypoint": cmd[0] if cmd else "",
                "arguments": cmd[1:],
                "privileged": bool(cfg.get("Privileged")),
                **({"user": str(cfg["User"])} if cfg.get("User") else {}),  # omitempty, as dockerd
            },
            "Running": ex.running,
            "Pid": ex.pid,
        }


def _event_cmd(cmd: list[str]) -> str:
    """dockerd's ``entrypoint + " " + args``: "sh " for a bare ``sh``."""
    return f"{cmd[0]} {' '.join(cmd[1:])}" if cmd else " "


_BACKENDS: dict[int, ExecBackend] = {}


def backend_for(containers: Any) -> ExecBackend:
    """One exec backend per containers backend (kept beside it, without touching ``Services``)."""
    be = _BACKENDS.get(id(containers))
    if be is None or be.containers is not containers:
        be = _BACKENDS[id(containers)] = ExecBackend(containers)
    return be
