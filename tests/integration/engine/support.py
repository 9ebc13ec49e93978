"""Test support: the engine app in a uvicorn server thread (hijack protocol, unix socket) and a fake
``exec``/``container`` API module pair whose exec start echoes stdin, to drive the hijack end to end."""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import sys
import threading
import time
import types
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")

import uvicorn  # noqa: E402
from skiff import errdefs  # noqa: E402
from skiff.engine.app import create_app  # noqa: E402
from skiff.engine.hijack import HijackH11Protocol  # noqa: E402
from skiff.engine.responses import json_response  # noqa: E402
from skiff.engine.streams import HijackResponse, StdType, encode_frame  # noqa: E402
from skiff.engine.tlsproto import tls_protocol_factory  # noqa: E402

_ids = itertools.count(1)
EXECS: dict[str, dict[str, Any]] = {}


async def container_inspect(id_: str, size: bool = False) -> Any:
    if id_ != "fake":
        raise errdefs.NotFound(f"No such container: {id_}")
    return json_response({"Id": "f" * 64, "Name": "/fake", "State": {"Running": True, "Status": "running",
                          "Paused": False, "Restarting": False}, "Config": {"Tty": False, "OpenStdin": True},
                          "HostConfig": {}})


async def exec_create(id_: str, exec_config: dict[str, Any]) -> Any:
    if id_ != "fake":
        raise errdefs.NotFound(f"No such container: {id_}")
    exec_id = f"{next(_ids):064x}"
    EXECS[exec_id] = {"config": exec_config, "exit": None}
    return json_response({"Id": exec_id}, status=201)


async def exec_start(id_: str, exec_start_config: dict[str, Any]) -> Any:
    record = EXECS.get(id_)
    if record is None:
        raise errdefs.NotFound(f"No such exec instance: {id_}")
    cmd: list[str] = record["config"].get("Cmd") or []
    tty = bool(exec_start_config.get("Tty") or record["config"].get("Tty"))
    stdin_queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def frame(stream: StdType, data: bytes) -> bytes:
        return data if tty else encode_frame(stream, data)

    async def stdin(chunks: AsyncIterator[bytes]) -> None:
        async for chunk in chunks:
            await stdin_queue.put(chunk)
        await stdin_queue.put(None)

    async def output() -> AsyncIterator[bytes]:
        if cmd[:1] == ["cat"]:
            while (chunk := await stdin_queue.get()) is not None:
                yield frame(StdType.STDOUT, chunk)
            record["exit"] = 0
        elif cmd[:1] == ["echo"]:
            yield frame(StdType.STDOUT, (" ".join(cmd[1:]) + "\n").encode())
            record["exit"] = 0
        else:
            yield frame(StdType.STDERR, b"oops\n")
            record["exit"] = 3

    return HijackResponse(output(), stdin=stdin)


async def exec_inspect(id_: str) -> Any:
    record = EXECS.get(id_)
    if record is None:
        raise errdefs.NotFound(f"No such exec instance: {id_}")
    return json_response({"ID": id_, "Running": record["exit"] is None, "ExitCode": record["exit"],
                          "ContainerID": "f" * 64, "Pid": 0, "OpenStdin": True, "OpenStdout": True,
                          "OpenStderr": True, "CanRemove": False, "DetachKeys": "",
                          "ProcessConfig": {"tty": False, "entrypoint": "", "arguments": [],
                                            "privileged": False}})


@contextmanager
def fake_api_modules() -> Iterator[None]:
    """Swap in the fake ``exec`` and ``container`` modules while the app is built."""
    saved = {name: sys.modules.get(name) for name in ("skiff.engine.api.exec", "skiff.engine.api.container")}
    exec_mod = types.ModuleType("skiff.engine.api.exec")
    exec_mod.create, exec_mod.start, exec_mod.inspect = exec_create, exec_start, exec_inspect  # type: ignore[attr-defined]
    container_mod = types.ModuleType("skiff.engine.api.container")
    container_mod.inspect = container_inspect  # type: ignore[attr-defined]
    sys.modules["skiff.engine.api.exec"] = exec_mod
    sys.modules["skiff.engine.api.container"] = container_mod
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


class ServerThread:
    """uvicorn with the hijack protocol on a unix socket, in a thread with its own event loop."""

    def __init__(self, path: Path | None, app: Any, tls: ssl.SSLContext | None = None,
                 port: int = 0) -> None:
        self.path = path
        where: dict[str, Any] = {"uds": str(path)} if path is not None else {"host": "127.0.0.1",
                                                                              "port": port}
        http: Any = tls_protocol_factory(tls, HijackH11Protocol) if tls is not None else HijackH11Protocol
        config = uvicorn.Config(app, **where, http=http, ws="none", lifespan="off", loop="asyncio",
                                log_config=None, access_log=False, server_header=False,
                                timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def fake_app() -> Any:
    with fake_api_modules():
        return create_app()


def raw_request(path: Path, request: bytes, stdin: bytes = b"", half_close: bool = True,
                timeout: float = 10.0) -> bytes:
    """Send a raw HTTP request (+ stdin bytes), half-close, and read until the server closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(request + stdin)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)
