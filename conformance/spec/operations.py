"""The spec's operations and a router from a concrete request path to (operationId, path template).

The router follows skiffd's patched routing: ``{name}`` parameters declared ``format: path`` (P01) match
names with slashes; a literal path beats a template. Any ``/vX.Y`` prefix is stripped (the docker CLI
negotiates 1.41 with Docker 20.10), unversioned paths route too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_FILE = Path(__file__).resolve().parent / "engine-api-v1.39.openapi3.yaml"
BASE = "/v1.39"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
VERSION_PREFIX = re.compile(r"^/v(\d+\.\d+)(?=/)")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    template: str  # "/containers/{id}/json"
    tag: str
    regex: re.Pattern[str]
    literal_len: int


@cache
def load() -> dict[str, Any]:
    with open(SPEC_FILE) as f:
        spec: dict[str, Any] = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return spec


def _regex(template: str, path_params: set[str]) -> re.Pattern[str]:
    out, pos = "", 0
    for m in re.finditer(r"\{([^}]+)\}", template):
        out += re.escape(template[pos : m.start()])
        out += "(?P<{}>{})".format(m.group(1), ".+" if m.group(1) in path_params else "[^/]+")
        pos = m.end()
    out += re.escape(template[pos:])
    return re.compile(f"^{out}$")


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the spec, in spec order (105 for v1.39)."""
    ops: list[Operation] = []
    for template, item in load()["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            slashy = {
                p["name"]
                for p in params
                if p.get("in") == "path" and (p.get("schema") or {}).get("format") == "path"
            }
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            ops.append(
                Operation(
                    op["operationId"], method.upper(), template, (op.get("tags") or ["-"])[0],
                    _regex(template, slashy), literal,
                )
            )
    return tuple(ops)


def split_version(path: str) -> tuple[str | None, str]:
    """('1.41', '/containers/json') for '/v1.41/containers/json'; (None, path) when unversioned."""
    m = VERSION_PREFIX.match(path)
    if m is None:
        return None, path
    return m.group(1), path[m.end() :]


def route(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation a request reaches, with its path parameters (HEAD routes like GET, as in skiffd)."""
    _, bare = split_version(path.split("?", 1)[0])
    method = method.upper()
    best: tuple[Operation, dict[str, str]] | None = None
    for op in operations():
        if op.method != method and not (method == "HEAD" and op.method == "GET"):
            continue
        m = op.regex.match(bare)
        if m is None:
            continue
        exact = op.method == method
        if best is None or (exact, op.literal_len) > (best[0].method == method, best[0].literal_len):
            best = (op, m.groupdict())
    return best
