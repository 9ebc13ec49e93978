"""Local image steps (lane 4b): crafted layer archives, commit, history and prune.

Crafted archives are docker-save tars of two layers: the busybox rootfs and a layer written from a table
(name | kind | data), so a scenario can run busybox in the result and look at where things landed.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import Any

from behave import given, then, when

from conformance.harness import api, cli
from conformance.harness.world import World

ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _w(context: Any) -> World:
    world: World = context.world
    return world


def _layer(rows: list[dict[str, str]]) -> bytes:
    """A layer tar from table rows; kind: file|dir|sym|link|blk|chr|fifo (blk/chr data: "major,minor")."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for row in rows:
            ti = tarfile.TarInfo(row["name"])
            kind, data = row["kind"], row.get("data", "")
            ti.mtime, ti.mode = 1_600_000_000, 0o644
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind in ("sym", "link"):
                ti.type, ti.linkname = (tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE), data
            elif kind in ("blk", "chr"):
                ti.type = tarfile.BLKTYPE if kind == "blk" else tarfile.CHRTYPE
                major, minor = data.split(",")
                ti.devmajor, ti.devminor, ti.mode = int(major), int(minor), 0o600
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            else:
                payload = data.encode()
                ti.size = len(payload)
                tf.addfile(ti, io.BytesIO(payload))
                continue
            tf.addfile(ti)
    return buf.getvalue()


def save_archive(layers: list[bytes], ref: str) -> bytes:
    """A docker-save archive (manifest.json, config, one dir per layer) of ``layers`` named ``ref``."""
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"], "Env": [ENV_PATH]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"}
                    for i in range(len(layers))],
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    names = [f"{d.removeprefix('sha256:')}/layer.tar" for d in diff_ids]
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": names}]).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        members = [(config_name, config), *zip(names, layers, strict=True), ("manifest.json", manifest)]
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_600_000_000
            tf.addfile(ti, io.BytesIO(data))
    return out.getvalue()


@given('a docker-save archive "{ref}" of busybox with a top layer holding')
def step_crafted_archive(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    layer = _layer([dict(row.as_dict()) for row in context.table])
    world.values["layer"] = layer
    world.values["archive"] = save_archive([context.rootfs_tar.read_bytes(), layer], ref)
    world.image_refs.append(ref)


@then('the load fails with "{message}"')
def step_load_fails(context: Any, message: str) -> None:
    world = _w(context)
    resp = world.last_response
    assert resp is not None and resp.status_code == 200, resp.text if resp is not None else "no request"
    last = world.last_json[-1] if world.last_json else {}
    assert last.get("error") == world.expand(message), f"{world.last_json}"
    assert last.get("errorDetail", {}).get("message") == world.expand(message), f"{world.last_json}"


@when('I import the top layer as "{ref}"')
def step_import_layer(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    world.image_refs.append(ref)
    env, args = cli.split(f"docker import - {ref}")
    world.last_cli = cli.run(world.target.host, args, env, stdin=world.values["layer"])
    if world.last_cli.exit_code == 0:
        ident = world.last_cli.stdout.strip()
        world.image_ids.append(ident)


@then('no file named "{name}" appeared outside the image')
def step_nothing_outside(context: Any, name: str) -> None:
    """The daemons run on this machine: what a breakout would have written is checked on the host."""
    import os

    for where in ("/", "/tmp", "/etc"):
        path = os.path.join(where, name)
        assert not os.path.lexists(path), f"{path} exists"


def _inspect_image(world: World, ref: str) -> dict[str, Any]:
    data: dict[str, Any] = api.check(world.http.get(api.v(f"/images/{ref}/json")), 200).json()
    return data


@then('the image "{ref}" has the layers of "{base}" and {count:d} more')
def step_layers_over(context: Any, ref: str, base: str, count: int) -> None:
    world = _w(context)
    layers = _inspect_image(world, world.expand(ref))["RootFS"]["Layers"]
    base_layers = _inspect_image(world, world.expand(base))["RootFS"]["Layers"]
    assert layers[: len(base_layers)] == base_layers, f"{layers} does not start with {base_layers}"
    assert len(layers) == len(base_layers) + count, f"{len(layers)} layers over {len(base_layers)}"


@then('the image "{ref}" has the parent "{base}"')
def step_parent(context: Any, ref: str, base: str) -> None:
    world = _w(context)
    parent = _inspect_image(world, world.expand(ref))["Parent"]
    assert parent == _inspect_image(world, world.expand(base))["Id"], parent


@given('I remember the ID of image "{ref}" as "{key}"')
@when('I remember the ID of image "{ref}" as "{key}"')
def step_remember_image(context: Any, ref: str, key: str) -> None:
    world = _w(context)
    ident = _inspect_image(world, world.expand(ref))["Id"]
    world.values[key] = ident


@when('I commit the container "{alias}" through the API with "{query}" and remember the image as "{key}"')
def step_commit_api(context: Any, alias: str, query: str, key: str) -> None:
    world = _w(context)
    cid = world.inspect(world.expand(f"<{alias}>"))["Id"]
    resp = world.http.post(api.v(f"/commit?container={cid}&{world.expand(query)}"), json={})
    world.last_response = resp
    world.last_json = resp.json()
    api.check(resp, 201)
    world.values[key] = world.last_json["Id"]
    world.image_ids.append(world.last_json["Id"])


def _container_events(world: World, alias: str) -> list[dict[str, Any]]:
    import time

    cid = world.inspect(world.expand(f"<{alias}>"))["Id"]
    now = int(time.time())
    query = f"since={now - 600}&until={now + 1}&filters={api.filters(container=[cid])}"
    resp = api.check(world.http.get(api.v(f"/events?{query}"), timeout=30), 200)
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


@then('the events of container "{alias}" are "{actions}"')
def step_container_events(context: Any, alias: str, actions: str) -> None:
    """The actions of the container's events so far, in order (from /events with since and until)."""
    got = [e["Action"] for e in _container_events(_w(context), alias)]
    assert ",".join(got) == actions, f"{got}"


@then('the commit event of container "{alias}" has the attributes')
def step_commit_event(context: Any, alias: str) -> None:
    world = _w(context)
    events = _container_events(world, alias)
    commits = [e for e in events if e["Action"] == "commit"]
    assert len(commits) == 1, events
    attrs = commits[0]["Actor"]["Attributes"]
    for row in context.table:
        assert attrs.get(row["key"]) == world.expand(row["value"]), f"{row['key']}: {attrs}"


@given('I committed the container "{alias}" without a name and remembered the image as "{key}"')
def step_commit_untagged(context: Any, alias: str, key: str) -> None:
    world = _w(context)
    env, args = cli.split(world.expand(f"docker commit <{alias}>"))
    result = cli.run(world.target.host, args, env)
    assert result.exit_code == 0, result.stderr
    ident = result.stdout.strip()
    world.values[key] = ident
    world.image_ids.append(ident)
