"""The containers backend over a fake core: lifecycle, errors, waits, attach, list/filters, prune."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from skiff import errdefs
from skiff.engine.backend import ContainerService, ImageService, stdcopy
from skiff_fakecore import FakeCore

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


async def run(svc: ContainerService, *cmd: str, name: str | None = None, **extra: Any) -> str:
    body = {"Image": "busybox", "Cmd": list(cmd), **extra}
    cid = str((await svc.create(name, body))["Id"])
    await svc.start(cid)
    return cid


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_create_merges_image_config_and_persists(containers: ContainerService, tmp_path: Path) -> None:
    resp = await containers.create("web", {"Image": "busybox", "Env": ["A=1"], "Labels": {"x": "y"}})
    assert resp["Warnings"] == [] and len(resp["Id"]) == 64
    info = await containers.inspect("web")
    assert info["Name"] == "/web" and info["Path"] == "sh" and info["Args"] == []
    assert info["Config"]["Env"] == [
        "A=1",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]
    assert info["Config"]["Hostname"] == resp["Id"][:12]
    assert info["Config"]["Labels"] == {"x": "y"}
    assert info["State"]["Status"] == "created" and info["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert info["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert info["HostConfig"]["ShmSize"] == 67108864 and info["HostConfig"]["PidsLimit"] is None
    assert info["GraphDriver"]["Name"] == "overlay2"
    assert info["GraphDriver"]["Data"]["UpperDir"] == f"/snap/{resp['Id']}/fs"
    cdir = tmp_path / "containers" / resp["Id"]
    saved = json.loads((cdir / "config.v2.json").read_text())
    assert (
        saved["Name"] == "/web"
        and json.loads((cdir / "hostconfig.json").read_text())["NetworkMode"] == "default"
    )
    assert (cdir / "hostname").read_text() == resp["Id"][:12] + "\n"


async def test_create_errors_match_docker(
    containers: ContainerService, core: FakeCore, tmp_path: Path
) -> None:
    with pytest.raises(errdefs.NotFound, match=r"^No such image: busybox:nope$"):
        await containers.create(None, {"Image": "busybox:nope"})
    with pytest.raises(errdefs.NotFound, match=r"^No such image: nosuch:latest$"):
        await containers.create(None, {"Image": "nosuch"})
    first = (await containers.create("dup", {"Image": "busybox"}))["Id"]
    with pytest.raises(errdefs.Conflict) as exc:
        await containers.create("dup", {"Image": "busybox"})
    assert str(exc.value) == (
        f'Conflict. The container name "/dup" is already in use by container "{first}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )
    with pytest.raises(errdefs.InvalidArgument, match=r"^Invalid container name \(a/b\)"):
        await containers.create("a/b", {"Image": "busybox"})
    with pytest.raises(errdefs.InvalidArgument, match=r"AutoRemove"):
        await containers.create(
            None,
            {"Image": "busybox", "HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "always"}}},
        )
    # nothing was left behind by the failures
    assert list(core.containers) == [first]
    assert [p.name for p in (tmp_path / "containers").iterdir()] == [first]


async def test_failed_core_create_leaves_nothing(
    containers: ContainerService, core: FakeCore, tmp_path: Path
) -> None:
    async def broken(*_: Any, **__: Any) -> Any:
        raise errdefs.Unknown("snapshot failed")

    core.containers_create = broken  # type: ignore[method-assign]
    with pytest.raises(errdefs.Unknown):
        await containers.create("xx", {"Image": "busybox"})
    assert not containers.store.name_taken("xx")
    assert list((tmp_path / "containers").iterdir()) == []


async def test_run_to_exit_updates_state_and_logs(containers: ContainerService, core: FakeCore) -> None:
    cid = await run(containers, "echo", "hello")
    result = await asyncio.wait_for(containers.wait(cid), 5)
    assert result == {"Error": None, "StatusCode": 0}
    info = await containers.inspect(cid)
    assert info["State"]["Status"] == "exited" and info["State"]["Pid"] == 0
    assert info["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"
    assert ("tasks_delete", cid) in core.calls and cid not in core.tasks
    _tty, out = containers.logs(cid, stdout=True, stderr=True)
    frames = stdcopy.split(b"".join([c async for c in out]))
    assert frames == [(1, b"hello\n"), (2, b"done\n")]
    _tty, out = containers.logs(cid, stdout=True, stderr=False)
    assert stdcopy.split(b"".join([c async for c in out])) == [(1, b"hello\n")]
    with pytest.raises(errdefs.InvalidArgument, match=r"you must choose at least one stream"):
        containers.logs(cid)


async def test_spec_handed_to_core(containers: ContainerService, core: FakeCore) -> None:
    cid = await run(containers, "sleep", "60", User="1000:1000", WorkingDir="/tmp")
    spec = core.tasks[cid].spec
    assert spec["process"]["args"] == ["sleep", "60"]
    assert spec["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000]}
    assert spec["process"]["cwd"] == "/tmp"
    assert spec["hostname"] == cid[:12]
    assert spec["linux"]["cgroupsPath"] == f"/skiff/{cid}"
    assert f"HOSTNAME={cid[:12]}" in spec["process"]["env"]
    assert {m["destination"] for m in spec["mounts"]} >= {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}
    await containers.delete(cid, force=True)


async def test_start_failure_is_docker_127(containers: ContainerService, core: FakeCore) -> None:
    cid = (await containers.create("bad", {"Image": "busybox", "Cmd": ["nonexist"]}))["Id"]
    with pytest.raises(errdefs.InvalidArgument) as exc:
        await containers.start(cid)
    assert str(exc.value).startswith("failed to create shim task: OCI runtime create failed: ")
    assert 'exec: "nonexist": executable file not found in $PATH' in str(exc.value)
    state = (await containers.inspect(cid))["State"]
    assert state["ExitCode"] == 127 and state["Status"] == "created" and state["Error"] == str(exc.value)


async def test_start_twice_is_not_modified(containers: ContainerService) -> None:
    cid = await run(containers, "sleep", "60")
    assert await containers.start(cid) is False
    assert (await containers.inspect(cid))["State"]["Running"] is True
    await containers.delete(cid, force=True)


async def test_stop_kill_restart(containers: ContainerService, core: FakeCore) -> None:
    cid = await run(containers, "sleep", "60", "ignore-term")
    assert await containers.stop(cid, timeout=0) is True  # TERM ignored: KILL after the timeout
    state = (await containers.inspect(cid))["State"]
    assert state["ExitCode"] == 137 and not state["Running"]
    assert await containers.stop(cid) is False  # 304
    with pytest.raises(errdefs.Conflict) as exc:
        await containers.kill("sleep-less", None) if False else await containers.kill(cid[:10])
    assert str(exc.value) == f"Cannot kill container: {cid[:10]}: Container {cid} is not running"
    with pytest.raises(errdefs.InvalidArgument, match=r"^Invalid signal: FOO$"):
        await containers.kill("nosuch", "FOO")
    with pytest.raises(errdefs.NotFound, match=r"^Cannot kill container: nosuch: No such container: nosuch$"):
        await containers.kill("nosuch")
    await containers.restart(cid, timeout=1)
    assert (await containers.inspect(cid))["State"]["Running"] is True
    await containers.kill(cid, "SIGUSR1")
    assert ("tasks_kill", (cid, 10)) in core.calls
    await containers.kill(cid)  # default SIGKILL waits for the exit
    assert (await containers.inspect(cid))["State"]["ExitCode"] == 137


async def test_delete_running_needs_force(containers: ContainerService, core: FakeCore) -> None:
    cid = await run(containers, "sleep", "60", name="busy")
    with pytest.raises(errdefs.Conflict) as exc:
        await containers.delete("busy")
    assert str(exc.value) == (
        f"You cannot remove a running container {cid}. Stop the container before "
        "attempting removal or force remove"
    )
    await containers.delete("busy", force=True)
    assert cid not in core.containers and cid not in core.tasks
    with pytest.raises(errdefs.NotFound, match=r"^No such container: busy$"):
        await containers.inspect("busy")


async def test_wait_conditions(containers: ContainerService) -> None:
    cid = (await containers.create(None, {"Image": "busybox", "Cmd": ["fail", "3"]}))["Id"]
    assert await containers.wait(cid) == {"Error": None, "StatusCode": 0}  # created is not-running
    next_exit = asyncio.ensure_future(containers.wait(cid, "next-exit"))
    removed = asyncio.ensure_future(containers.wait(cid, "removed"))
    await asyncio.sleep(0)
    assert not next_exit.done()
    await containers.start(cid)
    assert (await asyncio.wait_for(next_exit, 5))["StatusCode"] == 3
    assert not removed.done()
    await containers.delete(cid)
    assert (await asyncio.wait_for(removed, 5))["StatusCode"] == 3


async def test_auto_remove(containers: ContainerService, core: FakeCore) -> None:
    cid = (
        await containers.create(
            None, {"Image": "busybox", "Cmd": ["echo", "x"], "HostConfig": {"AutoRemove": True}}
        )
    )["Id"]
    removed = asyncio.ensure_future(containers.wait(cid, "removed"))
    await containers.start(cid)
    assert (await asyncio.wait_for(removed, 5))["StatusCode"] == 0
    assert cid not in core.containers
    with pytest.raises(errdefs.NotFound):
        containers.get(cid)


async def test_attach_before_start_sees_all_output(containers: ContainerService) -> None:
    cid = (await containers.create(None, {"Image": "busybox", "Cmd": ["count", "50"]}))["Id"]
    out = containers.attach(cid, stdout=True, stderr=True, stream=True, logs=False)
    collected = asyncio.ensure_future(_collect(out))
    await asyncio.sleep(0)
    await containers.start(cid)
    data = await asyncio.wait_for(collected, 5)
    assert [p for _s, p in stdcopy.split(data)] == [f"{i}\n".encode() for i in range(50)]


async def test_attach_with_logs_replays_then_ends(containers: ContainerService) -> None:
    cid = await run(containers, "echo", "hi")
    await containers.wait(cid)
    out = containers.attach(cid, stdout=True, stderr=False, stream=False, logs=True)
    assert stdcopy.split(await _collect(out)) == [(1, b"hi\n")]
    with pytest.raises(errdefs.NotFound):
        containers.attach("nosuch", True, True, True, False)


async def test_attach_waiting_for_a_start_that_fails_ends(containers: ContainerService) -> None:
    cid = (await containers.create(None, {"Image": "busybox", "Cmd": ["nonexist"]}))["Id"]
    collected = asyncio.ensure_future(_collect(containers.attach(cid, True, True, True, False)))
    await asyncio.sleep(0)
    with pytest.raises(errdefs.InvalidArgument):
        await containers.start(cid)
    assert await asyncio.wait_for(collected, 5) == b""


async def _collect(out: Any) -> bytes:
    return b"".join([chunk async for chunk in out])


async def test_list_filters_and_status(containers: ContainerService) -> None:
    a = await run(containers, "sleep", "60", name="alpha", Labels={"tier": "web"})
    b = await run(containers, "fail", "2", name="beta")
    await containers.wait(b)
    c = (await containers.create("gamma", {"Image": "busybox"}))["Id"]
    ids = lambda items: [i["Id"] for i in items]  # noqa: E731
    assert ids(await containers.list_()) == [a]
    assert ids(await containers.list_(all_=True)) == [c, b, a]
    assert ids(await containers.list_(limit=1)) == [c]
    assert ids(await containers.list_(filters='{"status":["exited"]}')) == [b]
    assert ids(await containers.list_(all_=True, filters='{"exited":["2"]}')) == [b]
    assert ids(await containers.list_(all_=True, filters='{"name":["^/al"]}')) == [a]
    assert ids(await containers.list_(all_=True, filters='{"label":["tier=web"]}')) == [a]
    assert ids(await containers.list_(all_=True, filters='{"id":["' + b[:6] + '"]}')) == [b]
    assert ids(await containers.list_(all_=True, filters='{"ancestor":["busybox"]}')) == [c, b, a]
    assert ids(await containers.list_(all_=True, filters='{"status":{"created":true}}')) == [c]
    with pytest.raises(errdefs.InvalidArgument, match=r"^Invalid filter 'status=bogus'$"):
        await containers.list_(filters='{"status":["bogus"]}')
    with pytest.raises(errdefs.InvalidArgument, match=r"^Invalid filter 'nope'$"):
        await containers.list_(filters='{"nope":["x"]}')
    summary = (await containers.list_(all_=True, filters='{"name":["beta"]}'))[0]
    assert summary["Names"] == ["/beta"] and summary["Command"] == "fail 2" and summary["State"] == "exited"
    assert summary["Status"].startswith("Exited (2) ") and summary["Status"].endswith(" ago")
    assert summary["Image"] == "busybox" and summary["ImageID"].startswith("sha256:")
    running = (await containers.list_())[0]
    assert running["Status"].startswith("Up ") and running["State"] == "running"
    assert (await containers.counts()) == {
        "Containers": 3,
        "ContainersRunning": 1,
        "ContainersPaused": 0,
        "ContainersStopped": 2,
    }
    await containers.delete(a, force=True)


async def test_prune(containers: ContainerService) -> None:
    keep = await run(containers, "sleep", "60")
    old = (await containers.create(None, {"Image": "busybox", "Labels": {"k": "v"}}))["Id"]
    other = (await containers.create(None, {"Image": "busybox"}))["Id"]
    result = await containers.prune('{"label":["k=v"]}')
    assert result == {"ContainersDeleted": [old], "SpaceReclaimed": 5}
    assert await containers.prune('{"until":["1h"]}') == {"ContainersDeleted": None, "SpaceReclaimed": 0}
    assert (await containers.prune())["ContainersDeleted"] == [other]
    containers.get(keep)
    with pytest.raises(errdefs.InvalidArgument):
        await containers.prune('{"bogus":["x"]}')
    await containers.delete(keep, force=True)


async def test_records_reload_and_reconcile(core: FakeCore, images: ImageService, tmp_path: Path) -> None:
    first = ContainerService(core, images, tmp_path)
    first.start_background()
    cid = await run(first, "sleep", "60", name="survivor")
    gone = await run(first, "sleep", "60", name="lost")
    await first.close()
    core.tasks[gone].status = 3  # the task stopped while skiffd was down
    core.tasks[gone].exit_status = 9
    second = ContainerService(core, images, tmp_path)
    second.start_background()
    try:
        assert second.get("survivor").id == cid
        await until(lambda: not second.get("lost").state.running)
        assert second.get("lost").state.exit_code == 9
        assert second.get("survivor").state.running
        await second.delete(cid, force=True)
    finally:
        await second.close()


async def test_ambiguous_prefix(containers: ContainerService) -> None:
    store = containers.store
    a = (await containers.create(None, {"Image": "busybox"}))["Id"]
    rec = store.get(a)
    twin = type(rec).from_json({**rec.to_json(), "ID": a[:1] + "f" * 63, "Name": "/twin"}, rec.host_config)
    if twin.id != a:
        store.add(twin)
        with pytest.raises(errdefs.Unknown, match=f"^multiple IDs found with provided prefix: {a[:1]}$"):
            store.get(a[:1])
    assert store.get(a[:12]).id == a


async def test_failed_start_of_auto_remove_container_removes_it(
    containers: ContainerService, core: FakeCore
) -> None:
    cid = (
        await containers.create(
            None, {"Image": "busybox", "Cmd": ["nonexist"], "HostConfig": {"AutoRemove": True}}
        )
    )["Id"]
    removed = asyncio.ensure_future(containers.wait(cid, "removed"))
    await asyncio.sleep(0)
    with pytest.raises(errdefs.InvalidArgument):
        await containers.start(cid)
    assert (await asyncio.wait_for(removed, 5))["StatusCode"] == 127
    assert cid not in core.containers


async def test_rename_like_docker(containers: ContainerService) -> None:
    a = (await containers.create("rn1", {"Image": "busybox"}))["Id"]
    b = (await containers.create("rn2", {"Image": "busybox"}))["Id"]
    with pytest.raises(errdefs.Conflict) as exc:
        await containers.rename("rn1", "rn2")
    assert str(exc.value).startswith('Error when allocating new name: Conflict. The container name "/rn2" is')
    assert b in str(exc.value)
    with pytest.raises(errdefs.InvalidArgument, match=r"^Renaming a container with the same name"):
        await containers.rename("rn1", "rn1")
    with pytest.raises(
        errdefs.InvalidArgument, match=r"^Error when allocating new name: Invalid container name"
    ):
        await containers.rename("rn1", "a/b")
    with pytest.raises(errdefs.InvalidArgument, match=r"^Neither old nor new names may be empty$"):
        await containers.rename("rn1", "")
    await containers.rename("rn1", "rn3")
    assert containers.get("rn3").id == a and not containers.store.name_taken("rn1")
    await containers.create("rn1", {"Image": "busybox"})


async def test_orphaned_core_containers_are_removed_at_start(
    core: FakeCore, images: ImageService, tmp_path: Path
) -> None:
    await core.containers_create("f" * 64, "busybox")
    svc = ContainerService(core, images, tmp_path)
    svc.start_background()
    try:
        await until(lambda: "f" * 64 not in core.containers)
    finally:
        await svc.close()


async def test_restart_policy_on_failure(containers: ContainerService, core: FakeCore) -> None:
    cid = (
        await containers.create(
            None,
            {
                "Image": "busybox",
                "Cmd": ["fail", "1"],
                "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}},
            },
        )
    )["Id"]
    await containers.start(cid)
    await until(lambda: containers.get(cid).restart_count == 2 and not containers.get(cid).state.running)
    info = await containers.inspect(cid)
    assert (
        info["RestartCount"] == 2 and info["State"]["ExitCode"] == 1 and info["State"]["Status"] == "exited"
    )
    assert [c for c in core.calls if c == ("tasks_create", cid)] == [("tasks_create", cid)] * 3


async def test_restart_policy_always_until_stopped(containers: ContainerService) -> None:
    cid = (
        await containers.create(
            None,
            {"Image": "busybox", "Cmd": ["echo", "x"], "HostConfig": {"RestartPolicy": {"Name": "always"}}},
        )
    )["Id"]
    await containers.start(cid)
    await until(lambda: containers.get(cid).restart_count >= 2)
    not_running = asyncio.ensure_future(containers.wait(cid))
    await asyncio.sleep(0)
    assert await containers.stop(cid, timeout=1) is True
    assert (await asyncio.wait_for(not_running, 5))["StatusCode"] in (0, 137)
    record = containers.get(cid)
    assert not record.state.running and not record.state.restarting and record.has_been_manually_stopped
    count = record.restart_count
    await asyncio.sleep(0.3)
    assert containers.get(cid).restart_count == count
    await containers.delete(cid)


async def test_update(containers: ContainerService) -> None:
    cid = (await containers.create("upd", {"Image": "busybox"}))["Id"]
    assert await containers.update(
        "upd", {"RestartPolicy": {"Name": "always"}, "Memory": 100, "CpuShares": 0}
    ) == {"Warnings": None}
    hc = (await containers.inspect(cid))["HostConfig"]
    assert hc["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0} and hc["Memory"] == 100
    with pytest.raises(errdefs.InvalidArgument, match=r"^invalid restart policy 'bogus'$"):
        await containers.update("upd", {"RestartPolicy": {"Name": "bogus"}})
    auto = (await containers.create(None, {"Image": "busybox", "HostConfig": {"AutoRemove": True}}))["Id"]
    with pytest.raises(errdefs.InvalidArgument, match=r"Restart policy cannot be updated because AutoRemove"):
        await containers.update(auto, {"RestartPolicy": {"Name": "always"}})


async def test_commit_imports_the_filesystem_with_the_config(
    containers: ContainerService, core: FakeCore
) -> None:
    cid = (await containers.create("src", {"Image": "busybox", "Cmd": ["true"], "Env": ["A=1"]}))["Id"]
    image_id = await containers.commit("src", "committed", "v1", "msg", "me", ["ENV Z=9"], {"User": "nobody"})
    name, config, data = core.calls[-1][1]
    assert name == "docker.io/library/committed:v1" and image_id == core.images[name].id
    assert config["config"]["Env"] == [
        "A=1",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "Z=9",
    ]
    assert config["config"]["User"] == "nobody" and config["container"] == cid and config["author"] == "me"
    assert data.startswith(b"") and len(data) % 512 == 0  # a (possibly empty) tar
    with pytest.raises(errdefs.NotFound):
        await containers.commit("nosuch")


async def test_list_volume_health_task_expose_filters(containers: ContainerService) -> None:
    body = {"Image": "busybox", "ExposedPorts": {"80/tcp": {}}, "HostConfig": {"Binds": ["/tmp:/data"]}}
    a = (await containers.create("vol", body))["Id"]
    b = (await containers.create("plain", {"Image": "busybox"}))["Id"]
    listed = await containers.list_(all_=True, filters='{"volume":["/data"]}')
    assert [c["Id"] for c in listed] == [a]
    assert [c["Id"] for c in await containers.list_(all_=True, filters='{"expose":["80"]}')] == [a]
    assert len(await containers.list_(all_=True, filters='{"health":["none"]}')) == 2
    assert await containers.list_(all_=True, filters='{"health":["healthy"]}') == []
    assert await containers.list_(all_=True, filters='{"is-task":["true"]}') == []
    assert {c["Id"] for c in await containers.list_(all_=True, filters='{"is-task":["false"]}')} == {a, b}
    with pytest.raises(errdefs.InvalidArgument, match=r"^Unrecognised filter value for health: bad$"):
        await containers.list_(filters='{"health":["bad"]}')


async def test_engine_events(containers: ContainerService) -> None:
    seen: list[tuple[str, str]] = []

    async def follow() -> None:
        async for event in containers.events.subscribe():
            seen.append((event["Type"], event["Action"]))
            if event["Action"] == "destroy":
                return

    follower = asyncio.ensure_future(follow())
    await asyncio.sleep(0)
    cid = await run(containers, "fail", "4", name="evented", Labels={"l": "v"})
    await containers.wait(cid)
    await containers.delete(cid)
    await asyncio.wait_for(follower, 5)
    assert seen == [
        ("container", "create"),
        ("container", "start"),
        ("container", "die"),
        ("container", "destroy"),
    ]
    die = next(e for e in containers.events.history if e["Action"] == "die")
    assert die["Actor"]["Attributes"] == {"l": "v", "image": "busybox", "name": "evented", "exitCode": "4"}
    assert (
        die["status"] == "die" and die["id"] == cid and die["from"] == "busybox" and die["scope"] == "local"
    )
    late = [e async for e in _take(containers.events.subscribe(since_ns=1), 4)]
    assert [e["Action"] for e in late] == ["create", "start", "die", "destroy"]


async def _take(events: Any, n: int) -> Any:
    count = 0
    async for event in events:
        yield event
        count += 1
        if count == n:
            return


async def test_force_remove_of_a_container_whose_exit_settles_meanwhile(containers: ContainerService) -> None:
    """``rm -f`` (or stop) right as the container ends: the exit may be settled between the running check
    and taking the generation to wait past; that must not wait the kill grace for a next exit."""
    containers.stop_kill_grace = 5.0
    cid = await run(containers, "sleep", "60")
    record = containers.get(cid)
    settle = containers._cancel_restart

    async def exit_meanwhile(rec: Any) -> bool:
        await containers._on_exit(cid, 0, "", 0)
        return await settle(rec)

    containers._cancel_restart = exit_meanwhile  # type: ignore[method-assign]
    await asyncio.wait_for(containers.delete(cid, force=True), 2)
    assert containers.store.find(cid) is None and not record.state.running


async def test_stop_while_the_exit_is_being_settled_stops_the_restarts(containers: ContainerService) -> None:
    """``stop`` of an ``always`` container whose exit handler is still releasing the network: the handler
    must not show a passing "exited" (stop would answer 304 unrecorded and the restart go on)."""
    cid = (
        await containers.create(
            None,
            {"Image": "busybox", "Cmd": ["sleep", "60"], "HostConfig": {"RestartPolicy": {"Name": "always"}}},
        )
    )["Id"]
    await containers.start(cid)
    record = containers.get(cid)
    gate, releasing = asyncio.Event(), asyncio.Event()

    async def slow_release(_cid: str, removed: bool = False) -> None:
        releasing.set()
        await gate.wait()

    containers._release_network = slow_release  # type: ignore[method-assign,assignment]
    exiting = asyncio.ensure_future(containers._on_exit(cid, 3, "", record.state.pid))
    await asyncio.wait_for(releasing.wait(), 2)
    stopping = asyncio.ensure_future(containers.stop(cid, timeout=1))
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.wait_for(exiting, 2)
    assert await asyncio.wait_for(stopping, 2) is True
    state = (record.state.status, record.state.restarting, record.has_been_manually_stopped)
    assert state == ("exited", False, True)
    await asyncio.sleep(0.3)  # past the first restart back-off (0.1s)
    assert record.restart_count == 0 and not record.state.running


async def test_a_second_report_of_the_same_exit_is_ignored(containers: ContainerService) -> None:
    """The event stream and the wait backstop both report an exit; the second must not schedule a second
    restart (with a doubled back-off) for the same run."""
    cid = (
        await containers.create(
            None,
            {"Image": "busybox", "Cmd": ["sleep", "60"], "HostConfig": {"RestartPolicy": {"Name": "always"}}},
        )
    )["Id"]
    await containers.start(cid)
    record = containers.get(cid)
    pid = record.state.pid
    await containers._on_exit(cid, 3, "", pid)
    first = containers.runtime_state(cid).restart
    await containers._on_exit(cid, 3, "", pid)
    assert containers.runtime_state(cid).restart is first and containers.runtime_state(cid).backoff == 0.1
    await containers.stop(cid, timeout=1)
    await containers.delete(cid, force=True)
