"""A transparent recording proxy on a unix socket in front of a daemon's unix socket.

Bytes are forwarded unchanged in both directions (half-closes too), so the docker CLI, docker-py and raw
httpx all work through it, hijacked attach/exec included. Beside the pipe, a passive tap parses both
directions with two mirrored h11 state machines and hands every finished request/response pair to a
callback. A tap that cannot parse (a hijack, stdin after a non-upgraded attach) goes quiet for that
connection; it never disturbs the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11

from conformance.recorder.validate import Exchange

BODY_CAP = 4 << 20  # bytes kept per response; beyond, the body counts as a stream
READ_SIZE = 65536
TAP_DEATHS: list[str] = []  # why taps stopped parsing (diagnostics)


@dataclass
class _Pending:
    method: str
    target: str
    upgrade: bool


@dataclass
class _Current:
    status: int
    headers: list[tuple[str, str]]
    body: bytearray = field(default_factory=bytearray)
    capped: bool = False


class Tap:
    """Parses a copy of one connection's traffic into Exchanges."""

    def __init__(self, emit: Callable[[Exchange], None]) -> None:
        self.emit = emit
        self.srv = h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 20)
        self.cli = h11.Connection(h11.CLIENT, max_incomplete_event_size=1 << 20)
        self.pending: deque[_Pending] = deque()
        self.current: _Current | None = None
        self.dead = False

    def from_client(self, data: bytes) -> None:
        if self.dead:
            return
        try:
            self.srv.receive_data(data)
            self._drain_client()
        except Exception as exc:
            self._die("client", exc)

    def _drain_client(self) -> None:
        while True:
            ev = self.srv.next_event()
            if ev is h11.NEED_DATA or ev is h11.PAUSED or isinstance(ev, h11.ConnectionClosed):
                return
            if isinstance(ev, h11.Request):
                names = {k.lower() for k, _ in ev.headers}
                self.pending.append(
                    _Pending(ev.method.decode(), ev.target.decode("latin-1"), b"upgrade" in names)
                )
            self.cli.send(ev)  # type: ignore[arg-type]  # NEED_DATA/PAUSED returned above
            if isinstance(ev, h11.EndOfMessage):
                self._next_cycle()  # the answer may have come before the body was all sent

    def _next_cycle(self) -> None:
        """Both messages of an exchange are done on both mirrors: parse the next request and response."""
        if (self.cli.our_state is h11.DONE and self.cli.their_state is h11.DONE
                and self.srv.our_state is h11.DONE and self.srv.their_state is h11.DONE):
            self.cli.start_next_cycle()
            self.srv.start_next_cycle()
            self._drain_client()
            self._drain_server()

    def from_server(self, data: bytes) -> None:
        if self.dead:
            return
        try:
            self.cli.receive_data(data)
            self._drain_server()
        except Exception as exc:
            self._flush(complete=False)
            self._die("server", exc)

    def _drain_server(self) -> None:
        while True:
            ev = self.cli.next_event()
            if ev is h11.NEED_DATA:
                return
            if ev is h11.PAUSED:
                if self.cli.their_state is h11.SWITCHED_PROTOCOL:  # the rest is a raw stream
                    self.dead = True
                return  # else: the request body is still on its way; _next_cycle resumes
            if isinstance(ev, h11.InformationalResponse):
                if ev.status_code == 101 and self.pending:
                    req = self.pending.popleft()
                    self.emit(Exchange(req.method, req.target, 101, _hdrs(ev.headers), b"", True, True))
                continue
            if isinstance(ev, h11.Response):
                self.current = _Current(ev.status_code, _hdrs(ev.headers))
                self.srv.send(ev)
            elif isinstance(ev, h11.Data):
                cur = self.current
                if cur is not None and not cur.capped:
                    if len(cur.body) + len(ev.data) > BODY_CAP:
                        cur.capped = True
                    else:
                        cur.body += ev.data
                self.srv.send(ev)
            elif isinstance(ev, h11.EndOfMessage):
                self.srv.send(ev)
                self._flush(complete=True)
                self._next_cycle()
                return
            elif isinstance(ev, h11.ConnectionClosed):
                self._flush(complete=False)
                return

    def _die(self, side: str, exc: Exception) -> None:
        self.dead = True
        TAP_DEATHS.append(f"{side}: {type(exc).__name__}: {exc}")

    def _flush(self, complete: bool) -> None:
        cur, self.current = self.current, None
        if cur is None or not self.pending:
            return
        req = self.pending.popleft()
        hijacked = req.upgrade and cur.status == 101
        self.emit(
            Exchange(req.method, req.target, cur.status, cur.headers, bytes(cur.body),
                     complete and not cur.capped, hijacked)
        )

    def closed(self) -> None:
        """The connection is gone: a response still open was cut short (logs -f, events); a request
        without any answer is recorded with status 0."""
        if not self.dead:
            self._flush(complete=False)
            while self.pending:
                req = self.pending.popleft()
                self.emit(Exchange(req.method, req.target, 0, [], b"", False, False))
        self.dead = True


def _hdrs(headers: Any) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


class RecordingProxy:
    """`with RecordingProxy(upstream) as p:` listens on `p.host`; `p.exchanges` fills as traffic flows."""

    def __init__(self, upstream: str, listen: str | None = None, tcp: bool = False) -> None:
        """Forward to the unix socket `upstream`; listen on `listen` (a path), or on 127.0.0.1:<free port>
        with `tcp` (a bridge for clients that need a TCP URL, e.g. schemathesis)."""
        self.upstream = upstream
        self.tcp = tcp
        self.port = 0
        self._tmp: str | None = None
        if listen is None and not tcp:
            self._tmp = tempfile.mkdtemp(prefix="skiff-rec-")
            listen = os.path.join(self._tmp, "proxy.sock")
        self.listen = listen or ""
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="recording-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[asyncio.Task[None]] = set()

    @property
    def host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}" if self.tcp else f"unix://{self.listen}"

    @property
    def url(self) -> str:
        """An http:// URL for TCP mode."""
        return f"http://127.0.0.1:{self.port}"

    def _emit(self, ex: Exchange) -> None:
        with self._lock:
            self.exchanges.append(ex)

    def take(self) -> list[Exchange]:
        with self._lock:
            out, self.exchanges = self.exchanges, []
        return out

    def start(self) -> RecordingProxy:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        fut.result(10)
        return self

    async def _listen(self) -> None:
        if self.tcp:
            self._server = await asyncio.start_server(self._handle, host="127.0.0.1", port=0)
            self.port = self._server.sockets[0].getsockname()[1]
            return
        self._server = await asyncio.start_unix_server(self._handle, path=self.listen)
        os.chmod(self.listen, 0o660)

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        tap = Tap(self._emit)
        try:
            u_reader, u_writer = await asyncio.open_unix_connection(self.upstream)
        except OSError:
            c_writer.close()
            self._conns.discard(task)
            return
        try:
            await asyncio.gather(
                _pump(c_reader, u_writer, tap.from_client), _pump(u_reader, c_writer, tap.from_server)
            )
        finally:
            tap.closed()
            for w in (u_writer, c_writer):
                with contextlib.suppress(Exception):
                    w.close()
            self._conns.discard(task)

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for t in list(self._conns):
                t.cancel()
            await asyncio.sleep(0)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self.tcp:
            with contextlib.suppress(OSError):
                os.unlink(self.listen)
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                Path(self._tmp).rmdir()

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tap: Callable[[bytes], None]
) -> None:
    try:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                tap(b"")
                break
            writer.write(data)
            tap(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # propagate the half-close (stdin EOF of an attach)
    except (ConnectionError, OSError):
        with contextlib.suppress(Exception):
            writer.close()
