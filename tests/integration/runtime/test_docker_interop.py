"""skiff-runc under a real Docker: dockerd + containerd + containerd-shim-runc-v2 drive it as they drive runc.

A private dockerd (own socket, data root, exec root, pidfile; attached to a bridge this module creates, no
iptables) gets ``--add-runtime skiff=<skiff-runc>``; every scenario runs with ``--runtime runc`` first (the
reference behaviour) and then ``--runtime skiff``. The shared reference daemon is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from vm import busybox  # noqa: E402
from vm.local import LocalDockerd  # noqa: E402

# dockerd outlives the Popen object that started it (it is stopped through its pidfile)
pytestmark = [pytest.mark.root, pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

SKIFF_RUNC = str(Path(sys.executable).with_name("skiff-runc"))
BRIDGE = "skr0"
BRIDGE_CIDR = "10.213.0.1/24"
RUNTIMES = ["runc", "skiff"]


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.geteuid() != 0 or not shutil.which("dockerd") or not shutil.which("containerd"):
        pytest.skip("needs root, dockerd and containerd")
    made_bridge = False
    if _ip("link", "show", BRIDGE).returncode != 0:
        for cmd in (
            ("link", "add", BRIDGE, "type", "bridge"),
            ("addr", "add", BRIDGE_CIDR, "dev", BRIDGE),
            ("link", "set", BRIDGE, "up"),
        ):
            res = _ip(*cmd)
            assert res.returncode == 0, res.stderr
        made_bridge = True
    base = Path(f"/tmp/skiff-interop-{os.getpid()}")  # short: the exec root holds unix sockets
    base.mkdir(mode=0o700)
    daemon = LocalDockerd(
        host=f"unix://{base}/docker.sock",
        data_root=base / "data",
        exec_root=base / "exec",
        pidfile=base / "docker.pid",
        log_file=base / "dockerd.log",
        # never --bridge none: a second dockerd would delete docker0, which the reference needs
        extra_args=(
            f"--bridge={BRIDGE}",
            "--iptables=false",
            "--ip-masq=false",
            "--ip-forward=false",
            "--add-runtime",
            f"skiff={SKIFF_RUNC}",
        ),
    )
    try:
        daemon.start()
        busybox.import_into(daemon.host)
        yield daemon.host
    finally:
        try:
            subprocess.run(
                [
                    busybox.docker_cli(),
                    "-H",
                    daemon.host,
                    "rm",
                    "-f",
                    *_docker(daemon.host, "ps", "-aq").stdout.split(),
                ],
                capture_output=True,
                check=False,
            )
            daemon.stop()
        finally:
            subprocess.run(["umount", "-R", str(base / "data")], capture_output=True, check=False)
            subprocess.run(["umount", "-R", str(base / "exec")], capture_output=True, check=False)
            shutil.rmtree(base, ignore_errors=True)
            if made_bridge:
                _ip("link", "del", BRIDGE)


def _docker(
    host: str, *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [busybox.docker_cli(), "-H", host, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ok(host: str, *args: str, stdin: str | None = None) -> str:
    res = _docker(host, *args, stdin=stdin)
    assert res.returncode == 0, f"docker {' '.join(args)} exited {res.returncode}: {res.stderr}"
    return res.stdout


def _inspect(host: str, name: str, fmt: str) -> str:
    return _ok(host, "inspect", "-f", fmt, name).strip()


@pytest.fixture
def name(dockerd: str) -> Iterator[str]:
    value = f"interop-{uuid.uuid4().hex[:10]}"
    yield value
    _docker(dockerd, "rm", "-f", value)


def _wait_status(host: str, name: str, want: str, deadline_s: float = 20) -> None:
    end = time.monotonic() + deadline_s
    while (status := _inspect(host, name, "{{.State.Status}}")) != want:
        assert time.monotonic() < end, f"{name} stayed {status}, wanted {want}"
        time.sleep(0.05)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_rm_echo(dockerd: str, runtime: str) -> None:
    res = _docker(dockerd, "run", "--runtime", runtime, "--rm", "busybox", "echo", "hi")
    assert (res.returncode, res.stdout, res.stderr) == (0, "hi\n", "")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exit_code_and_stderr(dockerd: str, runtime: str) -> None:
    res = _docker(
        dockerd, "run", "--runtime", runtime, "--rm", "busybox", "sh", "-c", "echo oops >&2; exit 3"
    )
    assert (res.returncode, res.stdout, res.stderr) == (3, "", "oops\n")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_detached_stop(dockerd: str, runtime: str, name: str) -> None:
    _ok(
        dockerd,
        "run",
        "--runtime",
        runtime,
        "-d",
        "--name",
        name,
        "busybox",
        "sh",
        "-c",
        "trap 'exit 7' TERM; while :; do sleep 0.1; done",
    )
    _wait_status(dockerd, name, "running")
    _ok(dockerd, "stop", "-t", "20", name)
    assert _inspect(dockerd, name, "{{.State.Status}} {{.State.ExitCode}}") == "exited 7"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_detached_kill(dockerd: str, runtime: str, name: str) -> None:
    _ok(dockerd, "run", "--runtime", runtime, "-d", "--name", name, "busybox", "sleep", "100")
    _ok(dockerd, "kill", name)
    _wait_status(dockerd, name, "exited")
    assert _inspect(dockerd, name, "{{.State.ExitCode}}") == "137"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_pause_unpause_top(dockerd: str, runtime: str, name: str) -> None:
    _ok(dockerd, "run", "--runtime", runtime, "-d", "--name", name, "busybox", "sleep", "100")
    _ok(dockerd, "pause", name)
    assert _inspect(dockerd, name, "{{.State.Status}} {{.State.Paused}}") == "paused true"
    _ok(dockerd, "unpause", name)
    assert _inspect(dockerd, name, "{{.State.Status}} {{.State.Paused}}") == "running false"
    top = _ok(dockerd, "top", name)
    assert "sleep 100" in top
    _ok(dockerd, "pause", name)
    _ok(dockerd, "rm", "-f", name)  # a paused container is killed and removed


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_update_and_stats(dockerd: str, runtime: str, name: str) -> None:
    _ok(
        dockerd,
        "run",
        "--runtime",
        runtime,
        "-d",
        "--name",
        name,
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "busybox",
        "sleep",
        "100",
    )
    _ok(dockerd, "update", "--memory", "96m", "--memory-swap", "192m", "--pids-limit", "30", name)
    assert _inspect(dockerd, name, "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}") == f"{96 << 20} 30"
    cid = _inspect(dockerd, name, "{{.Id}}")
    limit = Path(f"/sys/fs/cgroup/memory/docker/{cid}/memory.limit_in_bytes")
    if limit.exists():
        assert int(limit.read_text()) == 96 << 20
    stats = _ok(dockerd, "stats", "--no-stream", "--format", "{{.MemUsage}} {{.PIDs}}", name)
    assert "96MiB" in stats and stats.split()[-1] == "1", stats


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_oom_killed(dockerd: str, runtime: str, name: str) -> None:
    res = _docker(
        dockerd,
        "run",
        "--runtime",
        runtime,
        "--name",
        name,
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "x=a; while :; do x=$x$x; done",
    )
    assert res.returncode == 137, res.stderr
    assert _inspect(dockerd, name, "{{.State.OOMKilled}} {{.State.ExitCode}}") == "true 137"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_isolation_defaults(dockerd: str, runtime: str) -> None:
    script = (
        "cat /proc/kcore >/dev/null 2>&1 && echo kcore-readable; "
        "mount -t tmpfs t /mnt 2>/dev/null && echo mount-worked; "
        "ls /sys/class/net | tr '\\n' ' '; echo; ps -o pid | wc -l"
    )
    out = _ok(dockerd, "run", "--runtime", runtime, "--rm", "busybox", "sh", "-c", script)
    lines = out.splitlines()
    assert "kcore-readable" not in out and "mount-worked" not in out, out
    assert lines[0].split() == ["eth0", "lo"] or lines[0].split() == ["lo"], out
    assert int(lines[1]) <= 4, out  # header, sh, ps (and wc): no host processes


def _has_exec() -> bool:
    res = subprocess.run([SKIFF_RUNC, "exec", "--help"], capture_output=True, text=True, check=False)
    return "unknown command" not in (res.stdout + res.stderr)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec(dockerd: str, runtime: str, name: str) -> None:
    if runtime == "skiff" and not _has_exec():
        pytest.skip("skiff-runc exec is not there yet (issue 3)")
    _ok(dockerd, "run", "--runtime", runtime, "-d", "--name", name, "busybox", "sleep", "100")
    res = _docker(dockerd, "exec", name, "sh", "-c", "echo in-$HOSTNAME; exit 5")
    assert res.returncode == 5 and res.stdout.startswith("in-"), res


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_interactive_stdin(dockerd: str, runtime: str) -> None:
    res = _docker(dockerd, "run", "--runtime", runtime, "--rm", "-i", "busybox", "cat", stdin="through\n")
    assert (res.returncode, res.stdout) == (0, "through\n"), res.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_tty(dockerd: str, runtime: str) -> None:
    if runtime == "skiff" and not (REPO / "impl/skiff/runtime/console.py").exists():
        pytest.skip("skiff-runc --console-socket is not there yet (issue 3)")
    res = _docker(dockerd, "run", "--runtime", runtime, "--rm", "-t", "busybox", "sh", "-c", "tty; echo ok")
    assert res.returncode == 0, res.stderr
    assert res.stdout.replace("\r", "").split("\n")[:2] == ["/dev/pts/0", "ok"], res.stdout
