"""The one switch: ``SKIFF_TARGET=skiff|docker`` (default skiff) picks the daemon scenarios and bench talk to.

- skiff: ``SKIFF_HOST`` or ``unix:///var/run/skiff.sock``; `ensure_running` starts ``skiffd`` from the venv's
  bin directory (next to ``sys.executable``) in the background with its own log file if the socket is silent.
- docker: the reference dockerd at ``unix:///var/run/docker-ref.sock``, started through :mod:`vm.reference`.
`stop_if_started` stops only what this Target started, by PID.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from vm import reference  # noqa: E402
from vm.ping import ping, wait_for_ping  # noqa: E402
from vm.proc import terminate  # noqa: E402

SKIFF_DEFAULT_HOST = "unix:///var/run/skiff.sock"
DOCKER_HOST = reference.HOST
START_DEADLINE_S = float(os.environ.get("SKIFF_START_DEADLINE", "60"))
STOP_DEADLINE_S = 20.0
TARGETS = ("skiff", "docker")


@dataclass
class Target:
    """One daemon under test, addressed by a DOCKER_HOST URL."""

    name: str
    host: str
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _started_reference: bool = field(default=False, repr=False)
    log_file: Path | None = None

    def answers(self) -> bool:
        return ping(self.host)

    def ensure_running(self) -> None:
        """Make the daemon answer /_ping, starting it if needed (raises with the log's path on failure)."""
        if self.name == "docker":
            self._started_reference = reference.backend().start()
            return
        if self.answers():
            return
        skiffd = Path(sys.executable).parent / "skiffd"
        log_dir = Path(os.environ.get("SKIFF_LOG_DIR", REPO / "reports"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_file = log_dir / "skiffd.log"
        cmd = [str(skiffd)]
        if "SKIFF_HOST" in os.environ:
            cmd += ["-H", self.host]
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self._proc = proc
        if not wait_for_ping(self.host, START_DEADLINE_S, alive=lambda: proc.poll() is None):
            code = proc.poll()
            self.stop_if_started()
            raise RuntimeError(
                f"skiffd did not answer on {self.host} within {START_DEADLINE_S}s "
                f"(exit status {code}); see {self.log_file}"
            )

    def stop_if_started(self) -> None:
        """Stop the daemon only if this Target started it (by its PID)."""
        if self._started_reference:
            reference.backend().stop()
            self._started_reference = False
        proc, self._proc = self._proc, None
        terminate(proc, STOP_DEADLINE_S)

    def env(self) -> dict[str, str]:
        """An environment for the docker CLI pointed at this target (DOCKER_HOST set, no contexts)."""
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env.pop("DOCKER_CONTEXT", None)
        return env


def target(name: str | None = None) -> Target:
    """The Target named by `name`, else by SKIFF_TARGET (default skiff)."""
    name = name or os.environ.get("SKIFF_TARGET", "skiff")
    if name == "skiff":
        return Target("skiff", os.environ.get("SKIFF_HOST", SKIFF_DEFAULT_HOST))
    if name == "docker":
        return Target("docker", DOCKER_HOST)
    raise ValueError(f"SKIFF_TARGET must be one of {TARGETS}, got {name!r}")


def wait_until(predicate: object, deadline_s: float = 10.0, interval_s: float = 0.05) -> bool:
    """Poll `predicate()` until true or the deadline passes (no bare sleeps as synchronisation)."""
    assert callable(predicate)
    end = time.monotonic() + deadline_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(interval_s)
