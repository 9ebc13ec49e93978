"""The Engine API spec skiffd serves: the vendored v1.39 file plus named patches applied in memory.

Each deviation is one file in ``openapi/patches/`` with its reason. A patch is either a list of small
JSON-patch-like ``ops`` (``add``, ``replace``, ``remove``, ``extend``; a path segment ``[key=value]`` selects
the list element with that key) or a ``function`` named in ``FUNCTIONS`` below. The patched spec is cached
as a pickle keyed by the hash of the spec and the patches (``load_spec(cache_dir=...)``; pickle rather
than JSON because the spec's response codes are integer keys). The cache lives in skiffd's root-owned
exec root.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("skiff.engine.spec")

API_VERSION = "1.39"
MIN_API_VERSION = "1.12"


def _repo_openapi_dir() -> Path:
    env = os.environ.get("SKIFF_OPENAPI_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "openapi" / "engine-api-v1.39.yaml"
        if candidate.exists():
            return candidate.parent
    return Path("/usr/share/skiff/openapi")


OPENAPI_DIR = _repo_openapi_dir()
SPEC_FILE = OPENAPI_DIR / "engine-api-v1.39.yaml"
PATCH_DIR = OPENAPI_DIR / "patches"

Spec = dict[str, Any]


@dataclass(frozen=True)
class Patch:
    name: str
    reason: str
    ops: list[dict[str, Any]] = field(default_factory=list)
    function: str | None = None


class PatchError(Exception):
    """A patch no longer applies to the spec (its target moved or vanished)."""


# --- JSON-pointer-like ops ---------------------------------------------------------------------------

def _segments(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise PatchError(f"bad pointer {pointer!r}")
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer[1:].split("/")]


def _step(node: Any, segment: str, pointer: str) -> Any:
    if isinstance(node, list):
        if segment.startswith("[") and segment.endswith("]") and "=" in segment:
            key, value = segment[1:-1].split("=", 1)
            for item in node:
                if isinstance(item, dict) and str(item.get(key)) == value:
                    return item
            raise PatchError(f"{pointer}: no element with {key}={value}")
        return node[int(segment)]
    if isinstance(node, dict):
        if segment not in node:
            raise PatchError(f"{pointer}: no key {segment!r}")
        return node[segment]
    raise PatchError(f"{pointer}: cannot step into {type(node).__name__}")


def apply_op(spec: Spec, op: dict[str, Any]) -> None:
    pointer = str(op["path"])
    *parents, last = _segments(pointer)
    node: Any = spec
    for segment in parents:
        node = _step(node, segment, pointer)
    kind = op["op"]
    if kind == "remove":
        _step(node, last, pointer)
        del node[last]
    elif kind == "replace":
        _step(node, last, pointer)
        node[last] = copy.deepcopy(op["value"])
    elif kind == "add":
        if last in node:
            raise PatchError(f"{pointer}: already present")
        node[last] = copy.deepcopy(op["value"])
    elif kind == "extend":
        current = node.setdefault(last, [])
        if not isinstance(current, list):
            raise PatchError(f"{pointer}: not a list")
        current.extend(v for v in op["value"] if v not in current)
    else:
        raise PatchError(f"{pointer}: unknown op {kind!r}")


# --- function patches --------------------------------------------------------------------------------

def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in the tree, depth-first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _operations(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "put", "post", "delete", "head", "patch", "options"}:
                yield path, method, op


def name_path_format(spec: Spec) -> int:
    count = 0
    for path, _method, op in _operations(spec):
        if "{name}" in path and path.split("/")[1] in {"images", "plugins", "distribution"}:
            for param in op.get("parameters", []):
                if param.get("in") == "path" and param.get("name") == "name":
                    param["format"] = "path"
                    count += 1
    return count


def _schemas(spec: Spec) -> Iterator[dict[str, Any]]:
    """Schema trees: definitions, body parameter schemas (not query/path parameters) and inline response
    schemas (dockerd's answers are Go structs too: ExecInspect's ``ExitCode *int`` is null while the
    process runs, which the conformance recorder saw)."""
    yield from _walk(spec.get("definitions", {}))
    for _path, _method, op in _operations(spec):
        for param in op.get("parameters", []):
            if param.get("in") == "body" and "schema" in param:
                yield from _walk(param["schema"])
        for response in (op.get("responses") or {}).values():
            if isinstance(response, dict) and "schema" in response:
                yield from _walk(response["schema"])


_SCHEMA_KEYWORDS = {"properties", "items", "additionalProperties", "allOf", "enum"}


def go_nulls(spec: Spec) -> int:
    count = 0
    for node in _schemas(spec):
        if "type" in node and isinstance(node["type"], str) and "x-nullable" not in node:
            node["x-nullable"] = True
            count += 1
    return count


def empty_enum_values(spec: Spec) -> int:
    count = 0
    for node in _walk(spec.get("definitions", {})):
        enum = node.get("enum")
        if node.get("type") == "string" and isinstance(enum, list) and "" not in enum:
            enum.append("")
            count += 1
    return count


INT_RANGES: dict[str, tuple[int, int]] = {
    "int64": (-(2**63), 2**63 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint64": (0, 2**64 - 1),
    "uint32": (0, 2**32 - 1),
    "uint16": (0, 2**16 - 1),
    "uint8": (0, 2**8 - 1),
}


def int_ranges(spec: Spec) -> int:
    count = 0
    for node in _walk(spec):
        bounds = INT_RANGES.get(str(node.get("format")))
        if node.get("type") == "integer" and bounds is not None:
            node.setdefault("minimum", bounds[0])
            node.setdefault("maximum", bounds[1])
            count += 1
    return count


FUNCTIONS: dict[str, Callable[[Spec], int]] = {
    "name_path_format": name_path_format,
    "go_nulls": go_nulls,
    "empty_enum_values": empty_enum_values,
    "int_ranges": int_ranges,
}


# --- loading -----------------------------------------------------------------------------------------

def _yaml_load(text: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def load_patches(patch_dir: Path = PATCH_DIR) -> list[Patch]:
    patches = []
    for file in sorted(patch_dir.glob("*.yaml")):
        data = _yaml_load(file.read_text())
        patches.append(Patch(name=data["name"], reason=data["reason"], ops=list(data.get("ops") or []),
                             function=data.get("function")))
    return patches


def apply_patch(spec: Spec, patch: Patch) -> None:
    if patch.function is not None:
        if patch.function not in FUNCTIONS:
            raise PatchError(f"{patch.name}: unknown function {patch.function}")
        changed = FUNCTIONS[patch.function](spec)
        if not changed:
            raise PatchError(f"{patch.name}: changed nothing")
    for op in patch.ops:
        try:
            apply_op(spec, op)
        except PatchError as exc:
            raise PatchError(f"{patch.name}: {exc}") from exc


def patched_spec(raw: Spec, patches: list[Patch]) -> Spec:
    spec = copy.deepcopy(raw)
    for patch in patches:
        apply_patch(spec, patch)
        log.info("applied spec patch %s: %s", patch.name, patch.reason)
    return spec


def _fingerprint(spec_text: bytes, patch_dir: Path) -> str:
    digest = hashlib.sha256(spec_text)
    for file in sorted(patch_dir.glob("*.yaml")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    digest.update(Path(__file__).read_bytes())  # function patches live here
    return digest.hexdigest()[:16]


def cache_path(cache_dir: Path, spec_file: Path = SPEC_FILE, patch_dir: Path = PATCH_DIR) -> Path:
    """Where the patched spec for this spec file, these patches and this module is cached."""
    return cache_dir / f"spec-{_fingerprint(spec_file.read_bytes(), patch_dir)}.pickle"


def read_cache(cache: Path) -> Spec | None:
    try:
        cached = pickle.loads(cache.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
        cached = None
    if isinstance(cached, dict):
        log.debug("patched spec from cache %s", cache)
        return cached
    log.warning("ignoring corrupt spec cache %s", cache)
    return None


def write_cache(cache: Path, spec: Spec) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(cache)
    except OSError as exc:
        log.warning("cannot cache the patched spec in %s: %s", cache, exc)


def build_spec(spec_file: Path = SPEC_FILE, patch_dir: Path = PATCH_DIR) -> Spec:
    """The vendored spec with every patch applied (no cache)."""
    return patched_spec(_yaml_load(spec_file.read_text()), load_patches(patch_dir))


def load_spec(spec_file: Path = SPEC_FILE, patch_dir: Path = PATCH_DIR,
              cache_dir: Path | None = None) -> Spec:
    """The patched spec; with ``cache_dir`` it is read from/written to ``<cache_dir>/spec-<hash>.pickle``."""
    if cache_dir is None:
        return build_spec(spec_file, patch_dir)
    cache = cache_path(cache_dir, spec_file, patch_dir)
    spec = read_cache(cache)
    if spec is None:
        spec = build_spec(spec_file, patch_dir)
        write_cache(cache, spec)
    return spec
