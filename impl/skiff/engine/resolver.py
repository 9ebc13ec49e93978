"""operationId -> handler: ``skiff.engine.api.<tag>.<operationId without the tag, snake_case>``.

``ContainerList`` -> ``container.list_`` (trailing ``_`` for keywords and builtins), ``ImageCreate`` ->
``image.create``, ``ContainerArchiveInfo`` -> ``container.archive_info``, ``PutContainerArchive`` ->
``container.put_archive``, ``ContainerExec`` (tag Exec) -> ``exec.create`` (ALIASES). An operation whose
module or function does not exist yet still routes and answers 501; the swarm family answers 503
like an inactive Docker node.
"""

from __future__ import annotations

import builtins
import importlib
import keyword
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from connexion.resolver import Resolution, Resolver

from skiff import errdefs

log = logging.getLogger("skiff.engine.resolver")

API_PACKAGE = "skiff.engine.api"

NOT_SWARM_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
                     "to connect this node to swarm and try again.")
NOT_IN_SWARM = "This node is not part of a swarm"
SWARM_TAGS = frozenset({"swarm", "node", "service", "task", "secret", "config"})
# What an inactive dockerd 20.10 answers that differs from NOT_SWARM_MANAGER (checked against the reference).
SWARM_MESSAGES: dict[str, tuple[type[errdefs.SkiffError], str]] = {
    "SwarmLeave": (errdefs.Unavailable, NOT_IN_SWARM),
    "SwarmInit": (errdefs.NotImplemented_, "swarm mode is not supported by skiff"),
    "SwarmJoin": (errdefs.NotImplemented_, "swarm mode is not supported by skiff"),
}

# Exceptions to the rule where the rule gives a poor name (Docker's own route is postContainerExecCreate).
ALIASES: dict[str, str] = {"ContainerExec": "create"}

_BUILTINS = frozenset(dir(builtins))
_CAMEL_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b)|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True)
class Target:
    """Where an operation's handler lives."""

    operation_id: str
    module: str
    function: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.function}"


def tag_module(tag: str) -> str:
    """``"Session (experimental)"`` -> ``session``; ``Container`` -> ``container``."""
    return re.sub(r"\W", "", tag.split(" ")[0]).lower()


def camel_words(name: str) -> list[str]:
    return _CAMEL_WORD.findall(name)


def snake(words: list[str]) -> str:
    name = "_".join(w.lower() for w in words)
    return name + "_" if keyword.iskeyword(name) or name in _BUILTINS else name


def target_for(operation_id: str, tag: str) -> Target:
    """The handler location for an operation (pure: used by the resolver and the tests)."""
    module = tag_module(tag)
    words = camel_words(operation_id)
    tag_words = camel_words(tag.split(" ")[0])
    n = len(tag_words)
    rest = words
    if [w.lower() for w in words[:n]] == [w.lower() for w in tag_words]:
        rest = words[n:]
    else:
        for i in range(len(words) - n + 1):
            if [w.lower() for w in words[i:i + n]] == [w.lower() for w in tag_words]:
                rest = words[:i] + words[i + n:]
                break
    if not rest:
        rest = words
    return Target(operation_id, f"{API_PACKAGE}.{module}", ALIASES.get(operation_id) or snake(rest))


Handler = Callable[..., Awaitable[Any]]


def not_implemented_handler(operation_id: str) -> Handler:
    message = f"{operation_id} is not implemented by skiff yet"

    async def handler(**_kwargs: Any) -> Any:
        raise errdefs.NotImplemented_(message)

    handler.__name__ = f"not_implemented_{operation_id}"
    return handler


def swarm_handler(operation_id: str) -> Handler:
    cls, message = SWARM_MESSAGES.get(operation_id, (errdefs.Unavailable, NOT_SWARM_MANAGER))

    async def handler(**_kwargs: Any) -> Any:
        raise cls(message)

    handler.__name__ = f"swarm_inactive_{operation_id}"
    return handler


def find_handler(target: Target) -> Handler | None:
    """The function, or None if its module or the function does not exist (yet).

    A module that exists but fails to import is a bug and is not hidden.
    """
    try:
        module = importlib.import_module(target.module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and target.module.startswith(exc.name):
            return None
        raise
    func = getattr(module, target.function, None)
    return func if callable(func) else None


class SkiffResolver(Resolver):  # type: ignore[misc]
    """connexion resolver implementing the naming rule and the 501/503 fallbacks."""

    def __init__(self) -> None:
        super().__init__()
        self.resolved: dict[str, str] = {}

    def resolve(self, operation: Any) -> Resolution:
        operation_id: str = operation.operation_id
        tags: list[str] = list(operation._operation.get("tags") or ["System"])
        target = target_for(operation_id, tags[0])
        if tag_module(tags[0]) in SWARM_TAGS:
            func = find_handler(target) or swarm_handler(operation_id)
            kind = "swarm"
        else:
            found = find_handler(target)
            func = found or not_implemented_handler(operation_id)
            kind = target.dotted if found else "501"
        self.resolved[operation_id] = kind
        return Resolution(func, operation_id)
