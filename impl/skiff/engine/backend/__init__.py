"""skiffd's backends, one service per domain; ``build_services`` is the composition main.py calls."""

from __future__ import annotations

import asyncio
from typing import Any

from skiff.engine.backend.containers import ContainerService
from skiff.engine.backend.events import EventBus
from skiff.engine.backend.images import ImageService
from skiff.engine.backend.networks import NetworkService
from skiff.engine.config import DaemonConfig
from skiff.engine.context import Services

__all__ = ["ContainerService", "EventBus", "ImageService", "build_services"]


def build_services(core: Any, config: DaemonConfig) -> Services:
    """Wire the backends over one CoreClient. Loads the container records now; the core event follower
    starts here when called inside a running loop, or on the first container operation otherwise.
    Both backends publish Docker's engine events on one ``EventBus`` (``services.containers.events``)."""
    containers: ContainerService | None = None
    events = EventBus()
    images = ImageService(core, users=lambda: containers, events=events)
    images.insecure_registries = list(getattr(config, "insecure_registries", []))
    containers = ContainerService(
        core,
        images,
        config.data_root,
        containerd_state=config.containerd_state,
        events=events,
        init_path=config.init_path,
    )
    containers.configured_runtimes = dict(config.runtimes)
    containers.runtime_paths = dict(config.runtime_paths)
    containers.default_runtime = config.default_runtime
    containers.network = NetworkService.for_daemon(config.data_root, config.exec_root)
    containers.network.events = containers.events
    try:
        asyncio.get_running_loop()
        containers.start_background()
    except RuntimeError:
        pass
    return Services(core=core, containers=containers, images=images, config=config)
