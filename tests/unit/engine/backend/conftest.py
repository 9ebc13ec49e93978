"""Fixtures for the engine backend unit tests: a FakeCore (the lowest edge) and the services over it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from skiff.engine.backend import ContainerService, ImageService
from skiff_fakecore import FakeCore


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def images(core: FakeCore) -> ImageService:
    return ImageService(core)


@pytest.fixture
async def containers(core: FakeCore, images: ImageService, tmp_path: Path) -> AsyncIterator[ContainerService]:
    svc = ContainerService(core, images, tmp_path)
    images._users = lambda: svc
    svc.start_background()
    yield svc
    await svc.close()
