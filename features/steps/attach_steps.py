"""Raw attach steps: hijacked ``attach`` and ``exec start`` sockets and the ``attach/ws`` websocket, driven
byte by byte as a client library would (detach keys, several clients, ``logs=1`` replay). Every connection a
scenario opens is closed at its end (``_closers``); waits poll with a deadline, no sleeps."""

from __future__ import annotations

import contextlib
import json
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from behave import given, then, when

from conformance.harness import api
from conformance.harness.world import World, poll
from vm.ping import unix_path

DEADLINE_S = 15.0


def _unescape(text: str) -> str:
    return text.encode().decode("unicode_escape")


def _closer(world: World, fn: Any) -> None:
    world.values.setdefault("_closers", []).append(fn)


@dataclass
class RawStream:
    """One hijacked connection; a reader thread collects the output (demuxed when multiplexed)."""

    sock: socket.socket
    head: bytes
    multiplexed: bool
    raw: bytearray = field(default_factory=bytearray)
    eof: threading.Event = field(default_factory=threading.Event)

    def start(self, rest: bytes) -> RawStream:
        self.raw += rest
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.raw += data
        except OSError:
            pass
        self.eof.set()

    @property
    def status(self) -> int:
        return int(self.head.split(b" ", 2)[1])

    def text(self) -> bytes:
        """The payload: stdcopy frames joined when multiplexed, else the raw bytes."""
        if not self.multiplexed:
            return bytes(self.raw)
        out, buf = bytearray(), bytes(self.raw)
        while len(buf) >= 8:
            size = int.from_bytes(buf[4:8], "big")
            if len(buf) < 8 + size:
                break
            out += buf[8:8 + size]
            buf = buf[8 + size:]
        return bytes(out)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _hijack(world: World, path: str, body: dict[str, Any] | None = None) -> RawStream:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(unix_path(world.target.host))
    payload = json.dumps(body).encode() if body is not None else b""
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload
    )
    sock.settimeout(DEADLINE_S)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(4096)
        if not data:
            break
        buf += data
    sock.settimeout(None)
    head, _, rest = buf.partition(b"\r\n\r\n")
    multiplexed = b"multiplexed-stream" in head.lower()
    stream = RawStream(sock, head, multiplexed).start(rest)
    _closer(world, stream.close)
    return stream


def _streams(world: World) -> dict[str, RawStream]:
    streams: dict[str, RawStream] = world.values.setdefault("_streams", {})
    return streams


def _stream(world: World, name: str) -> RawStream:
    stream = _streams(world).get(name)
    assert stream is not None, f"no attach named {name!r}"
    return stream


@given('a container "{alias}" running "{command}" with a tty and stdin open')
def step_tty_container(context: Any, alias: str, command: str) -> None:
    _running(context.world, alias, command, tty=True)


@given('a container "{alias}" running "{command}" with stdin open')
def step_stdin_container(context: Any, alias: str, command: str) -> None:
    _running(context.world, alias, command, tty=False)


def _running(world: World, alias: str, command: str, tty: bool) -> None:
    ident = world.create_container(alias, {"Cmd": shlex.split(command), "Tty": tty, "OpenStdin": True,
                                           "HostConfig": {"NetworkMode": "none"}})
    api.check(world.http.post(api.v(f"/containers/{ident}/start")), 204)
    world.wait_status(ident, "running")
    world.values["_t0"] = world.values.get("_t0") or int(time.time()) - 1


@when('I attach "{name}" to "{alias}" with "{query}"')
@given('I attached "{name}" to "{alias}" with "{query}"')
def step_attach(context: Any, name: str, alias: str, query: str) -> None:
    world = context.world
    ident = world.container_id(alias)
    _streams(world)[name] = _hijack(world, api.v(f"/containers/{ident}/attach?{world.expand(query)}"))


@when('I start the exec "{key}" attached as "{name}"')
def step_exec_attached(context: Any, key: str, name: str) -> None:
    world = context.world
    exec_id = world.values[key]
    tty = bool(world.values.get(f"_tty_{key}", True))
    _streams(world)[name] = _hijack(world, api.v(f"/exec/{exec_id}/start"), {"Detach": False, "Tty": tty})


@then('the attach "{name}" answers {status:d}')
def step_attach_status(context: Any, name: str, status: int) -> None:
    stream = _stream(context.world, name)
    assert stream.status == status, stream.head


@then('the attach "{name}" body is "{text}"')
def step_attach_body(context: Any, name: str, text: str) -> None:
    stream = _stream(context.world, name)
    want = _unescape(text).encode()
    poll(lambda: stream.eof.is_set() or bytes(stream.raw) == want, deadline_s=DEADLINE_S, what="the body")
    assert bytes(stream.raw) == want, bytes(stream.raw)


@when('I send "{text}" to the attach "{name}"')
def step_send(context: Any, text: str, name: str) -> None:
    _stream(context.world, name).send(_unescape(text).encode())


@then('the attach "{name}" shows "{text}"')
def step_shows(context: Any, name: str, text: str) -> None:
    stream = _stream(context.world, name)
    want = _unescape(context.world.expand(text)).encode()
    try:
        poll(lambda: want in stream.text(), deadline_s=DEADLINE_S, what=f"{want!r} in the output")
    except AssertionError as err:
        raise AssertionError(f"{err}; got {stream.text()!r}") from None


@then('the attach "{name}" ends')
def step_ends(context: Any, name: str) -> None:
    stream = _stream(context.world, name)
    assert stream.eof.wait(DEADLINE_S), f"the attach still streams; got {stream.text()!r}"


@then('the attach "{name}" output ends with "{text}"')
def step_ends_with(context: Any, name: str, text: str) -> None:
    stream = _stream(context.world, name)
    assert stream.eof.wait(DEADLINE_S), f"the attach still streams; got {stream.text()!r}"
    want = _unescape(text).encode()
    assert stream.text().endswith(want), stream.text()


@then('the attach "{name}" is still open')
def step_open(context: Any, name: str) -> None:
    """Checked after an echo through the same stream proved later bytes still flow."""
    assert not _stream(context.world, name).eof.is_set()


@then('the events of "{alias}" include "{actions}"')
def step_events(context: Any, alias: str, actions: str) -> None:
    world = context.world
    ident = world.container_id(alias)
    since = world.values.get("_t0") or int(time.time()) - 60

    def got() -> list[str]:
        until = int(time.time()) + 1
        resp = world.http.get(api.v(f"/events?since={since}&until={until}&filters="
                                    f"{api.filters(container=[ident])}"))
        api.check(resp, 200)
        return [json.loads(line)["Action"] for line in resp.text.splitlines() if line.strip()]

    wanted = [a.strip() for a in actions.split(",")]
    try:
        poll(lambda: all(a in got() for a in wanted), deadline_s=DEADLINE_S, what=f"events {wanted}")
    except AssertionError as err:
        raise AssertionError(f"{err}; got {got()}") from None


@given('the log of "{alias}" shows "{text}"')
def step_log_shows(context: Any, alias: str, text: str) -> None:
    world = context.world
    ident = world.container_id(alias)
    want = _unescape(text)

    def shows() -> bool:
        resp = api.check(world.http.get(api.v(f"/containers/{ident}/logs?stdout=1&stderr=1")), 200)
        return want in resp.content.decode(errors="replace")

    poll(shows, deadline_s=DEADLINE_S, what=f"{want!r} in the log")
