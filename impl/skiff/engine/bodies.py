"""Request bodies decoded the way dockerd decodes them, before connexion's request validation.

For the operations in ``gotypes.BODIES`` (ContainerCreate, ContainerUpdate, ContainerExec, ExecStart,
ImageCommit) dockerd checks the Content-Type (``httputils.CheckForJSON``), then runs
``json.NewDecoder(body).Decode(&v)``: a malformed body or a wrong JSON type is answered with Go's message
(500, or 400 where the router wraps it), and values are checked later, with dockerd's own messages. So
``GoBodyMiddleware`` (after routing, before validation) does the same and replays the body as Go would
have built it (canonical field names, unknown fields dropped, ``StrSlice`` strings as lists);
``SkiffJSONBodyValidator`` then skips jsonschema for it: the schema's enums, ranges and array-only types
would reject bodies dockerd accepts. Every other operation keeps connexion's validation.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from skiff import errdefs
from skiff.engine import gojson
from skiff.engine.gotypes import BODIES

GO_DECODED = "skiff.go_decoded"


def operation_id(scope: Scope) -> str | None:
    routing = scope.get("extensions", {}).get(ROUTING_CONTEXT, {})
    value = routing.get("operation_id")
    return str(value) if value else None


def check_for_json(content_type: str, body: bytes) -> None:
    """``httputils.CheckForJSON``: no Content-Type is fine for an empty body; otherwise it must be JSON."""
    if not content_type and not body:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return
    raise errdefs.InvalidArgument(f"Content-Type specified ({content_type}) must be 'application/json'")


_NO_BODY = object()


def decode_body(op_id: str, content_type: str, body: bytes) -> Any:
    """The body as dockerd's decoder leaves it (``_NO_BODY`` for an allowed empty one), or the errdefs
    error dockerd answers."""
    spec = BODIES[op_id]
    check_for_json(content_type, body)
    error = errdefs.InvalidArgument if spec.status == 400 else errdefs.Unknown
    try:
        value = gojson.decode(body, spec.go_type)
    except gojson.GoJSONError as err:
        if str(err) == "EOF":
            if spec.eof is None:
                return _NO_BODY
            raise error(spec.eof) from None
        raise error(str(err)) from None
    return spec.finish(value)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class GoBodyMiddleware:
    """Decode the bodies of ``gotypes.BODIES`` operations Go's way (position: before validation)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op_id = operation_id(scope) if scope["type"] == "http" else None
        if op_id not in BODIES:
            await self.app(scope, receive, send)
            return
        assert op_id is not None
        body = await _read_body(receive)
        value = decode_body(op_id, Headers(scope=scope).get("content-type", ""), body)
        data = b"" if value is _NO_BODY else json.dumps(value, separators=(",", ":")).encode()
        replaced = (b"content-type", b"content-length")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in replaced]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        scope = {**scope, "headers": headers, GO_DECODED: True}
        sent = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class SkiffJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """connexion's JSON body validation, except for bodies ``GoBodyMiddleware`` already decoded."""

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        if scope.get(GO_DECODED):
            return receive, scope
        return await super().wrap_receive(receive, scope=scope)  # type: ignore[no-any-return]

    async def _parse(self, stream: AsyncIterator[bytes], scope: Scope) -> Any:
        """connexion decodes the body as UTF-8 first and a bad byte became a 500; Go reads bytes: a syntax
        error names the byte (dockerd: 400), and invalid UTF-8 inside a string becomes U+FFFD (fuzz)."""
        data = b"".join([chunk async for chunk in stream])
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                gojson.check_valid(data)
            except gojson.GoJSONError as err:
                raise errdefs.InvalidArgument(str(err)) from None
            data = data.decode("utf-8", errors="replace").encode()

        async def again() -> AsyncIterator[bytes]:
            yield data

        return await super()._parse(again(), scope)


def validator_map() -> dict[str, Any]:
    """connexion's validator map with ``SkiffJSONBodyValidator`` for JSON bodies."""
    bodies = MediaTypeDict(dict(VALIDATOR_MAP["body"]))
    bodies["*/*json"] = SkiffJSONBodyValidator
    return {"body": bodies}


def declares_body(headers: Any) -> bool:
    """Whether a request has a body to wait for (HTTP/1.1: Transfer-Encoding, or Content-Length > 0).

    A handler reading the raw stream must check this first: for an empty body connexion has already taken
    the one ``http.request`` message, and ``request.stream()``/``body()`` would then wait for the client's
    disconnect (the fuzzer's empty ``POST /images/load`` and ``PUT .../archive`` hung until its timeout).
    """
    if headers.get("transfer-encoding"):
        return True
    try:
        return int(headers.get("content-length") or 0) > 0
    except ValueError:
        return True
