"""Container operations (tag ``Container``): thin handlers over the containers backend."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

from connexion import request
from starlette.responses import Response, StreamingResponse

from skiff import errdefs
from skiff.engine import detachkeys, gostrconv, websocket
from skiff.engine.backend import interactive
from skiff.engine.backend.archive import stat_header
from skiff.engine.bodies import declares_body
from skiff.engine.context import services
from skiff.engine.querybool import docker_bool
from skiff.engine.responses import go_json, json_response
from skiff.engine.streams import RAW_STREAM, HijackResponse


class ContainersBackend(Protocol):
    """What these handlers need; ``skiff.engine.backend.ContainerService`` provides it."""

    async def create(self, name: str | None, body: Any) -> dict[str, Any]: ...
    async def start(self, ref: str) -> bool: ...
    def attach(
        self, ref: str, stdout: bool, stderr: bool, stream: bool, logs: bool
    ) -> AsyncIterator[bytes]: ...
    async def wait(self, ref: str, condition: str | None = None) -> dict[str, Any]: ...
    async def stop(self, ref: str, timeout: int | None = None) -> bool: ...
    async def kill(self, ref: str, signal: str | None = None) -> None: ...
    async def restart(self, ref: str, timeout: int | None = None) -> None: ...
    async def delete(self, ref: str, force: bool = False, volumes: bool = False) -> None: ...
    async def prune(self, filters: str | None = None) -> dict[str, Any]: ...
    async def rename(self, ref: str, new_name: str | None) -> None: ...
    async def top(self, ref: str, ps_args: str | None = None) -> dict[str, Any]: ...
    def export(self, ref: str) -> AsyncIterator[bytes]: ...
    def stats(
        self, ref: str, stream: bool = True, interval: float = 1.0
    ) -> AsyncIterator[dict[str, Any]]: ...
    async def archive_stat(self, ref: str, path: str | None) -> dict[str, Any]: ...
    async def archive_get(
        self, ref: str, path: str | None
    ) -> tuple[dict[str, Any], AsyncIterator[bytes]]: ...
    async def archive_put(self, ref: str, path: str | None, data: bytes,
                          no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False) -> None: ...
    async def update(self, ref: str, body: Any) -> dict[str, Any]: ...
    async def changes(self, ref: str) -> list[dict[str, Any]] | None: ...
    async def inspect(self, ref: str, size: bool = False) -> dict[str, Any]: ...
    async def list_(
        self, all_: bool = False, limit: int | None = None, size: bool = False, filters: str | None = None
    ) -> list[dict[str, Any]]: ...
    def logs(
        self,
        ref: str,
        stdout: bool = False,
        stderr: bool = False,
        since: str | None = None,
        until: str | None = None,
        timestamps: bool = False,
        tail: str | None = None,
        follow: bool = False,
    ) -> tuple[bool, AsyncIterator[bytes]]: ...
    def get(self, ref: str) -> Any: ...


def _backend() -> ContainersBackend:
    backend = services().containers
    if backend is None:
        raise errdefs.Unavailable("the containers backend is not available")
    return backend  # type: ignore[no-any-return]


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


async def list_(
    all_: bool = False, limit: int | None = None, size: bool = False, filters: str | None = None, **_: Any
) -> Response:
    return json_response(await _backend().list_(all_, limit, size, filters))


async def create(body: Any = None, name: str | None = None, **_: Any) -> Response:
    if body is None:
        raise errdefs.InvalidArgument("Config cannot be empty in order to create a container")
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError as err:
            raise errdefs.InvalidArgument(str(err)) from None
    return json_response(await _backend().create(name or None, body), status=201)


async def inspect(id_: str, size: bool = False, **_: Any) -> Response:
    return json_response(await _backend().inspect(id_, size))


async def start(id_: str, **_: Any) -> Response:
    started = await _backend().start(id_)
    return Response(status_code=204 if started else 304)


def _timeout(t: str | None) -> int | None:
    """``?t=`` of stop/restart (P23): unset when empty, else Go's Atoi (its refusal is dockerd's 500)."""
    if not t:
        return None
    try:
        return gostrconv.atoi(t)
    except ValueError as err:
        raise errdefs.Unknown(str(err)) from None


async def stop(id_: str, t: str | None = None, **_: Any) -> Response:
    stopped = await _backend().stop(id_, _timeout(t))
    return Response(status_code=204 if stopped else 304)


async def restart(id_: str, t: str | None = None, **_: Any) -> Response:
    await _backend().restart(id_, _timeout(t))
    return Response(status_code=204)


async def kill(id_: str, signal: str | None = None, **_: Any) -> Response:
    await _backend().kill(id_, _opt_str(signal))
    return Response(status_code=204)


async def delete(id_: str, v: bool = False, force: bool = False, link: bool = False, **_: Any) -> Response:
    await _backend().delete(id_, force=force, volumes=v)
    return Response(status_code=204)


async def changes(id_: str, **_: Any) -> Response:
    return json_response(await _backend().changes(id_))


async def update(id_: str, update: Any = None, body: Any = None, **_: Any) -> Response:
    return json_response(await _backend().update(id_, update if update is not None else body))


STAT_HEADER = "X-Docker-Container-Path-Stat"


async def archive_info(id_: str, path: str | None = None, **_: Any) -> Response:
    """HEAD: the path's stat in a header; errors keep their status (a HEAD has no body to show them)."""
    info = await _backend().archive_stat(id_, path)
    return Response(status_code=200, headers={STAT_HEADER: stat_header(info)})


async def archive(id_: str, path: str | None = None, **_: Any) -> Response:
    info, output = await _backend().archive_get(id_, path)
    return StreamingResponse(output, media_type="application/x-tar", headers={STAT_HEADER: stat_header(info)})


async def put_archive(
    id_: str, path: str | None = None, input_stream: Any = None, body: Any = None, **_: Any
) -> Response:
    data = input_stream if input_stream is not None else body
    if isinstance(data, str):
        data = data.encode("latin-1")
    if not isinstance(data, bytes | bytearray):
        data = await request.body() if declares_body(request.headers) else b""
    query = request.query_params
    await _backend().archive_put(id_, path, bytes(data),
                                 docker_bool(query.get("noOverwriteDirNonDir", "")),
                                 docker_bool(query.get("copyUIDGID", "")))
    return Response(status_code=200)


async def stats(id_: str, stream: bool = True, **_: Any) -> Response:
    readings = _backend().stats(id_, stream)

    async def body() -> AsyncIterator[bytes]:
        async for reading in readings:
            yield go_json(reading)

    return StreamingResponse(body(), media_type="application/json")


async def export(id_: str, **_: Any) -> Response:
    return StreamingResponse(_backend().export(id_), media_type="application/octet-stream")


async def resize(id_: str, h: int | None = None, w: int | None = None, **_: Any) -> Response:
    await interactive.resize(_backend(), id_, h or 0, w or 0)
    return Response(status_code=200)


async def top(id_: str, ps_args: str | None = None, **_: Any) -> Response:
    return json_response(await _backend().top(id_, ps_args))


async def rename(id_: str, name: str | None = None, **_: Any) -> Response:
    await _backend().rename(id_, name)
    return Response(status_code=204)


async def prune(filters: str | None = None, **_: Any) -> Response:
    return json_response(await _backend().prune(filters))


async def wait(id_: str, condition: str | None = None, **_: Any) -> Response:
    """Headers go out at once (as dockerd does); the body when the condition holds."""
    backend = _backend()
    backend.get(id_)
    result = backend.wait(id_, condition)

    async def body() -> AsyncIterator[bytes]:
        yield go_json(await result)

    return StreamingResponse(body(), media_type="application/json")


async def attach(
    id_: str,
    logs: bool = False,
    stream: bool = False,
    stdin: bool = False,
    stdout: bool = False,
    stderr: bool = False,
    detach_keys: str | None = None,
    **_: Any,
) -> Response:
    backend = _backend()
    try:
        keys = detachkeys.parse(detach_keys or "")
        record = backend.get(id_)
    except ValueError:
        return Response(f"Invalid detach keys ({detach_keys}) provided\r\n".encode(), status_code=400,
                        media_type=RAW_STREAM)
    except errdefs.NotFound as err:
        # dockerd answers this one in plain text with the stream's content type
        return Response(f"{err}\r\n".encode(), status_code=404, media_type=RAW_STREAM)
    output = await interactive.subscribed(backend.attach(id_, stdout, stderr, stream, logs), record, logs)
    interactive.attached(backend, record)
    output, pump = interactive.attach_io(backend, record, output, keys if stdin and stream else None)
    # dockerd 20.10 labels the stream raw whether or not it is multiplexed (1.42 made it say which)
    return HijackResponse(output, media_type=RAW_STREAM, stdin=pump if stdin and stream else None)


async def attach_websocket(
    id_: str, logs: bool = False, stream: bool = False, detach_keys: str | None = None, **_: Any
) -> Response:
    """dockerd attaches stdin, stdout and stderr whatever the query says, unmultiplexed; binary messages
    from API 1.28 on, text ones before (skiff.engine.websocket)."""
    try:
        keys = detachkeys.parse(detach_keys or "")
    except ValueError:
        raise errdefs.InvalidArgument(f"Invalid detach keys ({detach_keys}) provided") from None
    backend = _backend()
    record = backend.get(id_)
    headers = websocket.scope_headers(request.scope)
    refused = websocket.handshake_error(headers)
    if refused is not None:
        return refused
    output = await interactive.subscribed(backend.attach(id_, True, True, stream, logs), record, logs)
    interactive.attached(backend, record)
    output, pump = interactive.attach_io(backend, record, interactive.unframed(output, record), keys)
    version = str(request.scope.get("skiff.api_version", "1.39"))
    return websocket.WebSocketResponse(output, websocket.header(headers, b"sec-websocket-key").strip(),
                                       binary=_at_least(version, (1, 28)), stdin=pump)


def _at_least(version: str, minimum: tuple[int, int]) -> bool:
    try:
        return tuple(int(p) for p in version.split(".")[:2]) >= minimum
    except ValueError:
        return True


async def logs(
    id_: str,
    follow: bool = False,
    stdout: bool = False,
    stderr: bool = False,
    since: Any = None,
    until: Any = None,
    timestamps: bool = False,
    tail: Any = None,
    **_: Any,
) -> Response:
    _tty, output = _backend().logs(
        id_, stdout, stderr, _opt_str(since), _opt_str(until), timestamps, _opt_str(tail), follow
    )
    return StreamingResponse(output)


async def pause(id_: str, **_: Any) -> Response:
    await interactive.pause(_backend(), id_)
    return Response(status_code=204)


async def unpause(id_: str, **_: Any) -> Response:
    await interactive.unpause(_backend(), id_)
    return Response(status_code=204)
