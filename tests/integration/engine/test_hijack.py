"""The hijack protocol end to end: raw sockets, and the real docker CLI running ``docker exec``."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from skiff.engine.streams import StdType, decode
from support import ServerThread, fake_app, raw_request  # type: ignore[import-not-found]

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("hijack") / "skiff.sock"
    with ServerThread(path, fake_app()):
        yield path


def post(path: str, body: dict[str, object], upgrade: bool) -> bytes:
    data = json.dumps(body).encode()
    head = [f"POST {path} HTTP/1.1", "Host: skiff", "Content-Type: application/json",
            f"Content-Length: {len(data)}"]
    if upgrade:
        head += ["Connection: Upgrade", "Upgrade: tcp"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def create_exec(server: Path, cmd: list[str]) -> str:
    answer = raw_request(server, post("/v1.39/containers/fake/exec", {"Cmd": cmd, "AttachStdin": True}, False)
                         .replace(b"Host: skiff", b"Host: skiff\r\nConnection: close"))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201"), answer
    return str(json.loads(body)["Id"])


def split(answer: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def test_upgrade_gets_101_and_stdin_is_echoed_after_half_close(server: Path) -> None:
    exec_id = create_exec(server, ["cat"])
    answer = raw_request(server, post(f"/v1.39/exec/{exec_id}/start", {"Detach": False, "Tty": False}, True),
                         stdin=b"hello\nworld\n")
    lines, body = split(answer)
    assert lines[0] == b"HTTP/1.1 101 UPGRADED"
    headers = {k.lower(): v for k, _, v in (ln.partition(b": ") for ln in lines[1:])}
    assert headers[b"content-type"] == b"application/vnd.docker.raw-stream"
    assert headers[b"connection"] == b"Upgrade" and headers[b"upgrade"] == b"tcp"
    assert headers[b"api-version"] == b"1.39"
    assert b"transfer-encoding" not in headers and b"content-length" not in headers
    assert b"".join(d for _, d in decode(body)) == b"hello\nworld\n"


def test_without_upgrade_200_raw_stream(server: Path) -> None:
    exec_id = create_exec(server, ["echo", "hi", "there"])
    lines, body = split(raw_request(server, post(f"/exec/{exec_id}/start", {"Detach": False}, False)))
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"content-type: application/vnd.docker.raw-stream" in [ln.lower() for ln in lines]
    assert decode(body) == [(StdType.STDOUT, b"hi there\n")]


def test_errors_before_the_hijack_are_plain_http(server: Path) -> None:
    lines, body = split(raw_request(server, post("/v1.39/exec/nope/start", {"Detach": False}, True)))
    assert lines[0] == b"HTTP/1.1 404 Not Found"
    assert json.loads(body) == {"message": "No such exec instance: nope"}


def test_stdin_sent_with_the_request_is_not_lost(server: Path) -> None:
    exec_id = create_exec(server, ["cat"])
    request = post(f"/v1.39/exec/{exec_id}/start", {"Detach": False}, True)
    _, body = split(raw_request(server, request, stdin=b"x" * 100000))
    assert len(b"".join(d for _, d in decode(body))) == 100000


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI")
def test_docker_exec_with_piped_stdin(server: Path) -> None:
    host = f"unix://{server}"
    done = subprocess.run(["docker", "-H", host, "exec", "-i", "fake", "cat"], input=b"via the docker cli\n",
                          capture_output=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"via the docker cli\n", b"")
    done = subprocess.run(["docker", "-H", host, "exec", "fake", "echo", "a", "b"], capture_output=True,
                          timeout=30)
    assert (done.returncode, done.stdout) == (0, b"a b\n")
    done = subprocess.run(["docker", "-H", host, "exec", "fake", "fail"], capture_output=True, timeout=30)
    assert (done.returncode, done.stderr) == (3, b"oops\n")


@pytest.mark.skipif(shutil.which("docker") is None or shutil.which("script") is None,
                    reason="needs the docker CLI and script(1)")
def test_docker_exec_with_a_tty(server: Path) -> None:
    done = subprocess.run(["script", "-qec", f"docker -H unix://{server} exec -it fake echo tty works",
                           "/dev/null"], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stdout.replace(b"\r\n", b"\n")) == (0, b"tty works\n")
