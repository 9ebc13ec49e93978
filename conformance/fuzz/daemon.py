"""A private skiffd for fuzzing: its own socket, data root and exec root under one temp dir, removed after.

The fuzzer may create, start, kill and prune anything, so it never runs against a shared daemon. On the way
out every container is force-removed through the API, skiffd is stopped by its PID (it stops its own
skiff-containerd), mounts left under the roots are unmounted and the directory is deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from vm import busybox
from vm.ping import wait_for_ping
from vm.proc import terminate

START_DEADLINE_S = 60.0


class PrivateSkiffd:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="skiff-fuzz-"))
        self.socket = self.dir / "skiff.sock"
        self.host = f"unix://{self.socket}"
        default = Path(__file__).resolve().parents[2] / "reports" / "fuzz"
        log_dir = Path(os.environ.get("SKIFF_FUZZ_DIR", default))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / "skiffd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateSkiffd:
        skiffd = Path(sys.executable).parent / "skiffd"
        cmd = [str(skiffd), "-H", self.host, "--data-root", str(self.dir / "data"),
               "--exec-root", str(self.dir / "exec")]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        proc = self.proc
        if not wait_for_ping(self.host, START_DEADLINE_S, alive=lambda: proc.poll() is None):
            self.stop()
            raise RuntimeError(f"private skiffd did not start; see {self.log}")
        busybox.import_into(self.host)
        return self

    def _clean(self) -> None:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)), base_url="http://d",
                          timeout=60) as c:
            for ctr in c.get("/v1.39/containers/json?all=1").json() or []:
                c.delete(f"/v1.39/containers/{ctr['Id']}?force=1&v=1")
            for vol in (c.get("/v1.39/volumes").json() or {}).get("Volumes") or []:
                c.delete(f"/v1.39/volumes/{vol['Name']}?force=1")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                self._clean()
            terminate(proc, 30)
        _unmount_under(self.dir)
        _remove_network_state(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


def _remove_network_state(root: Path) -> None:
    """The private daemon's own bridge and nftables table (named after its exec root), once it stopped."""
    try:
        from skiff.engine.backend.networks import remove_daemon_network
    except ImportError:
        return
    with contextlib.suppress(Exception):
        remove_daemon_network(root / "data", root / "exec")


def _unmount_under(root: Path) -> None:
    prefix = str(root) + "/"
    with open("/proc/self/mounts") as f:
        targets = [line.split()[1].replace("\\040", " ") for line in f]
    for target in sorted((t for t in targets if t.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)
