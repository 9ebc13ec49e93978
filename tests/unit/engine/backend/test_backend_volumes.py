"""Local volumes: anonymous and named at create, bound in the run spec, in inspect, ``rm -v``, the API."""

from __future__ import annotations

import warnings
from pathlib import Path

import httpx
import pytest
from skiff import errdefs
from skiff.engine.backend import ContainerService, runspec, volumes

warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
pytestmark = [pytest.mark.unit, pytest.mark.anyio]


async def create(svc: ContainerService, **extra: object) -> str:
    return str((await svc.create(None, {"Image": "busybox", "Cmd": ["true"], **extra}))["Id"])


def volume_mounts(info: dict[str, object]) -> dict[str, dict[str, object]]:
    mounts = info["Mounts"]
    assert isinstance(mounts, list)
    return {m["Destination"]: m for m in mounts if m["Type"] == "volume"}


async def test_anonymous_volume_shape_and_rm_v(containers: ContainerService, tmp_path: Path) -> None:
    cid = await create(containers, Volumes={"/data": {}})
    (point,) = volume_mounts(await containers.inspect(cid)).values()
    name = str(point["Name"])
    assert len(name) == 64
    assert point == {
        "Type": "volume",
        "Name": name,
        "Source": str(tmp_path / "volumes" / name / "_data"),
        "Destination": "/data",
        "Driver": "local",
        "Mode": "",
        "RW": True,
        "Propagation": "",
    }
    info = containers.volumes.inspect(name)
    assert info["Mountpoint"] == point["Source"] and info["Labels"] is None and info["Scope"] == "local"
    spec = runspec.build_spec(containers.get(cid))
    assert {"destination": "/data", "type": "bind", "source": point["Source"], "options": ["rbind"]} in (
        spec["mounts"]
    )
    with pytest.raises(errdefs.Conflict, match=rf"^remove {name}: volume is in use - \[{cid}\]$"):
        containers.volumes.remove(name, containers.volume_users(name), force=True)
    await containers.delete(cid, volumes=True)
    with pytest.raises(errdefs.NotFound, match=rf"^get {name}: no such volume$"):
        containers.volumes.inspect(name)


async def test_rm_without_v_keeps_the_volume(containers: ContainerService) -> None:
    cid = await create(containers, Volumes={"/data": {}})
    (point,) = volume_mounts(await containers.inspect(cid)).values()
    await containers.delete(cid)
    name = str(point["Name"])
    assert containers.volumes.inspect(name)["Name"] == name
    containers.volumes.remove(name, containers.volume_users(name))
    containers.volumes.remove(name, [], force=True)  # gone: force is quiet
    with pytest.raises(errdefs.NotFound):
        containers.volumes.remove(name, [])


async def test_named_volumes_survive_rm_v_and_are_shared(containers: ContainerService) -> None:
    first = await create(containers, HostConfig={"Binds": ["shared:/a", "/tmp:/host:ro"]})
    mount = {"Type": "volume", "Source": "shared", "Target": "/a"}
    second = await create(containers, Volumes={"/a": {}}, HostConfig={"Mounts": [mount]})
    a = volume_mounts(await containers.inspect(first))["/a"]
    assert (a["Name"], a["Mode"], a["RW"]) == ("shared", "z", True)
    binds = [m for m in (await containers.inspect(first))["Mounts"] if m["Type"] == "bind"]
    assert [(m["Source"], m["Destination"]) for m in binds] == [("/tmp", "/host")]
    assert volume_mounts(await containers.inspect(second))["/a"]["Name"] == "shared"
    assert containers.volume_users("shared") == [first, second]
    await containers.delete(first, volumes=True)
    await containers.delete(second, volumes=True)
    assert containers.volumes.inspect("shared")["Name"] == "shared"


async def test_bad_volume_name_fails_the_create_and_leaves_nothing(containers: ContainerService) -> None:
    with pytest.raises(errdefs.InvalidArgument, match=r'^create a\$b: "a\$b" includes invalid characters'):
        await create(containers, Volumes={"/data": {}}, HostConfig={"Binds": ["a$b:/x"]})
    assert list(containers.store) == [] and containers.volumes.names() == []
    with pytest.raises(errdefs.InvalidArgument, match=r"^create x: volume name is too short"):
        volumes.check_name("x")


async def test_volume_api(containers: ContainerService) -> None:
    from skiff.engine import context
    from skiff.engine.app import create_app

    cid = await create(containers, Volumes={"/data": {}})
    (point,) = volume_mounts(await containers.inspect(cid)).values()
    name = point["Name"]
    context.set_services(context.Services(containers=containers))
    try:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://skiff/v1.39") as api:
            r = await api.get(f"/volumes/{name}")
            assert r.status_code == 200 and r.json()["Name"] == name
            r = await api.delete(f"/volumes/{name}")
            assert r.status_code == 409 and r.json()["message"].startswith(f"remove {name}: volume is in use")
            await containers.delete(cid)
            assert (await api.delete(f"/volumes/{name}")).status_code == 204
            r = await api.get(f"/volumes/{name}")
            assert (r.status_code, r.json()) == (404, {"message": f"get {name}: no such volume"})
            assert (await api.delete(f"/volumes/{name}?force=1")).status_code == 204
    finally:
        context.set_services(context.Services())
