"""errdefs -> HTTP in one place; Docker's error shape for validation, routing and surprises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from skiff import errdefs
from skiff.engine import errors
from skiff.engine.app import create_app

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(("exc", "status"), [
    (errdefs.NotFound("x"), 404), (errdefs.AlreadyExists("x"), 409), (errdefs.Conflict("x"), 409),
    (errdefs.InvalidArgument("x"), 400), (errdefs.FailedPrecondition("x"), 409),
    (errdefs.NotImplemented_("x"), 501), (errdefs.Unavailable("x"), 503), (errdefs.Unknown("x"), 500),
    (errdefs.SkiffError("x"), 500), (RuntimeError("x"), 500),
])
def test_status_for(exc: Exception, status: int) -> None:
    assert errors.status_for(exc) == status


def test_every_errdefs_kind_is_mapped() -> None:
    assert set(errdefs.KINDS.values()) <= set(errors.STATUS_BY_KIND)


async def test_unknown_route_is_page_not_found(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1.39/no/such/thing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.text == '{"message":"page not found"}\n'


async def test_405_keeps_allow(client: httpx.AsyncClient) -> None:
    r = await client.put("/_ping")
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "HEAD"}
    assert r.headers["content-type"] == "application/json"
    assert "message" in r.json()


async def test_validation_error_is_docker_shaped(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1.39/containers/json", params={"limit": "abc"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"message": "'abc' is not of type 'integer'"}


async def test_bool_words_pass_validation(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1.39/containers/json", params={"all": "1", "size": "abc"})
    assert r.status_code != 400, r.text


async def test_int64_out_of_range_is_gos_500(client: httpx.AsyncClient) -> None:
    """ContainerCreate bodies are decoded Go's way (skiff.engine.bodies): dockerd's answer."""
    r = await client.post("/v1.39/containers/create", json={"Image": "busybox", "HostConfig": {
        "Memory": 9223372036854775808}})
    assert r.status_code == 500
    assert r.json() == {"message": "json: cannot unmarshal number 9223372036854775808 into Go struct field "
                                   "HostConfig.HostConfig.Memory of type int64"}


async def test_go_nulls_pass_validation(client: httpx.AsyncClient) -> None:
    body = {"Image": "busybox", "Env": None, "Cmd": None, "HostConfig": {"Binds": None,
            "MemorySwappiness": -1, "LogConfig": {"Type": "", "Config": {}},
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}}}
    r = await client.post("/v1.39/containers/create", json=body)
    assert r.status_code != 400, r.text


@pytest.fixture
def exploding_version(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from skiff.engine.api import system

    async def version(**_kwargs: Any) -> Any:
        raise ValueError("kaboom")

    async def info(**_kwargs: Any) -> Any:
        raise errdefs.Conflict("busy")

    monkeypatch.setattr(system, "version", version)
    monkeypatch.setattr(system, "info", info)
    yield


async def test_unexpected_exception_is_json_500(exploding_version: None,
                                                caplog: pytest.LogCaptureFixture) -> None:
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        r = await c.get("/version")
        assert r.status_code == 500
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"message": "kaboom"}
        assert any("kaboom" in rec.getMessage() and rec.exc_info for rec in caplog.records)
        r = await c.get("/info")
        assert (r.status_code, r.json()) == (409, {"message": "busy"})


async def test_unsupported_media_type_is_docker_shaped(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1.39/images/load", content=b"<x/>",
                          headers={"Content-Type": "application/xml"})
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/json"
    assert set(r.json()) == {"message"}


async def test_body_less_post_with_text_plain_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1.39/containers/abc/resize?h=10&w=20", headers={"Content-Type": "text/plain"})
    assert r.status_code != 415, r.text
