"""Per-container runtimes: a skiffd with daemon.json ``runtimes`` runs ``docker run --runtime <name>`` under
that binary (the shim's ``--runtime``), keeps skiff-runc for the others, and refuses unknown names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from skiff.engine.backend.networks import remove_daemon_network

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from test_reverse_swap import _rmtree_later  # noqa: E402

from vm import busybox  # noqa: E402
from vm.ping import wait_for_ping  # noqa: E402

pytestmark = pytest.mark.root

REAL_RUNC = "/usr/sbin/runc"


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    if os.geteuid() != 0 or not Path(REAL_RUNC).exists():
        pytest.skip("needs root and Debian's runc")
    base = Path(f"/tmp/skiff-rtchoice-{os.getpid()}")
    base.mkdir(mode=0o700)
    (base / "daemon.json").write_text(json.dumps({"runtimes": {"real": {"path": REAL_RUNC}}}))
    sock = f"unix://{base}/skiff.sock"
    log = open(base / "skiffd.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("skiffd")), "-H", sock, "--data-root", str(base / "data"),
         "--exec-root", str(base / "exec"), "--config-file", str(base / "daemon.json")],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        assert wait_for_ping(sock, 60, alive=lambda: proc.poll() is None), (base / "skiffd.log").read_text()
        busybox.import_into(sock)
        yield sock
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        remove_daemon_network(base / "data", base / "exec")
        for sub in ("exec", "data"):
            subprocess.run(["umount", "-R", str(base / sub)], capture_output=True, check=False)
        _rmtree_later(base)


def docker(host: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "-H", host, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def shim_runtime(container_id: str) -> str:
    """The ``--runtime`` of the container's shim, read from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if any(a.endswith("skiff-shim") for a in argv[:2]) and container_id in argv:
            return argv[argv.index("--runtime") + 1]
    raise AssertionError(f"no shim for {container_id}")


@pytest.mark.parametrize(("flag", "binary"),
                         [("real", REAL_RUNC), ("runc", "skiff-runc"), ("", "skiff-runc")])
def test_container_runs_under_the_runtime_it_names(host: str, flag: str, binary: str) -> None:
    args = ["--runtime", flag] if flag else []
    res = docker(host, "run", "-d", *args, "busybox", "sleep", "30")
    assert res.returncode == 0, res.stderr
    cid = res.stdout.strip()
    try:
        assert docker(host, "inspect", "-f", "{{.HostConfig.Runtime}}", cid).stdout == (flag or "runc") + "\n"
        assert shim_runtime(cid).endswith(binary)
        assert docker(host, "exec", cid, "echo", "hi").stdout == "hi\n"
        upd = docker(host, "update", "--memory", "64m", "--memory-swap", "128m", cid)
        assert upd.returncode == 0, upd.stderr
        limit = Path(f"/sys/fs/cgroup/memory/skiff/{cid}/memory.limit_in_bytes")
        assert not limit.exists() or int(limit.read_text()) == 64 << 20
    finally:
        docker(host, "rm", "-f", cid)


def test_info_lists_the_configured_runtime(host: str) -> None:
    runtimes = json.loads(docker(host, "info", "--format", "{{json .Runtimes}}").stdout)
    assert runtimes["real"] == {"path": REAL_RUNC} and "runc" in runtimes


def test_unknown_runtime_is_a_400(host: str) -> None:
    res = docker(host, "create", "--runtime", "nosuch", "busybox", "true")
    assert res.returncode == 1
    assert "Error response from daemon: Unknown runtime specified nosuch" in res.stderr
