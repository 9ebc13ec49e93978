"""Versioned and unversioned paths, version refusals, HEAD, dockerd's default headers."""

from __future__ import annotations

import httpx
import pytest
from skiff.engine.versioning import rewrite_path, version_error

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(("path", "expected"), [
    ("/_ping", ("/v1.39/_ping", None)),
    ("/v1.39/_ping", ("/v1.39/_ping", "1.39")),
    ("/v1.24/containers/json", ("/v1.39/containers/json", "1.24")),
    ("/v1.40", ("/v1.39/", "1.40")),
    ("/version", ("/v1.39/version", None)),
    ("/volumes", ("/v1.39/volumes", None)),
])
def test_rewrite_path(path: str, expected: tuple[str, str | None]) -> None:
    assert rewrite_path(path) == expected


def test_version_errors() -> None:
    assert version_error("1.39") is None
    assert version_error("1.12") is None
    assert version_error("1.40") == "client version 1.40 is too new. Maximum supported API version is 1.39"
    assert version_error("1.11") == ("client version 1.11 is too old. Minimum supported API version is 1.12, "
                                     "please upgrade your client to a newer version")


async def test_too_new_is_400_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1.99/version")
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert r.text == '{"message":"client version 1.99 is too new. Maximum supported API version is 1.39"}\n'


@pytest.mark.parametrize("path", ["/_ping", "/v1.39/_ping", "/v1.24/_ping", "/v1.12/_ping"])
async def test_ping_everywhere(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert (r.status_code, r.text) == (200, "OK")
    assert r.headers["api-version"] == "1.39"
    assert r.headers["docker-experimental"] == "false"
    assert r.headers["ostype"] == "linux"
    assert r.headers["server"].startswith("Docker/") and r.headers["server"].endswith(" (linux)")
    assert r.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    assert r.headers["pragma"] == "no-cache"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


async def test_head_ping(client: httpx.AsyncClient) -> None:
    r = await client.head("/_ping")
    assert r.status_code == 200
    assert r.headers["content-length"] == "0"
    assert r.headers["api-version"] == "1.39"


async def test_version_document(client: httpx.AsyncClient) -> None:
    body = (await client.get("/version")).json()
    assert body["ApiVersion"] == "1.39" and body["MinAPIVersion"] == "1.12"
    assert [c["Name"] for c in body["Components"]] == ["Engine", "containerd", "runc"]
    assert body["GoVersion"].startswith("python3")
    for key in ("Version", "GitCommit", "Os", "Arch", "KernelVersion", "BuildTime"):
        assert body[key]


async def test_info_document(client: httpx.AsyncClient) -> None:
    body = (await client.get("/info")).json()
    for key in ("ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images",
                "DockerRootDir", "Name", "OperatingSystem", "KernelVersion", "NCPU", "MemTotal", "Runtimes",
                "DefaultRuntime", "SecurityOptions", "Swarm", "ServerVersion"):
        assert key in body
    assert body["Driver"] == "overlay2"
    assert body["CgroupDriver"] == "cgroupfs"
    assert body["CgroupVersion"] in ("1", "2")
    assert body["Swarm"]["LocalNodeState"] == "inactive"
