"""Networks, volumes and plugins skiff lacks answer dockerd 20.10's 404s (messages recorded from it)."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(("path", "message"), [
    ("/v1.39/networks/no-such-x", "network no-such-x not found"),
    ("/v1.39/networks/no-such-x?verbose=1&scope=local", "network no-such-x not found"),
    ("/v1.39/volumes/no-such-x", "get no-such-x: no such volume"),
    ("/v1.39/plugins/no-such-x/json", 'plugin "no-such-x" not found'),
    ("/v1.39/plugins/no-such-x:v1/json", 'plugin "no-such-x:v1" not found'),
])
async def test_not_found(client: httpx.AsyncClient, path: str, message: str) -> None:
    r = await client.get(path)
    assert (r.status_code, r.json()) == (404, {"message": message})
    assert r.headers["content-type"] == "application/json"
