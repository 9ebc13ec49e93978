"""The qemu backend: the reference Docker in a Debian VM under TCG (software emulation; no KVM here).

The disk comes from :mod:`vm.qemu_image` (debootstrap, cached in /var/cache/skiff-vm). Each start boots a
fresh qcow2 overlay on that base with Debian's own kernel and initrd (-kernel/-initrd), user-mode
networking with ``restrict=on`` (the guest reaches nothing) and a hostfwd of the guest dockerd's TCP port to
127.0.0.1; :mod:`vm.qemu_forward` puts a unix socket in front of it, so the harness addresses this daemon
exactly like the local one. stop() ends the forwarder and qemu by the PIDs in our pidfiles, then drops the
overlay: the VM is disposable, nothing it did survives.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from vm.backend import Status
from vm.ping import ping, wait_for_ping
from vm.qemu_image import CACHE, GUEST_PORT

BOOT_DEADLINE_S = float(os.environ.get("SKIFF_VM_BOOT_DEADLINE", "600"))
STOP_DEADLINE_S = 30.0
HOST = "unix:///run/skiff-vm/docker.sock"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class QemuDockerd:
    """A disposable Debian VM running dockerd, reachable at `host` (a unix socket forwarded into it)."""

    host: str = HOST
    cache: Path = CACHE
    run_dir: Path = Path("/run/skiff-vm")
    memory_mb: int = 2048
    cpus: int = 2
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def _qemu_pidfile(self) -> Path:
        return self.run_dir / "qemu.pid"

    @property
    def _fwd_pidfile(self) -> Path:
        return self.run_dir / "forward.pid"

    @property
    def console_log(self) -> Path:
        return self.run_dir / "console.log"

    def command(self, port: int, overlay: Path) -> list[str]:
        return [
            "qemu-system-x86_64",
            "-accel", "tcg,thread=multi",
            "-smp", str(self.cpus),
            "-m", str(self.memory_mb),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", str(self.cache / "vmlinuz"),
            "-initrd", str(self.cache / "initrd.img"),
            "-append", "root=/dev/vda rw console=ttyS0 init=/sbin/skiff-init net.ifnames=0 panic=-1 quiet",
            "-drive", f"file={overlay},if=virtio,format=qcow2",
            "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:{GUEST_PORT}",
            "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-rng-pci",
            "-serial", f"file:{self.console_log}",
        ]

    def start(self) -> bool:
        if ping(self.host):
            return False
        if self._pid(self._qemu_pidfile, b"qemu") is not None:
            raise RuntimeError(f"a qemu of ours runs (see {self._qemu_pidfile}) but {self.host} is silent")
        from vm import qemu_image

        t0 = time.monotonic()
        self.timings.update({k: v for k, v in qemu_image.build(self.cache).items() if isinstance(v, float)})
        self.run_dir.mkdir(parents=True, exist_ok=True)
        overlay = self.run_dir / "overlay.qcow2"
        overlay.unlink(missing_ok=True)
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(self.cache / "root.img"), "-F", "raw",
             str(overlay)],
            check=True, stdin=subprocess.DEVNULL,
        )
        port = _free_port()
        t1 = time.monotonic()
        with open(self.run_dir / "qemu.log", "wb") as err:
            qemu = subprocess.Popen(
                ["nice", "-n", "10", *self.command(port, overlay)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
            )
        self._qemu_pidfile.write_text(f"{qemu.pid}\n")
        fwd = subprocess.Popen(
            [sys.executable, "-m", "vm.qemu_forward", self.host[len("unix://"):], str(port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, cwd=Path(__file__).resolve().parent.parent,
        )
        self._fwd_pidfile.write_text(f"{fwd.pid}\n")
        if not wait_for_ping(self.host, BOOT_DEADLINE_S, alive=lambda: qemu.poll() is None):
            self.stop()
            raise RuntimeError(f"the VM's dockerd did not answer within {BOOT_DEADLINE_S}s; "
                               f"see {self.console_log}")
        self.timings["boot_s"] = round(time.monotonic() - t1, 1)
        self.timings["start_s"] = round(time.monotonic() - t0, 1)
        return True

    def stop(self) -> bool:
        stopped = False
        for pidfile, name in ((self._fwd_pidfile, b"python"), (self._qemu_pidfile, b"qemu")):
            pid = self._pid(pidfile, name)
            if pid is not None:
                os.kill(pid, signal.SIGTERM)  # qemu: like pulling the plug; the overlay is thrown away
                end = time.monotonic() + STOP_DEADLINE_S
                while time.monotonic() < end and _alive(pid):
                    time.sleep(0.1)
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
                stopped = True
            pidfile.unlink(missing_ok=True)
        (self.run_dir / "overlay.qcow2").unlink(missing_ok=True)
        Path(self.host[len("unix://"):]).unlink(missing_ok=True)
        return stopped

    def status(self) -> Status:
        return Status(running=ping(self.host), pid=self._pid(self._qemu_pidfile, b"qemu"), host=self.host)

    @staticmethod
    def _pid(pidfile: Path, name: bytes) -> int | None:
        """The PID in `pidfile` if it is alive and its command names `name` (guards against PID reuse)."""
        try:
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if name in cmdline and _alive(pid) else None
