"""Engine unit-test fixtures: the app built once, an httpx client over ASGI, fresh services per test."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterator

# connexion imports starlette.testclient, which warns about httpx at import time (UserWarning)
warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")

import httpx  # noqa: E402
import pytest  # noqa: E402
from skiff.engine.app import EngineApp, create_app  # noqa: E402
from skiff.engine.context import Services, services, set_services  # noqa: E402


@pytest.fixture(scope="session")
def engine_app() -> EngineApp:
    return create_app()


@pytest.fixture(autouse=True)
def fresh_services() -> Iterator[Services]:
    previous = services()
    fresh = Services()
    set_services(fresh)
    yield fresh
    set_services(previous)


@pytest.fixture
async def client(engine_app: EngineApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=engine_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://skiff") as c:
        yield c
