"""The local backend: a real dockerd from Debian's docker.io on its own socket, data root and exec root.

It never touches the system Docker (/var/run/docker.sock) and stops only the PID in its own pidfile.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from vm.backend import Status
from vm.ping import ping, unix_path, wait_for_ping

START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 30.0


@dataclass
class LocalDockerd:
    """A dockerd started as a plain background process (no systemd), found again through its pidfile."""

    host: str = "unix:///var/run/docker-ref.sock"
    data_root: Path = Path("/var/lib/docker-ref")
    exec_root: Path = Path("/var/run/docker-ref")
    pidfile: Path = Path("/var/run/docker-ref.pid")
    log_file: Path = Path("/var/log/docker-ref.log")
    dockerd: str = "dockerd"
    # Beware: a second dockerd on this host must not get `--bridge none`: dockerd then deletes docker0,
    # which the reference's containers need. Give it its own `--bridge`/`--bip` instead.
    extra_args: tuple[str, ...] = ()

    def command(self) -> list[str]:
        return [
            shutil.which(self.dockerd) or "/usr/sbin/dockerd",
            "-H",
            self.host,
            "--data-root",
            str(self.data_root),
            "--exec-root",
            str(self.exec_root),
            "--pidfile",
            str(self.pidfile),
            *self.extra_args,
        ]

    def start(self) -> bool:
        if ping(self.host):
            return False
        pid = self._pid()
        if pid is not None:
            # A dockerd of ours is alive but not answering yet (starting): wait for it, start no other.
            if wait_for_ping(self.host, START_DEADLINE_S, alive=lambda: _alive(pid)):
                return False
            raise RuntimeError(f"dockerd pid {pid} from {self.pidfile} does not answer on {self.host}")
        socket_path = Path(unix_path(self.host))
        if socket_path.exists():
            socket_path.unlink()  # stale socket of a dead daemon of ours
        # a stale pidfile whose PID now belongs to another process makes dockerd refuse to start, and
        # its managed containerd's makes dockerd wait for a containerd that is not there
        self.pidfile.unlink(missing_ok=True)
        (self.exec_root / "containerd" / "containerd.pid").unlink(missing_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        if not wait_for_ping(self.host, START_DEADLINE_S, alive=lambda: proc.poll() is None):
            raise RuntimeError(
                f"dockerd did not answer on {self.host} within {START_DEADLINE_S}s; see {self.log_file}"
            )
        return True

    def stop(self) -> bool:
        pid = self._pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + STOP_DEADLINE_S
        while time.monotonic() < end and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        return True

    def status(self) -> Status:
        return Status(running=ping(self.host), pid=self._pid(), host=self.host)

    def _pid(self) -> int | None:
        """The PID in our pidfile, only if it is a live dockerd (guards against PID reuse)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        if not cmdline or not os.path.basename(cmdline[0]).startswith(b"dockerd"):
            return None
        return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
