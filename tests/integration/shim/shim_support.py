"""Helpers for the shim integration tests: a container under test, polling, process liveness."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from skiff import errdefs
from skiff.shim.protocol import ShimClient, start_shim


def until(pred: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``pred`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@dataclass
class Container:
    id: str
    bundle: Path
    log_path: Path
    runtime: Path
    runtime_root: Path
    sock: str = ""
    clients: list[ShimClient] = field(default_factory=list)

    def start_shim(self) -> str:
        self.sock = start_shim(self.id, self.bundle, self.runtime, self.log_path,
                               runtime_root=self.runtime_root)
        return self.sock

    def client(self) -> ShimClient:
        c = ShimClient(self.sock, timeout=30)
        self.clients.append(c)
        return c

    def shim_pid(self) -> int:
        return int((self.bundle / "shim.pid").read_text())

    def log_lines(self) -> list[bytes]:
        return self.log_path.read_bytes().splitlines(keepends=True) if self.log_path.exists() else []

    def runtime_state(self) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([str(self.runtime), "--root", str(self.runtime_root), "state", self.id],
                              capture_output=True, timeout=10)


def cleanup(ctr: Container) -> None:
    for c in ctr.clients:
        c.close()
    shim_pid = 0
    with contextlib.suppress(OSError, ValueError):
        shim_pid = ctr.shim_pid()
    if ctr.sock and os.path.exists(ctr.sock):
        with contextlib.suppress(errdefs.SkiffError, OSError), ShimClient(ctr.sock, timeout=10) as c:
            with contextlib.suppress(errdefs.SkiffError):
                c.kill(signal.SIGKILL, all=True)
            with contextlib.suppress(errdefs.SkiffError):
                c.wait(timeout=10)
            with contextlib.suppress(errdefs.SkiffError):
                c.delete()
            c.shutdown()
    subprocess.run([str(ctr.runtime), "--root", str(ctr.runtime_root), "delete", "--force", ctr.id],
                   capture_output=True, timeout=20)
    if shim_pid and pid_alive(shim_pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(shim_pid, signal.SIGKILL)
    for ctrl in Path("/sys/fs/cgroup").iterdir():
        d = ctrl / "skiff-shim-test" / ctr.id
        if d.is_dir():
            with contextlib.suppress(OSError):
                d.rmdir()
