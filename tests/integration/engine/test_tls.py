"""tcp with mutual TLS (--tlsverify): the docker CLI with client certificates gets in, others do not."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from skiff.engine.backend.networks import remove_daemon_network

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("docker") is None,
                                 reason="needs openssl and the docker CLI")]

SKIFFD = str(Path(sys.executable).parent / "skiffd")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=skiff-test-ca", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-key.pem", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def tls_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    d = tmp_path_factory.mktemp("tls")
    make_pki(d)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (d / "log").open("wb") as log:
        process = subprocess.Popen(
            [SKIFFD, "-H", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", str(d / "ca.pem"),
             "--tlscert", str(d / "server.pem"), "--tlskey", str(d / "server-key.pem"),
             "--containerd", str(d / "none.sock"), "--data-root", str(d / "data"), "--exec-root",
             str(d / "exec"), "--config-file", os.devnull], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, (d / "log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        yield f"tcp://127.0.0.1:{port}", d
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0, (d / "log").read_text()
        remove_daemon_network(d / "data", d / "exec")  # its private bridge and nftables table


def test_docker_cli_with_client_certs(tls_daemon: tuple[str, Path]) -> None:
    host, d = tls_daemon
    done = subprocess.run(["docker", "--tlsverify", "--tlscacert", str(d / "ca.pem"), "--tlscert",
                           str(d / "client.pem"), "--tlskey", str(d / "client-key.pem"), "-H", host,
                           "version", "--format", "{{.Server.APIVersion}}"], capture_output=True, timeout=30)
    assert (done.returncode, done.stdout.strip()) == (0, b"1.39"), done.stderr


def test_client_without_certificate_is_refused(tls_daemon: tuple[str, Path]) -> None:
    host, d = tls_daemon
    context = ssl.create_default_context(cafile=str(d / "ca.pem"))
    address = host.removeprefix("tcp://").split(":")
    with socket.create_connection((address[0], int(address[1])), timeout=10) as raw, \
            pytest.raises((ssl.SSLError, ConnectionError)), \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        if not tls.recv(100):
            raise ConnectionError("closed")


def test_docker_exec_stdin_over_tls_keeps_output_after_close_notify(tmp_path: Path) -> None:
    """The Go client sends close_notify at the end of stdin; output written afterwards must arrive."""
    from support import ServerThread, fake_app  # type: ignore[import-not-found]

    make_pki(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tmp_path / "server.pem"), str(tmp_path / "server-key.pem"))
    context.load_verify_locations(str(tmp_path / "ca.pem"))
    context.verify_mode = ssl.CERT_REQUIRED
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ServerThread(None, fake_app(), tls=context, port=port):
        done = subprocess.run(["docker", "--tlsverify", "--tlscacert", str(tmp_path / "ca.pem"), "--tlscert",
                               str(tmp_path / "client.pem"), "--tlskey", str(tmp_path / "client-key.pem"),
                               "-H", f"tcp://127.0.0.1:{port}", "exec", "-i", "fake", "cat"],
                              input=b"over tls\n", capture_output=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"over tls\n", b"")
