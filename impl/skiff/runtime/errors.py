"""The one error skiff-runc reports: its message is printed like runc's and the exit status is 1."""

from __future__ import annotations


class ContainerError(Exception):
    """A failed runtime operation; ``str(err)`` is runc's message (e.g. ``container does not exist``)."""
