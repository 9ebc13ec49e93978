"""Validate one recorded response against the OpenAPI 3.0 spec with openapi-core, stream-aware.

Stream-aware: a body of several JSON messages (JSON lines of pull/build/stats/events), a binary or raw-stream
body, or a body the client cut short (logs -f, events) is "passed": only its status and content type are
checked. A single-message JSON body is validated in full (status declared, content type, schema, headers).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from openapi_core import OpenAPI
from werkzeug.datastructures import Headers, ImmutableMultiDict

from conformance.spec import operations
from conformance.spec.operations import BASE

JSON_TYPES = ("application/json",)


@dataclass
class Exchange:
    """One request/response pair as the proxy saw it."""

    method: str
    target: str  # path with query, as sent
    status: int
    response_headers: list[tuple[str, str]]
    body: bytes
    complete: bool = True  # False: the connection ended (or was hijacked) before the body did
    hijacked: bool = False


@dataclass
class Verdict:
    operation: str  # operationId, or "<unrouted>"
    version: str | None
    status: int
    kind: str  # "validated" | "stream" | "hijacked" | "unrouted"
    violations: list[str] = field(default_factory=list)
    example: str = ""
    shape: list[str] = field(default_factory=list)  # flattened "path:type" of a single JSON body
    message: str = ""  # an error answer's {"message"}
    method: str = ""
    target: str = ""
    complete: bool = True


@dataclass
class _Req:
    host_url: str
    path: str
    path_pattern: str
    method: str
    parameters: Any
    body: bytes | None = None
    content_type: str = "application/json"


@dataclass
class _Resp:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes | None


@cache
def openapi() -> OpenAPI:
    spec = dict(operations.load())
    spec["servers"] = [{"url": f"http://localhost{BASE}"}]
    return OpenAPI.from_dict(spec)


def _json_messages(body: bytes) -> int:
    """How many JSON values `body` holds (0 if it is not a JSON sequence)."""
    dec = json.JSONDecoder()
    text, pos, n = body.decode("utf-8", "replace"), 0, 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return n
        try:
            _, pos = dec.raw_decode(text, pos)
        except ValueError:
            return 0
        n += 1


SHAPE_DEPTH = 4
SHAPE_CAP = 400


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape(value: Any, prefix: str = "", depth: int = 0, out: set[str] | None = None) -> set[str]:
    """The masked shape of a JSON value: key paths with their types (ids, times, sizes disappear)."""
    out = set() if out is None else out
    if len(out) >= SHAPE_CAP:
        return out
    out.add(f"{prefix or '$'}:{_type(value)}")
    if depth >= SHAPE_DEPTH:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            shape(v, f"{prefix}.{k}" if prefix else str(k), depth + 1, out)
    elif isinstance(value, list):
        for v in value[:5]:
            shape(v, f"{prefix}[]", depth + 1, out)
    return out


def _path(e: Any) -> str:
    parts = [("*" if isinstance(p, int) else str(p)) for p in (getattr(e, "absolute_path", None) or [])]
    return ".".join(parts) or "<body>"


def describe(err: BaseException) -> list[str]:
    """Short, target-independent violation signatures: ``<kind> <json path>: <rule>`` (no instance values)."""
    chain: list[BaseException] = []
    node: BaseException | None = err
    while node is not None and node not in chain:
        chain.append(node)
        node = node.__cause__ or node.__context__
    for e in chain:
        schema_errors = list(getattr(e, "schema_errors", None) or [])
        if schema_errors:
            out = []
            for se in schema_errors:
                rule = str(getattr(se, "validator", "?"))
                if rule == "required":
                    m = re.match(r"'([^']+)'", str(getattr(se, "message", "")))
                    rule = f"required {m.group(1) if m else ''}".strip()
                out.append(f"schema {_path(se)}: {rule}")
            return sorted(set(out))
    last = chain[-1]
    text = str(last).splitlines()[0] if str(last) else ""
    return [f"{type(last).__name__}: {text[:160]}"]


def validate(ex: Exchange) -> Verdict:
    version, _ = operations.split_version(ex.target.split("?", 1)[0])
    routed = operations.route(ex.method, ex.target)
    if routed is None:
        return Verdict("<unrouted>", version, ex.status, "unrouted", example=f"{ex.method} {ex.target[:120]}")
    op, params = routed
    example = f"{ex.method} {ex.target[:120]}"
    verdict = Verdict(op.operation_id, version, ex.status, "validated", example=example, complete=ex.complete,
                      method=ex.method, target=ex.target)
    if ex.status == 0:
        verdict.kind = "no response"
        verdict.violations.append("no response (connection closed or timed out)")
        return verdict
    headers = Headers(ex.response_headers)
    ctype = (headers.get("Content-Type") or "").lower()
    if ex.hijacked or ex.status == 101:
        verdict.kind = "hijacked"
        return verdict
    body: bytes | None = ex.body
    media = ctype.split(";", 1)[0].strip()
    streamy = (
        not ex.complete
        or (media in JSON_TYPES and ex.body.strip() and _json_messages(ex.body) > 1)
        or (media not in JSON_TYPES and media != "" and not media.startswith("text/"))
    )
    if ex.method == "HEAD":
        body = None
    if not streamy and media in JSON_TYPES and body:
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        verdict.shape = sorted(shape(value))
        if ex.status >= 400:
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                verdict.message = value["message"][:300]
            else:
                verdict.violations.append('error shape: not {"message": "..."}')
    if streamy:
        verdict.kind = "stream"
        body = None  # status and content type still checked below
    query = ex.target.split("?", 1)[1] if "?" in ex.target else ""
    req = _Req(
        host_url="http://localhost",
        path=BASE + op.template,
        path_pattern=BASE + op.template,
        method="get" if ex.method == "HEAD" else ex.method.lower(),
        parameters=_params(query, params),
    )
    resp = _Resp(ex.status, ctype, headers, body if body is not None else b"")
    if body is None:
        resp = _Resp(ex.status, ctype, headers, None)
    try:
        errors = list(openapi().iter_response_errors(req, resp))
    except Exception as exc:  # the validator itself failed: report, do not crash the recorder
        errors = [exc]
    for err in errors:
        for msg in describe(err):
            if body is None and msg.startswith("MissingData"):
                continue
            if msg not in verdict.violations:
                verdict.violations.append(msg)
    return verdict


def _params(query: str, path: dict[str, str]) -> Any:
    from urllib.parse import parse_qsl

    from openapi_core.datatypes import RequestParameters

    return RequestParameters(
        query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)), header=Headers(), path=path
    )
