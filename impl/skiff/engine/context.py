"""The process-wide services handlers reach through ``services()``.

``skiff.engine.main`` fills them once at start-up (``set_services``); handlers never build backends
themselves, so tests can install fakes at the lowest edge with ``set_services`` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skiff.engine.config import DaemonConfig


@dataclass
class Services:
    """What skiffd's handlers may use; a field left ``None`` means that backend is not wired yet."""

    core: Any = None  # skiff.core.client.CoreClient
    containers: Any = None  # skiff.engine.backend: the containers backend
    images: Any = None  # skiff.engine.backend: the images backend
    system: Any = None  # skiff.engine.backend or skiff.engine.api.system's own facts
    config: DaemonConfig = field(default_factory=DaemonConfig)


_services: Services | None = None


def services() -> Services:
    """The services of this process (empty ``Services`` until ``set_services`` is called)."""
    global _services
    if _services is None:
        _services = Services()
    return _services


def set_services(value: Services) -> None:
    """Install the process-wide services (main at start-up, tests around a case)."""
    global _services
    _services = value
