"""The container and image handlers through the real connexion app (in process), over a fake core."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from skiff_fakecore import FakeCore

warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")

from skiff.engine import context  # noqa: E402
from skiff.engine.app import EngineApp, create_app  # noqa: E402
from skiff.engine.backend import build_services, stdcopy  # noqa: E402
from skiff.engine.config import DaemonConfig  # noqa: E402

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture(scope="module")
def app() -> EngineApp:
    return create_app()


@pytest.fixture
async def api(app: EngineApp, core: FakeCore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    services = build_services(core, DaemonConfig(data_root=tmp_path))
    context.set_services(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://skiff/v1.39") as client:
        yield client
    await services.containers.close()
    context.set_services(context.Services())


async def test_container_round_trip(api: httpx.AsyncClient) -> None:
    r = await api.post("/containers/create?name=t1", json={"Image": "busybox", "Cmd": ["echo", "hello"]})
    assert r.status_code == 201 and r.json()["Warnings"] == []
    cid = r.json()["Id"]
    r = await api.post("/containers/create?name=t1", json={"Image": "busybox"})
    assert r.status_code == 409 and "is already in use by container" in r.json()["message"]
    r = await api.post("/containers/create", json={"Image": "busybox:nope"})
    assert (r.status_code, r.json()) == (404, {"message": "No such image: busybox:nope"})
    assert (await api.post("/containers/t1/start")).status_code == 204
    r = await api.post("/containers/t1/wait")
    assert (r.status_code, r.content) == (200, b'{"Error":null,"StatusCode":0}\n')
    r = await api.get("/containers/t1/logs?stdout=1&stderr=1")
    assert stdcopy.split(r.content) == [(1, b"hello\n"), (2, b"done\n")]
    r = await api.get("/containers/t1/logs")
    assert r.json() == {"message": "Bad parameters: you must choose at least one stream"}
    r = await api.get("/containers/json?all=1")
    assert [c["Id"] for c in r.json()] == [cid]
    r = await api.get(f"/containers/{cid[:8]}/json")
    assert r.json()["Name"] == "/t1" and r.json()["State"]["Status"] == "exited"
    r = await api.post("/containers/t1/stop")
    assert (r.status_code, r.content) == (304, b"")
    r = await api.post("/containers/t1/start")
    r = await api.post("/containers/t1/wait?condition=not-running")
    r = await api.post("/containers/t1/kill")
    assert r.status_code == 409
    r = await api.post("/containers/t1/kill?signal=FOO")
    assert (r.status_code, r.json()) == (400, {"message": "Invalid signal: FOO"})
    assert (await api.delete("/containers/t1")).status_code == 204
    r = await api.delete("/containers/t1")
    assert (r.status_code, r.json()) == (404, {"message": "No such container: t1"})
    r = await api.post("/containers/prune")
    assert r.json() == {"ContainersDeleted": None, "SpaceReclaimed": 0}


async def test_attach_not_found_is_plain_text(api: httpx.AsyncClient) -> None:
    r = await api.post("/containers/nosuch/attach?stream=1&stdout=1")
    assert r.status_code == 404 and r.content == b"No such container: nosuch\r\n"
    assert r.headers["content-type"] == "application/vnd.docker.raw-stream"


async def test_attach_logs_replay(api: httpx.AsyncClient) -> None:
    cid = (await api.post("/containers/create", json={"Image": "busybox", "Cmd": ["echo", "x"]})).json()["Id"]
    await api.post(f"/containers/{cid}/start")
    await api.post(f"/containers/{cid}/wait")
    r = await api.post(f"/containers/{cid}/attach?logs=1&stdout=1&stderr=1")
    assert stdcopy.split(r.content) == [(1, b"x\n"), (2, b"done\n")]


async def test_image_handlers(api: httpx.AsyncClient, core: FakeCore) -> None:
    r = await api.get("/images/json")
    assert [i["RepoTags"] for i in r.json()] == [["busybox:latest"]]
    r = await api.get("/images/busybox/json")
    assert r.json()["RepoTags"] == ["busybox:latest"]
    assert (await api.post("/images/busybox/tag?repo=foo&tag=v1")).status_code == 201
    r = await api.delete("/images/foo:v1")
    assert r.json() == [{"Untagged": "foo:v1"}]
    changes = "changes=CMD%20%5B%22sh%22%5D&changes=ENV%20A%3D1"
    r = await api.post(f"/images/create?fromSrc=-&repo=imp&tag=t&message=m&{changes}", content=b"abc")
    assert (
        r.status_code == 200 and r.content.startswith(b'{"status":"sha256:') and r.content.endswith(b"\r\n")
    )
    _name, (sent_name, sent_config, data) = core.calls[-1]
    assert (sent_name, data) == ("docker.io/library/imp:t", b"abc")
    assert sent_config["config"] == {"Cmd": ["sh"], "Env": ["A=1"]} and sent_config["comment"] == "m"
    r = await api.post("/images/create?fromSrc=-&changes=RUN%20x", content=b"abc")
    assert (r.status_code, r.json()) == (400, {"message": "run is not a valid change command"})
    r = await api.post(
        "/images/load", content=b"LOAD docker.io/library/x:1", headers={"Content-Type": "application/x-tar"}
    )
    assert r.content == b'{"stream":"Loaded image: x:1\\n"}\r\n'
    r = await api.post("/images/create?fromImage=localhost:1/busybox&tag=latest")
    assert r.status_code == 500 and "connect: connection refused" in r.json()["message"]


async def test_body_errors(api: httpx.AsyncClient) -> None:
    r = await api.post("/containers/create", content=b"notjson", headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 500)
    r = await api.post("/containers/create", json={"Image": ""})
    assert (r.status_code, r.json()) == (400, {"message": "No command specified"})


async def test_since_until_decimal_and_bodyless_commit(api: httpx.AsyncClient) -> None:
    """P20: the CLI's "<seconds>.<nanoseconds>" reaches the backend; P21: docker commit sends no body."""
    r = await api.post("/containers/create?name=t2", json={"Image": "busybox", "Cmd": ["echo", "hello"]})
    assert (await api.post("/containers/t2/start")).status_code == 204
    await api.post("/containers/t2/wait")
    r = await api.get("/containers/t2/logs?stdout=1&since=1767225600.000000000&until=4102444800.5")
    assert stdcopy.split(r.content) == [(1, b"hello\n")]
    r = await api.get("/containers/t2/logs?stdout=1&until=1767225600.000000000")
    assert (r.status_code, r.content) == (200, b"")
    r = await api.get("/containers/t2/logs?stdout=1&since=10m")
    assert (r.status_code, r.json()) == (500, {"message": 'strconv.ParseInt: parsing "10m": invalid syntax'})
    r = await api.post("/commit?container=nosuch")
    assert (r.status_code, r.json()) == (404, {"message": "No such container: nosuch"})
    r = await api.post("/containers/nosuch/kill")
    assert r.json() == {"message": "Cannot kill container: nosuch: No such container: nosuch"}
    r = await api.get("/images/nosuch/json")
    assert r.json() == {"message": "no such image: nosuch: No such image: nosuch:latest"}
    assert (await api.delete("/containers/t2")).status_code == 204
