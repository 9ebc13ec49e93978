"""The one place where errors become HTTP: ``skiff.errdefs`` kinds -> status + ``{"message": ...}``.

Real Docker always answers errors as ``application/json`` ``{"message":"..."}``; connexion's
``application/problem+json`` is replaced here too (engine-api-notes C4).
"""

from __future__ import annotations

import logging
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from skiff import errdefs
from skiff.engine.responses import go_json

log = logging.getLogger("skiff.engine.errors")

STATUS_BY_KIND: dict[type[errdefs.SkiffError], int] = {
    errdefs.NotFound: 404,
    errdefs.AlreadyExists: 409,
    errdefs.Conflict: 409,
    errdefs.InvalidArgument: 400,
    errdefs.FailedPrecondition: 409,  # moby's errdefs.IsConflict/IsFailedPrecondition -> 409 in httpstatus
    errdefs.NotImplemented_: 501,
    errdefs.Unavailable: 503,
    errdefs.Unknown: 500,
    errdefs.Forbidden: 403,
}

PAGE_NOT_FOUND = "page not found"


def status_for(exc: BaseException) -> int:
    """HTTP status for an exception: errdefs by kind, anything else 500."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_KIND:
            return STATUS_BY_KIND[cls]
    return 500


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def error_body(message: str) -> bytes:
    return go_json({"message": message})


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> ConnexionResponse:
    return ConnexionResponse(status_code=status, mimetype="application/json", content_type="application/json",
                             body=error_body(message), headers=headers or {})


def _message_of_http_exception(exc: HTTPException) -> str:
    if exc.status_code == 404:
        return PAGE_NOT_FOUND
    if isinstance(exc, ProblemException):
        detail = exc.detail or exc.title or ""
        return first_line(str(detail))
    detail = exc.detail
    return first_line(str(detail)) if detail else str(exc.status_code)


def skiff_error_handler(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """``errdefs`` errors raised by handlers and backends."""
    status = status_for(exc)
    if status >= 500 and status not in (501, 503):
        log.error("handler error: %s", exc, exc_info=exc)
    return error_response(status, str(exc))


def http_error_handler(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """connexion/starlette HTTP errors (validation 400, routing 404/405, 415) in Docker's shape."""
    assert isinstance(exc, HTTPException)
    headers: dict[str, Any] = dict(exc.headers or {})
    allow = {k: v for k, v in headers.items() if k.lower() == "allow"}
    return error_response(exc.status_code, _message_of_http_exception(exc), allow)


def unexpected_error_handler(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Never a bare 500: the message is ``str(exc)`` and the traceback goes to the log."""
    if isinstance(exc, errdefs.SkiffError):
        return skiff_error_handler(_request, exc)
    if isinstance(exc, HTTPException):
        return http_error_handler(_request, exc)
    log.error("unexpected error: %r", exc, exc_info=exc)
    return error_response(500, str(exc) or type(exc).__name__)


def install(app: Any) -> None:
    """Register the handlers on a connexion app."""
    app.add_error_handler(errdefs.SkiffError, skiff_error_handler)
    app.add_error_handler(HTTPException, http_error_handler)
    app.add_error_handler(ProblemException, http_error_handler)
    app.add_error_handler(Exception, unexpected_error_handler)
