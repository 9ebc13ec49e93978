"""The client side of skiff-shim: typed messages, a synchronous :class:`ShimClient` and :func:`start_shim`.

This is the only shim module other layers import. The wire is deliberately hand-rolled newline-delimited JSON
over the shim's unix socket (``{"method", "params"}`` -> ``{"result"}`` | ``{"error": {"kind", "message"}}``):
a shim runs per container and sits on the critical path of every ``docker run``, and grpc or ttrpc would cost
~100 ms of imports plus worker threads in each of those processes, which also reap children with
``waitpid(-1)`` and so want to stay single-threaded. JSON lines need only the standard library, are trivially
debuggable with ``socat``, and after ``attach`` the same connection carries Docker's stdcopy frames unchanged.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from skiff import errdefs
from skiff.shim import unixsock, wire
from skiff.shim.wire import FRAME_HEADER, STDERR, STDOUT, decode_frame_header, encode_frame

__all__ = [
    "STDERR", "STDOUT", "AttachRequest", "AttachStream", "CreateRequest", "CreateResponse", "DeleteRequest",
    "DeleteResponse", "KillRequest", "KillResponse", "ShimClient", "ShutdownRequest", "ShutdownResponse",
    "StartRequest", "StartResponse", "StateRequest", "StateResponse", "WaitRequest", "WaitResponse",
    "decode_frame_header", "default_shim_path", "encode_frame", "start_shim",
]

T = TypeVar("T")


def _load(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls`` from a result, ignoring fields a newer shim may add."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclasses.dataclass(frozen=True)
class CreateRequest:
    method = "create"
    stdin: bool = False
    terminal: bool = False


@dataclasses.dataclass(frozen=True)
class CreateResponse:
    pid: int


@dataclasses.dataclass(frozen=True)
class StartRequest:
    method = "start"


@dataclasses.dataclass(frozen=True)
class StartResponse:
    pid: int


@dataclasses.dataclass(frozen=True)
class StateRequest:
    method = "state"


@dataclasses.dataclass(frozen=True)
class StateResponse:
    id: str
    pid: int
    status: str  # created | running | stopped
    exit_status: int
    exited_at: str  # RFC3339Nano UTC; Go's zero time before the exit
    bundle: str = ""
    deleted: bool = False


@dataclasses.dataclass(frozen=True)
class KillRequest:
    method = "kill"
    signal: int = 15
    all: bool = False


@dataclasses.dataclass(frozen=True)
class KillResponse:
    pass


@dataclasses.dataclass(frozen=True)
class WaitRequest:
    method = "wait"


@dataclasses.dataclass(frozen=True)
class WaitResponse:
    exit_status: int
    exited_at: str


@dataclasses.dataclass(frozen=True)
class DeleteRequest:
    method = "delete"


@dataclasses.dataclass(frozen=True)
class DeleteResponse:
    pid: int
    exit_status: int
    exited_at: str


@dataclasses.dataclass(frozen=True)
class AttachRequest:
    method = "attach"
    stdout: bool = True
    stderr: bool = True
    exec_id: str = ""


@dataclasses.dataclass(frozen=True)
class ExecRequest:
    method = "exec"
    exec_id: str
    process: dict[str, Any]
    stdin: bool = False
    terminal: bool = False


@dataclasses.dataclass(frozen=True)
class ExecRef:
    """``start_exec``, ``wait_exec``, ``state_exec``, ``delete_exec``: the verb is given per call."""

    method: str
    exec_id: str


@dataclasses.dataclass(frozen=True)
class ExecState:
    exec_id: str
    pid: int
    status: str  # created | running | stopped
    exit_status: int
    exited_at: str


@dataclasses.dataclass(frozen=True)
class AttachResponse:
    pass


@dataclasses.dataclass(frozen=True)
class StdinRequest:
    method = "stdin"
    close_on_eof: bool = False
    exec_id: str = ""


@dataclasses.dataclass(frozen=True)
class CloseIORequest:
    method = "close_io"
    exec_id: str = ""


@dataclasses.dataclass(frozen=True)
class ResizeRequest:
    method = "resize"
    width: int
    height: int
    exec_id: str = ""


@dataclasses.dataclass(frozen=True)
class PauseRequest:
    method = "pause"


@dataclasses.dataclass(frozen=True)
class ResumeRequest:
    method = "resume"


@dataclasses.dataclass(frozen=True)
class UpdateRequest:
    method = "update"
    resources: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class EventsRequest:
    method = "events"
    after: int = 0


@dataclasses.dataclass(frozen=True)
class ShimEvent:
    seq: int
    topic: str  # "oom"


@dataclasses.dataclass(frozen=True)
class EventsResponse:
    events: list[ShimEvent]
    exited: bool
    exit_status: int
    exited_at: str


@dataclasses.dataclass(frozen=True)
class ShutdownRequest:
    method = "shutdown"


@dataclasses.dataclass(frozen=True)
class ShutdownResponse:
    pass


def encode_request(req: Any) -> bytes:
    """One request line for any ``*Request`` dataclass."""
    return wire.request(req.method, dataclasses.asdict(req))


def decode_response(line: bytes) -> dict[str, Any]:
    """The ``result`` of a response line, or the ``errdefs`` error it carries."""
    if not line:
        raise errdefs.Unavailable("shim closed the connection")
    try:
        msg = wire.decode_line(line)
    except ValueError as err:
        raise errdefs.Unknown(f"malformed shim response: {err}") from err
    if "error" in msg:
        body = msg["error"] if isinstance(msg["error"], dict) else {}
        raise errdefs.from_kind(str(body.get("kind", "Unknown")), str(body.get("message", "shim error")))
    res = msg.get("result")
    if not isinstance(res, dict):
        raise errdefs.Unknown("malformed shim response: no result")
    return res


def _connect(path: str, timeout: float | None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        unixsock.connect(sock, path)
    except OSError as err:
        sock.close()
        raise errdefs.Unavailable(f"shim at {path} is unavailable: {err.strerror or err}") from err
    return sock


class AttachStream:
    """Live output as Docker stdcopy frames (header included), until the container's output ends."""

    def __init__(self, sock: socket.socket, reader: Any) -> None:
        self._sock = sock
        self._reader = reader

    def __iter__(self) -> Iterator[bytes]:
        try:
            while True:
                header = self._reader.read(FRAME_HEADER.size)
                if len(header) < FRAME_HEADER.size:
                    return
                _, length = decode_frame_header(header)
                payload = self._reader.read(length)
                if len(payload) < length:
                    return
                yield header + payload
        finally:
            self.close()

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> AttachStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ShimClient:
    """Synchronous client of one shim; one connection, opened on first use, requests answered in order.

    Errors come back as :mod:`skiff.errdefs` exceptions; a shim that is gone raises ``Unavailable``.
    """

    def __init__(self, socket_path: str, timeout: float | None = 30.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def _call(self, req: Any, timeout: float | bool | None = True) -> dict[str, Any]:
        if self._sock is None:
            self._sock = _connect(self.socket_path, self.timeout)
            self._reader = self._sock.makefile("rb")
        try:
            self._sock.settimeout(self.timeout if timeout is True else timeout)
            self._sock.sendall(encode_request(req))
            line = self._reader.readline()
        except OSError as err:
            self.close()
            raise errdefs.Unavailable(f"shim at {self.socket_path}: {err}") from err
        if not line:
            self.close()
        return decode_response(line)

    def create(self, stdin: bool = False, terminal: bool = False) -> CreateResponse:
        return _load(CreateResponse, self._call(CreateRequest(stdin=stdin, terminal=terminal)))

    def close_io(self, exec_id: str = "") -> None:
        self._call(CloseIORequest(exec_id=exec_id))

    def resize(self, width: int, height: int, exec_id: str = "") -> None:
        self._call(ResizeRequest(width=width, height=height, exec_id=exec_id))

    def pause(self) -> None:
        self._call(PauseRequest())

    def update(self, resources: dict[str, Any]) -> None:
        """Live resource update: ``runtime update`` with OCI ``linux.resources``."""
        self._call(UpdateRequest(resources=resources))

    def events(self, after: int = 0, timeout: float | None = None) -> EventsResponse:
        """Blocks until there are events after ``after`` or the init has exited (no timeout by default)."""
        res = self._call(EventsRequest(after=after), timeout=timeout)
        return EventsResponse(events=[ShimEvent(seq=int(e["seq"]), topic=str(e["topic"]))
                                      for e in res.get("events") or ()],
                              exited=bool(res.get("exited")), exit_status=int(res.get("exit_status") or 0),
                              exited_at=str(res.get("exited_at") or ""))

    def resume(self) -> None:
        self._call(ResumeRequest())

    def stdin(self, close_on_eof: bool = False, exec_id: str = "") -> socket.socket:
        """A connection of its own whose bytes go to the process's stdin; shut down its write side (or close
        it) to end the stream (closing the stdin too with ``close_on_eof``)."""
        sock = _connect(self.socket_path, self.timeout)
        reader = sock.makefile("rb")
        try:
            sock.sendall(encode_request(StdinRequest(close_on_eof=close_on_eof, exec_id=exec_id)))
            decode_response(reader.readline())
        except OSError as err:
            sock.close()
            raise errdefs.Unavailable(f"shim at {self.socket_path}: {err}") from err
        except errdefs.SkiffError:
            sock.close()
            raise
        finally:
            reader.close()
        sock.settimeout(None)
        return sock

    def start(self) -> StartResponse:
        return _load(StartResponse, self._call(StartRequest()))

    def state(self) -> StateResponse:
        return _load(StateResponse, self._call(StateRequest()))

    def kill(self, signal: int = 15, all: bool = False) -> KillResponse:
        return _load(KillResponse, self._call(KillRequest(signal=signal, all=all)))

    def wait(self, timeout: float | None = None) -> WaitResponse:
        """Blocks until the init has exited and its output is drained (no timeout by default)."""
        return _load(WaitResponse, self._call(WaitRequest(), timeout=timeout))

    def delete(self) -> DeleteResponse:
        return _load(DeleteResponse, self._call(DeleteRequest()))

    def shutdown(self) -> ShutdownResponse:
        res = _load(ShutdownResponse, self._call(ShutdownRequest()))
        self.close()
        return res

    def exec(self, exec_id: str, process: dict[str, Any], stdin: bool = False,
             terminal: bool = False) -> None:
        self._call(ExecRequest(exec_id=exec_id, process=process, stdin=stdin, terminal=terminal))

    def start_exec(self, exec_id: str) -> ExecState:
        return _load(ExecState, self._call(ExecRef("start_exec", exec_id)))

    def wait_exec(self, exec_id: str, timeout: float | None = None) -> ExecState:
        return _load(ExecState, self._call(ExecRef("wait_exec", exec_id), timeout=timeout))

    def state_exec(self, exec_id: str) -> ExecState:
        return _load(ExecState, self._call(ExecRef("state_exec", exec_id)))

    def delete_exec(self, exec_id: str) -> ExecState:
        return _load(ExecState, self._call(ExecRef("delete_exec", exec_id)))

    def attach(self, stdout: bool = True, stderr: bool = True, exec_id: str = "") -> AttachStream:
        """Attach on a connection of its own; when this returns the shim is already forwarding output."""
        sock = _connect(self.socket_path, self.timeout)
        reader = sock.makefile("rb")
        try:
            sock.sendall(encode_request(AttachRequest(stdout=stdout, stderr=stderr, exec_id=exec_id)))
            decode_response(reader.readline())
        except OSError as err:
            reader.close()
            sock.close()
            raise errdefs.Unavailable(f"shim at {self.socket_path}: {err}") from err
        except errdefs.SkiffError:
            reader.close()
            sock.close()
            raise
        sock.settimeout(None)
        return AttachStream(sock, reader)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> ShimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_shim_path() -> Path:
    """The ``skiff-shim`` script of this interpreter's environment, executed directly (never via PATH)."""
    return Path(sys.executable).parent / "skiff-shim"


def start_shim(container_id: str, bundle: str | Path, runtime: str | Path, log_path: str | Path,
               runtime_root: str | Path | None = None, shim: str | Path | None = None,
               timeout: float = 10.0) -> str:
    """Run ``skiff-shim ... start``; returns the socket path once the daemonised shim accepts connections."""
    argv = [str(shim or default_shim_path()), "--id", container_id, "--bundle", str(bundle),
            "--runtime", str(runtime), "--log-path", str(log_path)]
    if runtime_root is not None:
        argv += ["--runtime-root", str(runtime_root)]
    argv.append("start")
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise errdefs.Unavailable(f"cannot start skiff-shim: {err}") from err
    if proc.returncode != 0:
        text = proc.stderr.decode(errors="replace").strip().splitlines()
        line = text[-1] if text else f"skiff-shim start exited with status {proc.returncode}"
        line = line.removeprefix("skiff-shim: ")
        kind, sep, message = line.partition(": ")
        if sep and kind in errdefs.KINDS:
            raise errdefs.from_kind(kind, message)
        raise errdefs.Unknown(line)
    return proc.stdout.decode().strip()
