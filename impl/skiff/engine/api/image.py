"""Image operations (tag ``Image``): thin handlers over the images backend."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from connexion import request
from starlette.responses import Response, StreamingResponse

from skiff import errdefs
from skiff.core.images import references
from skiff.engine.backend.images import ImageService
from skiff.engine.bodies import declares_body
from skiff.engine.context import services
from skiff.engine.responses import json_response

BODY_CHUNK = 1 << 20


def _backend() -> ImageService:
    backend = services().images
    if backend is None:
        raise errdefs.Unavailable("the images backend is not available")
    return backend  # type: ignore[no-any-return]


async def _body(*already_read: Any) -> AsyncIterator[bytes]:
    """The request body: what connexion already read for the body parameter, or the raw stream."""
    for value in already_read:
        if isinstance(value, str):
            value = value.encode("latin-1")
        if isinstance(value, bytes | bytearray):
            view = memoryview(value)
            for start in range(0, len(view), BODY_CHUNK):  # gRPC messages stay under their size limit
                yield bytes(view[start:start + BODY_CHUNK])
            return
    if not declares_body(request.headers):
        return
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def list_(all_: bool = False, filters: str | None = None, digests: bool = False, **_: Any) -> Response:
    return json_response(await _backend().list_(all_, filters, digests))


async def inspect(name: str, **_: Any) -> Response:
    return json_response(await _backend().inspect(name))


async def history(name: str, **_: Any) -> Response:
    return json_response(await _backend().history(name))


async def prune(filters: str | None = None, **_: Any) -> Response:
    return json_response(await _backend().prune(filters))


async def commit(
    container: str | None = None,
    repo: str | None = None,
    tag: str | None = None,
    comment: str | None = None,
    author: str | None = None,
    pause: bool = True,
    changes: str | None = None,
    container_config: Any = None,
    body: Any = None,
) -> Response:
    """``POST /commit`` (tag Image): the containers backend snapshots, the core imports."""
    containers = services().containers
    if containers is None:
        raise errdefs.Unavailable("the containers backend is not available")
    if not container:
        raise errdefs.NotFound("No such container: ")
    lines = parse_qs(request.scope.get("query_string", b"").decode(), keep_blank_values=True).get(
        "changes", []
    )
    config = (
        container_config if isinstance(container_config, dict) else body if isinstance(body, dict) else None
    )
    image_id = await containers.commit(container, repo, tag, comment, author, lines, config, pause)
    return json_response({"Id": image_id}, status=201)


async def push(name: str, tag: str | None = None, x_registry_auth: str | None = None, **_: Any) -> Response:
    auth = x_registry_auth or request.headers.get("x-registry-auth")
    if not auth:  # dockerd falls back to an AuthConfig in the body (docker-py sends "{}")
        if request.headers.get("content-type", "").startswith("application/json"):
            raw = b"{}"  # request validation has consumed a JSON body: read it as anonymous
        else:
            raw = await request.body() if declares_body(request.headers) else b""
        try:
            json.loads(raw)
        except ValueError:
            message = "EOF" if not raw.strip() else "invalid character looking for beginning of value"
            raise errdefs.InvalidArgument(f"Bad parameters and missing X-Registry-Auth: {message}") from None
        auth = base64.urlsafe_b64encode(raw).decode()
    try:  # a bad name fails before the stream starts (fuzz: it aborted the started response); dockerd: 500
        references.parse(name)
    except errdefs.InvalidArgument as exc:
        raise errdefs.Unknown(str(exc)) from exc
    if tag and not re.fullmatch(references.TAG.pattern, tag):
        raise errdefs.Unknown("invalid tag format")
    return StreamingResponse(_backend().push(name, tag, auth), media_type="application/json")


async def get(name: str, **_: Any) -> Response:
    """``docker save`` of one image: a docker-save tar, streamed (errors before the first byte)."""
    return StreamingResponse(await _backend().distribution().save([name]), media_type="application/x-tar")


async def get_all(names: list[str] | str | None = None, **_: Any) -> Response:
    wanted = parse_qs(request.scope.get("query_string", b"").decode()).get("names", [])
    if not wanted:
        wanted = [names] if isinstance(names, str) else list(names or [])
    return StreamingResponse(await _backend().distribution().save(wanted), media_type="application/x-tar")


async def search(term: str, limit: int | None = None, filters: str | None = None, **_: Any) -> Response:
    if limit is not None and not 1 <= limit <= 100:  # dockerd checks this before any lookup (fuzz)
        raise errdefs.InvalidArgument(f"Limit {limit} is outside the range of [1, 100]")
    return json_response(await _backend().search(term))


async def tag(name: str, repo: str | None = None, tag: str | None = None, **_: Any) -> Response:
    if not repo:
        raise errdefs.InvalidArgument("repository name must have at least one component")
    await _backend().tag(name, repo, tag)
    return Response(status_code=201)


async def delete(name: str, force: bool = False, noprune: bool = False, **_: Any) -> Response:
    return json_response(await _backend().delete(name, force, noprune))


async def load(quiet: bool = False) -> Response:
    """The body is streamed to core as it arrives: the handler takes no body argument, so connexion does
    not read it first (a 1 GB archive was held in memory). It is consumed inside the handler: a streaming
    response would race it for ``receive``."""
    lines = [line async for line in _backend().load(_body(), quiet)]
    return Response(b"".join(lines), media_type="application/json")


async def create(
    from_image: str | None = None,
    from_src: str | None = None,
    repo: str | None = None,
    tag: str | None = None,
    message: str | None = None,
    platform: str | None = None,
) -> Response:
    """Import (``fromSrc=-``) or pull (``fromImage``). No body argument: connexion leaves the body unread and
    an import streams it to core."""
    backend = _backend()
    if from_image:
        auth = request.headers.get("x-registry-auth")
        return StreamingResponse(await backend.pull(from_image, tag, auth, platform),
                                 media_type="application/json")
    if from_src is None:
        raise errdefs.InvalidArgument("fromImage or fromSrc is required")
    if from_src != "-":
        raise errdefs.NotImplemented_("importing from a URL is not supported by skiff yet")
    changes = parse_qs(request.scope.get("query_string", b"").decode(), keep_blank_values=True).get(
        "changes", []
    )
    name, config, comment = backend.import_options(repo, tag, changes, message)
    line = await backend.import_(_body(), name, config, comment)
    return Response(line, media_type="application/json")
