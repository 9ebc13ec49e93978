"""dockerd's v1 image struct, for schema1 images older than Docker 1.8.3.

``MakeConfigFromV1Config`` first decodes such an image's v1 JSON into its ``V1Image`` struct and encodes it
again, so the config holds what that struct keeps, in its field order, with Go's zero values: every
field of ``container.Config`` in ``container_config`` (and in ``config`` when present), and nothing
the struct does not know. This module does that round trip so the image ID matches dockerd's.
Go matches JSON keys to fields without regard to case (an exact match first).
"""

from __future__ import annotations

from typing import Any

# (field, kind, omitempty) in Go's declaration order
_V1_IMAGE = [
    ("id", "str", True), ("parent", "str", True), ("comment", "str", True), ("created", "time", False),
    ("container", "str", True), ("container_config", "config", False), ("docker_version", "str", True),
    ("author", "str", True), ("config", "config?", True), ("architecture", "str", True),
    ("variant", "str", True), ("os", "str", True), ("Size", "int", True),
]
_CONFIG = [
    ("Hostname", "str", False), ("Domainname", "str", False), ("User", "str", False),
    ("AttachStdin", "bool", False), ("AttachStdout", "bool", False), ("AttachStderr", "bool", False),
    ("ExposedPorts", "set", True), ("Tty", "bool", False), ("OpenStdin", "bool", False),
    ("StdinOnce", "bool", False), ("Env", "list", False), ("Cmd", "strslice", False),
    ("Healthcheck", "health", True), ("ArgsEscaped", "bool", True), ("Image", "str", False),
    ("Volumes", "set", False), ("WorkingDir", "str", False), ("Entrypoint", "strslice", False),
    ("NetworkDisabled", "bool", True), ("MacAddress", "str", True), ("OnBuild", "list", False),
    ("Labels", "map", False), ("StopSignal", "str", True), ("StopTimeout", "int?", True),
    ("Shell", "strslice", True),
]
_HEALTH = [("Test", "list", True), ("Interval", "int", True), ("Timeout", "int", True),
           ("StartPeriod", "int", True), ("Retries", "int", True)]


def version_less(version: str, than: str) -> bool:
    """Docker's ``versions.LessThan``: dotted numbers, a part that is not a number counts as 0."""
    def parts(v: str) -> list[int]:
        return [int(p) if p.isdigit() else 0 for p in v.split(".")]

    a, b = parts(version), parts(than)
    n = max(len(a), len(b))
    a, b = a + [0] * (n - len(a)), b + [0] * (n - len(b))
    return a < b


def reencode(v1: dict[str, Any], go_time: Any) -> list[tuple[str, Any]]:
    """The members of ``v1`` after the V1Image round trip, as (key, Python value to encode)."""
    return _struct(v1, _V1_IMAGE, go_time)


def lookup(obj: dict[str, Any], name: str) -> tuple[bool, Any]:
    if name in obj:
        return True, obj[name]
    for key, value in obj.items():  # Go's encoding/json: a case-insensitive match
        if key.lower() == name.lower():
            return True, value
    return False, None


def _struct(obj: dict[str, Any], fields: list[tuple[str, str, bool]], go_time: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, kind, omitempty in fields:
        _, raw = lookup(obj, name)
        value = _value(raw, kind, go_time)
        if omitempty and _empty(kind, value):
            continue
        out.append((name, value))
    return out


def _empty(kind: str, value: Any) -> bool:
    """Go's omitempty: a nil pointer, or a zero scalar, an empty slice or map."""
    if kind in ("config?", "health", "int?"):
        return value is None
    return value is None or value in ("", 0, False, [], {})


def _value(raw: Any, kind: str, go_time: Any) -> Any:
    if kind == "str":
        return raw if isinstance(raw, str) else ""
    if kind == "bool":
        return raw if isinstance(raw, bool) else False
    if kind == "int":
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else 0
    if kind == "int?":
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if kind == "time":
        return go_time(raw if isinstance(raw, str) else "")
    if kind == "list":
        return [str(x) for x in raw] if isinstance(raw, list) else None
    if kind == "strslice":
        if isinstance(raw, str):
            return [raw]
        return [str(x) for x in raw] if isinstance(raw, list) else None
    if kind in ("set", "map"):
        if not isinstance(raw, dict):
            return None
        items = sorted(raw.items(), key=lambda kv: kv[0].encode())
        return {k: ({} if kind == "set" else str(v)) for k, v in items}
    if kind == "health":
        return dict(_struct(raw, _HEALTH, go_time)) if isinstance(raw, dict) else None
    if kind == "config?":
        return None if not isinstance(raw, dict) else dict(_struct(raw, _CONFIG, go_time))
    if kind == "config":
        return dict(_struct(raw if isinstance(raw, dict) else {}, _CONFIG, go_time))
    raise ValueError(kind)

