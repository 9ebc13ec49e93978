"""The closed set of errors every layer raises; the engine maps them to HTTP status in one place."""

from __future__ import annotations


class SkiffError(Exception):
    """Base of all Skiff errors; ``str(err)`` is the message users see."""

    kind = "Unknown"


class NotFound(SkiffError):
    kind = "NotFound"


class AlreadyExists(SkiffError):
    kind = "AlreadyExists"


class Conflict(SkiffError):
    kind = "Conflict"


class InvalidArgument(SkiffError):
    kind = "InvalidArgument"


class FailedPrecondition(SkiffError):
    kind = "FailedPrecondition"


class NotImplemented_(SkiffError):  # the builtin name is taken
    kind = "NotImplemented"


class Unavailable(SkiffError):
    kind = "Unavailable"


class Unknown(SkiffError):
    kind = "Unknown"


class Forbidden(SkiffError):
    """moby's errdefs.Forbidden (403): e.g. removing a pre-defined network or one with endpoints."""

    kind = "Forbidden"


KINDS: dict[str, type[SkiffError]] = {
    cls.kind: cls
    for cls in (NotFound, AlreadyExists, Conflict, InvalidArgument, FailedPrecondition, NotImplemented_,
                Unavailable, Unknown, Forbidden)
}


def from_kind(kind: str, message: str) -> SkiffError:
    """Rebuild an error that crossed a process boundary as ``{"kind", "message"}``."""
    return KINDS.get(kind, Unknown)(message)
