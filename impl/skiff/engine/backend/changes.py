"""``docker import --change``: the Dockerfile instructions Docker accepts, applied to an image config."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import Any

from skiff import errdefs
from skiff.engine.backend import health

VALID = ("cmd", "entrypoint", "env", "expose", "healthcheck", "label", "onbuild", "user", "volume", "workdir")


def _json_or_shell(rest: str) -> list[str]:
    """Exec form (a JSON array) stays as is; shell form runs under ``/bin/sh -c``."""
    text = rest.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        except ValueError:
            pass
    return ["/bin/sh", "-c", text]


def _json_or_words(rest: str) -> list[str]:
    text = rest.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
            if isinstance(value, list):
                return [str(v) for v in value]
        except ValueError:
            pass
    return text.split()


def _pairs(instruction: str, rest: str) -> list[tuple[str, str]]:
    """``K=V K2="v 2"`` or the legacy single ``K V`` form of ENV and LABEL."""
    words = shlex.split(rest, posix=True)
    if not words:
        raise errdefs.InvalidArgument(f"{instruction.upper()} requires at least one argument")
    if "=" not in words[0]:
        parts = rest.strip().split(None, 1)
        if len(parts) < 2:
            raise errdefs.InvalidArgument(f"{instruction.upper()} must have two arguments")
        return [(parts[0], parts[1])]
    out = []
    for word in words:
        if "=" not in word:
            raise errdefs.InvalidArgument(
                f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value'
            )
        key, _, value = word.partition("=")
        out.append((key, value))
    return out


def apply(config: dict[str, Any], changes: Iterable[str]) -> dict[str, Any]:
    """Apply each change line to ``config`` (an image config's ``config`` object) and return it."""
    for change in changes:
        line = change.strip()
        if not line:
            continue
        instruction, _, rest = line.partition(" ")
        if "\t" in instruction:
            instruction, _, more = instruction.partition("\t")
            rest = more + " " + rest
        key = instruction.lower()
        if key not in VALID:
            raise errdefs.InvalidArgument(f"{key} is not a valid change command")
        if key == "cmd":
            config["Cmd"] = _json_or_shell(rest)
        elif key == "entrypoint":
            config["Entrypoint"] = _json_or_shell(rest)
        elif key == "env":
            env = list(config.get("Env") or [])
            for name, value in _pairs(key, rest):
                env = [e for e in env if e.split("=", 1)[0] != name]
                env.append(f"{name}={value}")
            config["Env"] = env
        elif key == "label":
            labels = dict(config.get("Labels") or {})
            labels.update(_pairs(key, rest))
            config["Labels"] = labels
        elif key == "expose":
            ports = dict(config.get("ExposedPorts") or {})
            for port in rest.split():
                proto = "" if "/" in port else "/tcp"
                ports[port.lower() + proto] = {}
            config["ExposedPorts"] = ports
        elif key == "user":
            config["User"] = rest.strip()
        elif key == "workdir":
            config["WorkingDir"] = rest.strip()
        elif key == "volume":
            volumes = dict(config.get("Volumes") or {})
            for path in _json_or_words(rest):
                volumes[path] = {}
            config["Volumes"] = volumes
        elif key == "healthcheck":
            config["Healthcheck"] = health.parse_instruction(rest)
        elif key == "onbuild":
            config["OnBuild"] = [*(config.get("OnBuild") or []), rest.strip()]
    return config
