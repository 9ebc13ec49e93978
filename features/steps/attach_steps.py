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


def _hijack(world: World, path: str, multiplexed: bool, body: dict[str, Any] | None = None) -> RawStream:
    """dockerd 20.10 labels every attach stream raw-stream; it is multiplexed when there is no tty."""
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
    tty = bool(world.inspect(ident)["Config"]["Tty"])
    path = api.v(f"/containers/{ident}/attach?{world.expand(query)}")
    _streams(world)[name] = _hijack(world, path, not tty)


@when('I start the exec "{key}" attached as "{name}"')
def step_exec_attached(context: Any, key: str, name: str) -> None:
    world = context.world
    exec_id = world.values[key]
    resp = api.check(world.http.get(api.v(f"/exec/{exec_id}/json")), 200)
    tty = bool(resp.json()["ProcessConfig"]["tty"])
    path = api.v(f"/exec/{exec_id}/start")
    _streams(world)[name] = _hijack(world, path, not tty, {"Detach": False, "Tty": tty})


@then('the attach "{name}" answers {status:d}')
def step_attach_status(context: Any, name: str, status: int) -> None:
    stream = _stream(context.world, name)
    assert stream.status == status, stream.head


@then('the attach "{name}" has the header "{header}"')
def step_attach_header(context: Any, name: str, header: str) -> None:
    stream = _stream(context.world, name)
    lines = [line.strip().lower() for line in stream.head.decode("latin-1").split("\r\n")[1:]]
    assert header.lower() in lines, stream.head


@then('the attach "{name}" ends with stdout "{out}" and no stderr')
def step_attach_demuxed_out(context: Any, name: str, out: str) -> None:
    step_attach_demuxed(context, name, out, "")


@then('the attach "{name}" ends with stdout "{out}" and stderr "{err}"')
def step_attach_demuxed(context: Any, name: str, out: str, err: str) -> None:
    stream = _stream(context.world, name)
    assert stream.eof.wait(DEADLINE_S), f"the attach still streams; got {stream.text()!r}"
    got: dict[int, bytes] = {1: b"", 2: b""}
    buf = bytes(stream.raw)
    while len(buf) >= 8:
        size = int.from_bytes(buf[4:8], "big")
        got[buf[0]] = got.get(buf[0], b"") + buf[8:8 + size]
        buf = buf[8 + size:]
    assert (got[1], got[2]) == (_unescape(out).encode(), _unescape(err).encode()), got


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


@dataclass
class WsClient:
    """A websocket client (the ``websockets`` library) with a reader thread keeping every message."""

    conn: Any
    messages: list[str | bytes] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)
    close_code: int | None = None

    def start(self) -> WsClient:
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # a reset ends the reading as a close does
            for message in self.conn:
                self.messages.append(message)
        self.close_code = self.conn.close_code
        self.closed.set()

    def payload(self) -> bytes:
        return b"".join(m.encode() if isinstance(m, str) else m for m in self.messages)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


def _ws(world: World, name: str) -> WsClient:
    client = world.values.get(f"_ws_{name}")
    assert client is not None, f"no websocket named {name!r}"
    return client  # type: ignore[no-any-return]


@when('I open the attach websocket "{name}" of "{alias}" with "{query}"')
@given('I opened the attach websocket "{name}" of "{alias}" with "{query}"')
def step_ws_open(context: Any, name: str, alias: str, query: str) -> None:
    _ws_open(context.world, name, alias, query, api.API_VERSION)


@when('I open the attach websocket "{name}" of "{alias}" with "{query}" at API version {version}')
def step_ws_open_version(context: Any, name: str, alias: str, query: str, version: str) -> None:
    _ws_open(context.world, name, alias, query, version)


def _ws_open(world: World, name: str, alias: str, query: str, version: str) -> None:
    from websockets.sync.client import unix_connect

    ident = world.container_id(alias)
    conn = unix_connect(unix_path(world.target.host),
                        f"ws://docker/v{version}/containers/{ident}/attach/ws?{world.expand(query)}",
                        open_timeout=DEADLINE_S, close_timeout=2)
    client = WsClient(conn).start()
    world.values[f"_ws_{name}"] = client
    _closer(world, client.close)


@when('I write the {kind:w} message "{text}" to the websocket "{name}"')
def step_ws_send(context: Any, kind: str, text: str, name: str) -> None:
    data = _unescape(text)
    _ws(context.world, name).conn.send(data if kind == "text" else data.encode())


@when('I close the websocket "{name}"')
def step_ws_close(context: Any, name: str) -> None:
    _ws(context.world, name).close()


@then('the websocket "{name}" receives "{text}"')
def step_ws_receives(context: Any, name: str, text: str) -> None:
    client = _ws(context.world, name)
    want = _unescape(text).encode()
    try:
        poll(lambda: want in client.payload(), deadline_s=DEADLINE_S, what=f"{want!r} on the websocket")
    except AssertionError as err:
        raise AssertionError(f"{err}; got {client.messages!r}") from None


@then('the websocket "{name}" messages are all {kind:w}')
def step_ws_kind(context: Any, name: str, kind: str) -> None:
    messages = _ws(context.world, name).messages
    assert messages, "no message"
    want = str if kind == "text" else bytes
    assert all(isinstance(m, want) for m in messages), messages


@then('the websocket "{name}" is closed with code {code:d}')
def step_ws_closed(context: Any, name: str, code: int) -> None:
    client = _ws(context.world, name)
    assert client.closed.wait(DEADLINE_S), f"still open; got {client.messages!r}"
    assert client.close_code == code, client.close_code


@when('I close the attach "{name}"')
def step_close_attach(context: Any, name: str) -> None:
    _stream(context.world, name).close()
