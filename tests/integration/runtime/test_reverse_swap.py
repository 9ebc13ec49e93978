"""The reverse swap: Skiff's daemons and shim drive the real runc (``skiffd --add-runtime real=<runc>
--default-runtime real``), and the container and isolation scenarios pass unchanged."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from skiff.engine.backend.networks import remove_daemon_network

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from vm.ping import wait_for_ping  # noqa: E402

pytestmark = pytest.mark.root

REAL_RUNC = "/usr/sbin/runc"
FEATURES = ["features/container", "features/isolation"]


def test_scenarios_pass_with_real_runc_under_skiff() -> None:
    if os.geteuid() != 0 or not Path(REAL_RUNC).exists():
        pytest.skip("needs root and Debian's runc")
    base = Path(f"/tmp/skiff-swap-{os.getpid()}")
    base.mkdir(mode=0o700)
    host = f"unix://{base}/skiff.sock"
    skiffd = Path(sys.executable).with_name("skiffd")
    log = open(base / "skiffd.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [
            str(skiffd),
            "-H",
            host,
            "--data-root",
            str(base / "data"),
            "--exec-root",
            str(base / "exec"),
            "--config-file",
            str(_empty_config(base)),
            "--add-runtime",
            f"real={REAL_RUNC}",
            "--default-runtime",
            "real",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        assert wait_for_ping(host, 60, alive=lambda: proc.poll() is None), (base / "skiffd.log").read_text()
        env = {**os.environ, "SKIFF_TARGET": "skiff", "SKIFF_HOST": host, "SKIFF_LOG_DIR": str(base)}
        res = subprocess.run(
            [str(Path(sys.executable).with_name("behave")), "--tags=not @wip", "-f", "progress", *FEATURES],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
        assert " 0 failed" in res.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        remove_daemon_network(base / "data", base / "exec")  # its private bridge and nftables table
        for sub in ("exec", "data"):
            subprocess.run(["umount", "-R", str(base / sub)], capture_output=True, check=False)
        _rmtree_later(base)


def _empty_config(base: Path) -> Path:
    path = base / "daemon.json"
    path.write_text("{}")
    return path


def _rmtree_later(base: Path) -> None:
    """Shims outlive skiffd for a moment after their containers are gone; retry briefly."""
    deadline = time.monotonic() + 10
    while True:
        shutil.rmtree(base, ignore_errors=True)
        if not base.exists() or time.monotonic() > deadline:
            return
        time.sleep(0.1)
