"""Support for the backend integration tests: a real skiffd process on a temporary socket and data root."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SKIFFD = str(Path(sys.executable).parent / "skiffd")
REF_DOCKER = "unix:///var/run/docker-ref.sock"


def child_count(pid: int) -> int:
    """How many processes have ``pid`` as parent (threads come and go while we look)."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat_line = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat_line.rsplit(")", 1)[1].split()[1]) == pid:
            count += 1
    return count


def ping(sock: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        try:
            s.connect(str(sock))
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: skiff\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        except OSError:
            return False
    return answer.startswith(b"HTTP/1.1 200")


@dataclass
class Skiffd:
    root: Path
    sock: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.sock}"

    def docker(
        self, *args: str, check: bool = True, input: bytes | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        out = subprocess.run(
            ["docker", "-H", self.host, *args], capture_output=True, input=input, timeout=timeout
        )
        if check and out.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: rc={out.returncode}\n{out.stderr.decode()}")
        return out

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    SKIFFD,
                    "-H",
                    self.host,
                    "--data-root",
                    str(self.root / "data"),
                    "--exec-root",
                    str(self.root / "exec"),
                    "--config-file",
                    os.devnull,
                    "-l",
                    "debug",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not ping(self.sock):
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)
        # the supervised skiff-containerd comes up asynchronously: wait until images answer
        while self.docker("images", "-q", check=False).returncode != 0:
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def remove_all_containers(self) -> None:
        ids = self.docker("ps", "-aq", check=False).stdout.decode().split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)


def ref_inspect(*args: str) -> dict[str, object]:
    out = subprocess.run(["docker", "-H", REF_DOCKER, *args], check=True, capture_output=True, timeout=60)
    return dict(json.loads(out.stdout)[0])
