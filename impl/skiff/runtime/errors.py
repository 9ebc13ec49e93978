"""The one error skiff-runc reports: its message is printed like runc's and the exit status is 1."""

from __future__ import annotations


class ContainerError(Exception):
    """A failed runtime operation; ``str(err)`` is runc's message (e.g. ``container does not exist``)."""


def warn(msg: str) -> None:
    """A warning as runc logs one (``level=warning``); the CLI points ``WARN`` at its logger."""
    WARN[0](msg)


def _stderr(msg: str) -> None:
    import sys

    sys.stderr.write(f"level=warning msg={msg!r}\n")


WARN = [_stderr]
