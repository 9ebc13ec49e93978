"""skiffd's child skiff-containerd: started at boot, restarted when it dies, stopped on shutdown.

Only the skiff-containerd process itself is signalled (by PID). Container shims run in their own
sessions and survive both daemons, so live containers are untouched by a skiffd restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

from skiff.engine.config import DaemonConfig

log = logging.getLogger("skiff.engine.supervisor")

SOCKET_WAIT = 20.0
STOP_TIMEOUT = 10.0
MAX_BACKOFF = 10.0


def containerd_executable() -> str:
    """``skiff-containerd`` next to the running interpreter (the venv's bin), else from PATH."""
    candidate = Path(sys.executable).parent / "skiff-containerd"
    return str(candidate) if candidate.exists() else "skiff-containerd"


def containerd_command(config: DaemonConfig) -> list[str]:
    cmd = [containerd_executable(), "--address", config.containerd_address,
           "--root", str(config.containerd_root), "--state", str(config.containerd_state)]
    if config.debug:
        cmd += ["--log-level", "debug"]
    runtime = config.default_runtime_path
    if runtime is not None:
        cmd += ["--runtime", runtime]
    return cmd


def socket_ready(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
        except OSError:
            return False
        return True


class ContainerdSupervisor:
    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Spawn skiff-containerd now and supervise it in the background (``ready`` is set once its
        socket answers), so that skiffd's own start-up work overlaps with the core's."""
        first: asyncio.subprocess.Process | None
        try:
            first = await self._spawn()
        except OSError as exc:
            log.error("cannot start skiff-containerd: %s", exc)
            first = None
        self._task = asyncio.create_task(self._run(first), name="containerd-supervisor")

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _spawn(self) -> asyncio.subprocess.Process:
        self.config.containerd_state.mkdir(parents=True, exist_ok=True)
        self.config.containerd_root.mkdir(parents=True, exist_ok=True)
        cmd = containerd_command(self.config)
        log.info("starting skiff-containerd: %s", " ".join(cmd))
        return await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.DEVNULL,
                                                    start_new_session=True)

    async def _wait_socket(self, process: asyncio.subprocess.Process) -> bool:
        deadline = time.monotonic() + SOCKET_WAIT
        while time.monotonic() < deadline and process.returncode is None:
            if socket_ready(self.config.containerd_address):
                return True
            await asyncio.sleep(0.05)
        return False

    async def _run(self, first: asyncio.subprocess.Process | None) -> None:
        backoff = 0.5
        while not self.stopping:
            started = time.monotonic()
            try:
                self.process = first or await self._spawn()
                first = None
            except OSError as exc:
                log.error("cannot start skiff-containerd: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            if await self._wait_socket(self.process):
                log.info("skiff-containerd is ready at %s (pid %d)", self.config.containerd_address,
                         self.process.pid)
                self.ready.set()
            elif self.process.returncode is None:
                log.warning("skiff-containerd has not opened %s after %.0fs", self.config.containerd_address,
                            SOCKET_WAIT)
            code = await self.process.wait()
            self.ready.clear()
            if self.stopping:
                break
            log.error("skiff-containerd (pid %d) exited with status %s; restarting", self.process.pid, code)
            if time.monotonic() - started > 30:
                backoff = 0.5
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def stop(self) -> None:
        """SIGTERM skiff-containerd (by PID), SIGKILL after a grace period; shims are left alone."""
        self.stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            log.info("stopping skiff-containerd (pid %d)", process.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("skiff-containerd did not stop in %.0fs, killing it", STOP_TIMEOUT)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
