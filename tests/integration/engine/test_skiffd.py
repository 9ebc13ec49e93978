"""skiffd as a process: listeners (unix, tcp with --insecure-tcp, fd://), the real docker CLI, Docker's
error shapes over the wire, and start-up time to the first served /_ping."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from skiff.engine.backend.networks import remove_daemon_network

pytestmark = pytest.mark.root

SKIFFD = str(Path(sys.executable).parent / "skiffd")
NEEDS_DOCKER = pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ping_unix(path: Path) -> bool:
    """One raw ``GET /_ping`` (httpx leaks the socket when connect fails)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(path))
            sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: skiff\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        except OSError:
            return False
    return answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"OK")


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    sock: Path
    tcp: str
    startup_seconds: float
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.sock)), base_url="http://skiff",
                            timeout=10)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(5)
    return process.returncode


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("skiffd")
    sock = root / "skiff.sock"
    port = free_port()
    log = root / "skiffd.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [SKIFFD, "-H", f"unix://{sock}", "-H", f"tcp://127.0.0.1:{port}", "--insecure-tcp",
             "--containerd", str(root / "no-containerd.sock"), "--data-root", str(root / "data"),
             "--exec-root", str(root / "exec"), "--config-file", os.devnull],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not ping_unix(sock):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        print(f"\nskiffd start-up to first /_ping: {elapsed * 1000:.0f} ms")
        yield Daemon(process, sock, f"tcp://127.0.0.1:{port}", elapsed, log)
    finally:
        assert stop(process) == 0, log.read_text()
        remove_daemon_network(root / "data", root / "exec")  # its private bridge and nftables table
    assert not sock.exists()


def test_startup_time_is_reasonable(daemon: Daemon) -> None:
    assert daemon.startup_seconds < 5


def test_logs_are_logfmt_and_warn_about_insecure_tcp(daemon: Daemon) -> None:
    text = daemon.log.read_text()
    assert 'level=warning msg="[!] DON\'T BIND ON ANY IP ADDRESS WITHOUT setting --tlsverify' in text
    first = text.splitlines()[0]
    assert first.startswith('time="') and " level=" in first and " msg=" in first


def test_socket_mode(daemon: Daemon) -> None:
    assert daemon.sock.stat().st_mode & 0o777 == 0o660


@NEEDS_DOCKER
@pytest.mark.parametrize("which", ["unix", "tcp"])
def test_docker_version(daemon: Daemon, which: str) -> None:
    host = f"unix://{daemon.sock}" if which == "unix" else daemon.tcp
    done = subprocess.run(["docker", "-H", host, "version", "--format", "{{json .}}"], capture_output=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    version = json.loads(done.stdout)
    assert version["Server"]["ApiVersion"] == "1.39"
    assert version["Client"]["ApiVersion"] == "1.39"  # negotiated down from the client's 1.5x
    assert [c["Name"] for c in version["Server"]["Components"]] == ["Engine", "containerd", "runc"]


@NEEDS_DOCKER
def test_docker_info_renders(daemon: Daemon) -> None:
    done = subprocess.run(["docker", "-H", f"unix://{daemon.sock}", "info"], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    for needle in ("Server Version: 20.10.24+skiff", "Storage Driver: overlay2", "Cgroup Driver: cgroupfs",
                   "Swarm: inactive", "Default Runtime: runc", f"Docker Root Dir: {daemon.sock.parent}/data"):
        assert needle in out, out
    assert b"ERROR" not in done.stderr and b"error" not in done.stderr.lower(), done.stderr


def test_error_shapes_over_the_wire(daemon: Daemon) -> None:
    with daemon.client() as c:
        r = c.get("/v1.39/plugins")
        assert (r.status_code, r.headers["content-type"], r.json()) == (
            501, "application/json", {"message": "PluginList is not implemented by skiff yet"})
        r = c.get("/v1.39/swarm")
        assert r.status_code == 503 and "not a swarm manager" in r.json()["message"]
        r = c.get("/v1.39/nowhere")
        assert (r.status_code, r.text) == (404, '{"message":"page not found"}\n')
        r = c.get("/v1.99/version")
        assert (r.status_code, r.json()) == (400, {
            "message": "client version 1.99 is too new. Maximum supported API version is 1.39"})
        r = c.head("/_ping")
        assert (r.status_code, r.headers["content-length"], r.headers["api-version"]) == (200, "0", "1.39")
        for path in ("/_ping", "/v1.24/_ping", "/v1.39/_ping"):
            assert c.get(path).text == "OK"
        assert c.get("/version").json()["ApiVersion"] == "1.39"
        assert c.get("/info").json()["DockerRootDir"].endswith("/data")
    with httpx.Client(base_url=daemon.tcp.replace("tcp://", "http://"), timeout=10) as c:
        assert c.get("/_ping").text == "OK"


def test_tcp_without_tls_or_insecure_flag_refuses_to_start(tmp_path: Path) -> None:
    done = subprocess.run([SKIFFD, "-H", f"tcp://127.0.0.1:{free_port()}", "--containerd", "/nonexistent",
                           "--exec-root", str(tmp_path), "--config-file", os.devnull],
                          capture_output=True, timeout=30)
    assert done.returncode == 1
    assert b"without TLS" in done.stderr


def test_flag_and_file_conflict(tmp_path: Path) -> None:
    file = tmp_path / "daemon.json"
    file.write_text('{"hosts": ["unix:///x.sock"]}')
    done = subprocess.run([SKIFFD, "-H", "unix:///y.sock", "--config-file", str(file)], capture_output=True,
                          timeout=30)
    assert done.returncode == 1
    assert b"specified both as a flag and in the configuration file: hosts" in done.stderr


# what systemd does before exec: the socket as fd 3, LISTEN_PID = the exec'd process, LISTEN_FDS = 1
ACTIVATE = """import os, sys
fd = int(sys.argv[1])
os.dup2(fd, 3)
os.close(fd)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execv(sys.argv[2], sys.argv[2:])
"""


def test_fd_socket_activation(tmp_path: Path) -> None:
    path = tmp_path / "activated.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    fd = listener.fileno()

    with (tmp_path / "log").open("wb") as log_out:
        process = subprocess.Popen(
            [sys.executable, "-c", ACTIVATE, str(fd), SKIFFD, "-H", "fd://",
             "--containerd", str(tmp_path / "none.sock"), "--exec-root", str(tmp_path / "exec"),
             "--data-root", str(tmp_path / "data"), "--config-file", os.devnull],
            pass_fds=(fd,), stdout=subprocess.DEVNULL, stderr=log_out)
    listener.close()
    try:
        deadline = time.monotonic() + 30
        while not ping_unix(path):
            assert process.poll() is None, (tmp_path / "log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        assert stop(process) == 0
        remove_daemon_network(tmp_path / "data", tmp_path / "exec")


def containerd_child(parent: int) -> int | None:
    """The live skiff-containerd child of ``parent``, read from /proc (ps truncates args to $COLUMNS)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and b"skiff-containerd" in cmdline:
            return int(entry.name)
    return None


def test_supervised_containerd_is_started_restarted_and_stopped(tmp_path: Path) -> None:
    sock = tmp_path / "skiff.sock"
    process = subprocess.Popen([SKIFFD, "-H", f"unix://{sock}", "--exec-root", str(tmp_path / "exec"),
                                "--data-root", str(tmp_path / "data"), "--config-file", os.devnull],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    containerd_sock = tmp_path / "exec" / "containerd" / "containerd.sock"
    try:
        deadline = time.monotonic() + 30
        while not (ping_unix(sock) and containerd_sock.exists()):
            assert process.poll() is None
            assert time.monotonic() < deadline, "skiff-containerd did not come up"
            time.sleep(0.05)
        while (found := containerd_child(process.pid)) is None:
            assert time.monotonic() < deadline, "skiff-containerd is not a child of skiffd"
            time.sleep(0.05)
        child_pid = found
        # it is restarted when it dies
        os.kill(child_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (new_pid := containerd_child(process.pid)) in (None, child_pid):
            assert time.monotonic() < deadline, "skiff-containerd was not restarted"
            time.sleep(0.05)
        assert new_pid is not None
        child_pid = new_pid
        assert ping_unix(sock)
    finally:
        assert stop(process) == 0
        remove_daemon_network(tmp_path / "data", tmp_path / "exec")
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child_pid}").exists():
        assert time.monotonic() < deadline, "skiff-containerd outlived skiffd"
        time.sleep(0.05)


def test_sighup_does_not_kill_the_daemon(daemon: Daemon) -> None:
    daemon.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "ignoring SIGHUP" not in daemon.log.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert daemon.process.poll() is None
    assert ping_unix(daemon.sock)
