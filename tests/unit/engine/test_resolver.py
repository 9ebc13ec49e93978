"""Every one of the 105 operations routes; the naming rule; 501 and swarm 503 fallbacks."""

from __future__ import annotations

import httpx
import pytest
from skiff.engine.app import EngineApp
from skiff.engine.resolver import NOT_SWARM_MANAGER, target_for
from skiff.engine.spec import load_spec

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(("operation_id", "tag", "dotted"), [
    ("ContainerList", "Container", "container.list_"),
    ("ImageCreate", "Image", "image.create"),
    ("SystemPing", "System", "system.ping"),
    ("ContainerArchiveInfo", "Container", "container.archive_info"),
    ("PutContainerArchive", "Container", "container.put_archive"),
    ("ContainerExec", "Exec", "exec.create"),
    ("ExecStart", "Exec", "exec.start"),
    ("ImageGetAll", "Image", "image.get_all"),
    ("BuildPrune", "Image", "image.build_prune"),
    ("PluginSet", "Plugin", "plugin.set_"),
    ("GetPluginPrivileges", "Plugin", "plugin.get_privileges"),
    ("SystemDataUsage", "System", "system.data_usage"),
    ("SwarmUnlockkey", "Swarm", "swarm.unlockkey"),
    ("Session", "Session (experimental)", "session.session"),
])
def test_naming_rule(operation_id: str, tag: str, dotted: str) -> None:
    assert target_for(operation_id, tag).dotted == f"skiff.engine.api.{dotted}"


def test_all_105_operations_route(engine_app: EngineApp) -> None:
    spec = load_spec()
    operation_ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()
                     if isinstance(op, dict) and "operationId" in op}
    assert len(operation_ids) == 105
    assert set(engine_app.resolver.resolved) == operation_ids


async def test_unimplemented_operation_answers_501(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1.39/plugins")
    assert r.status_code == 501
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"message": "PluginList is not implemented by skiff yet"}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/swarm"), ("GET", "/swarm/unlockkey"), ("POST", "/swarm/unlock"), ("GET", "/nodes"),
    ("GET", "/nodes/x"), ("GET", "/services"), ("DELETE", "/services/x"), ("GET", "/tasks"),
    ("GET", "/secrets"), ("GET", "/configs"), ("GET", "/configs/x"),
])
async def test_swarm_family_answers_like_an_inactive_node(client: httpx.AsyncClient, method: str,
                                                         path: str) -> None:
    body = {"Key": "x"} if path == "/swarm/unlock" else None
    r = await client.request(method, path, json=body)
    assert r.status_code == 503, r.text
    assert r.json() == {"message": NOT_SWARM_MANAGER}


async def test_swarm_leave_message(client: httpx.AsyncClient) -> None:
    r = await client.post("/swarm/leave")
    assert (r.status_code, r.json()) == (503, {"message": "This node is not part of a swarm"})


async def test_image_names_with_slashes_route(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1.39/images/localhost:5000/library/busybox:latest/json")
    assert r.status_code != 405
    assert r.json() != {"message": "page not found"}
