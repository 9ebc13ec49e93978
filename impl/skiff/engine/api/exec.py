"""Exec handlers: ContainerExec (``exec.create``), ExecStart, ExecResize, ExecInspect."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from skiff.engine.backend.exec import ExecBackend, backend_for
from skiff.engine.context import services
from skiff.engine.responses import json_response
from skiff.engine.streams import RAW_STREAM, HijackResponse


def _backend() -> ExecBackend:
    return backend_for(services().containers)


async def create(id_: str, exec_config: Any = None, **_: Any) -> Response:
    exec_id = await _backend().create(id_, exec_config if isinstance(exec_config, dict) else {})
    return json_response({"Id": exec_id}, status=201)


async def start(id_: str, exec_start_config: Any = None, **_: Any) -> Response:
    body = exec_start_config if isinstance(exec_start_config, dict) else {}
    backend = _backend()
    if body.get("Detach"):
        await backend.start_detached(id_)
        return Response(status_code=200)
    ex, output = await backend.start_attached(id_)
    output, pump = backend.attach_io(ex, output)
    return HijackResponse(output, media_type=RAW_STREAM, stdin=pump)  # raw even when multiplexed, as 20.10


async def resize(id_: str, h: int | None = None, w: int | None = None, **_: Any) -> Response:
    await _backend().resize(id_, h or 0, w or 0)
    return Response(status_code=200)


async def inspect(id_: str, **_: Any) -> Response:
    return json_response(_backend().inspect(id_))
