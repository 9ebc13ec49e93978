"""API versions in the path (engine-api-notes C2) and the headers dockerd puts on every response.

``/_ping``, ``/v1.24/_ping`` and ``/v1.39/_ping`` all reach the spec's ``/v1.39`` routes; a version above
1.39 is refused like dockerd does, one below 1.12 too. ``HEAD`` is served by the ``GET`` operation.
"""

from __future__ import annotations

import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skiff.engine.buildinfo import ENGINE_VERSION
from skiff.engine.errors import error_body
from skiff.engine.spec import API_VERSION, MIN_API_VERSION

log = logging.getLogger("skiff.engine.api")

BASE_PATH = f"/v{API_VERSION}"
_VERSIONED = re.compile(r"^/v([0-9]+(?:\.[0-9]+)*)(/.*)?$")

DEFAULT_HEADERS: list[tuple[bytes, bytes]] = [
    (b"api-version", API_VERSION.encode()),
    (b"docker-experimental", b"false"),
    (b"ostype", b"linux"),
    (b"server", f"Docker/{ENGINE_VERSION} (linux)".encode()),
]


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def version_error(version: str) -> str | None:
    """dockerd's message for an unsupported client version, or None."""
    if _version_tuple(version) > _version_tuple(API_VERSION):
        return f"client version {version} is too new. Maximum supported API version is {API_VERSION}"
    if _version_tuple(version) < _version_tuple(MIN_API_VERSION):
        return (f"client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, "
                "please upgrade your client to a newer version")
    return None


def rewrite_path(path: str) -> tuple[str, str | None]:
    """(path under the spec's base path, requested version or None when unversioned)."""
    match = _VERSIONED.match(path)
    if match:
        return BASE_PATH + (match.group(2) or "/"), match.group(1)
    return BASE_PATH + path, None


class VersionMiddleware:
    """ASGI wrapper in front of connexion: path rewriting, version checks, dockerd's default headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, version = rewrite_path(scope["path"])
        if log.isEnabledFor(logging.DEBUG):
            log.debug("Calling %s %s", scope["method"], scope["path"])
        if version is not None:
            message = version_error(version)
            if message is not None:
                await _send_error(send, 400, message)
                return
        scope = dict(scope)
        scope["path"] = path
        raw_path, _ = rewrite_path(scope.get("raw_path", scope["path"].encode()).decode("latin-1"))
        scope["raw_path"] = raw_path.encode("latin-1")
        scope["skiff.api_version"] = version or API_VERSION
        if scope["method"] == "HEAD":
            scope["skiff.head"] = True

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in DEFAULT_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _send_error(send: Send, status: int, message: str) -> None:
    body = error_body(message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *DEFAULT_HEADERS]})
    await send({"type": "http.response.body", "body": body, "more_body": False})
