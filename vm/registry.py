"""A real registry for the tests: Debian's ``docker-registry`` (Distribution v2) on 127.0.0.1:<free port>.

Plain HTTP (loopback registries are insecure by default for dockerd and skiffd alike), its data in a
temporary directory, optionally htpasswd basic auth. ``stop()`` ends it by PID and removes the directory.
``python -m vm.registry`` starts one in the foreground (for manual checks and the benchmark).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

BINARY = "/usr/bin/docker-registry"
START_DEADLINE_S = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(root: Path, port: int, htpasswd: Path | None) -> str:
    auth = (f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {htpasswd}\n" if htpasswd else "")
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: skiff-tests\n"
        + auth
    )


def htpasswd_line(user: str, password: str) -> str:
    """A bcrypt htpasswd line (the registry accepts only bcrypt; libxcrypt's crypt(3) makes it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))
    return f"{user}:{hashed}\n"


@dataclass
class Registry:
    users: dict[str, str] = field(default_factory=dict)
    port: int = 0
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Registry:
        self.root = Path(tempfile.mkdtemp(prefix="skiff-registry-"))
        htpasswd = None
        if self.users:
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text("".join(htpasswd_line(u, p) for u, p in self.users.items()))
        for _ in range(5):
            self.port = free_port()
            cfg = self.root / "config.yml"
            cfg.write_text(_config(self.root, self.port, htpasswd))
            with open(self.root / "registry.log", "ab") as log:
                self.proc = subprocess.Popen([BINARY, "serve", str(cfg)], stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log, start_new_session=True)
            if self._wait():
                return self
            self._end_process()
        self.stop()
        raise RuntimeError("docker-registry did not start")

    def _wait(self) -> bool:
        end = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < end:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1).close()
                return True
            except urllib.error.HTTPError:
                return True  # 401 with auth: it answers
            except OSError:
                time.sleep(0.05)
        return False

    def _end_process(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        self._end_process()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # sigwait needs them blocked, or they kill us first
    reg = Registry().start()
    print(reg.address, flush=True)
    try:
        signal.sigwait(signals)
    finally:
        reg.stop()


if __name__ == "__main__":
    main()
