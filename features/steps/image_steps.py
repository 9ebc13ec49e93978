"""Image steps: tags made and removed by reference; archives from the reference's `docker save` or here."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from typing import Any
from urllib.parse import quote

from behave import given, then, when

from conformance.harness import api, cli
from conformance.harness.jsoncheck import check_types
from conformance.harness.oci import oci_archive
from conformance.harness.world import World
from conformance.target import target as make_target


def _w(context: Any) -> World:
    world: World = context.world
    return world


def _stream(resp: Any) -> list[dict[str, Any]]:
    """Docker's JSON-lines progress stream as a list of messages."""
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


@given('the image "{source}" is tagged as "{ref}"')
def step_tagged(context: Any, source: str, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    repo, _, tag = ref.rpartition(":")
    api.check(world.http.post(api.v(f"/images/{source}/tag?repo={repo}&tag={tag}")), 201)
    world.image_refs.append(ref)


@given('an image "{ref}" imported from the busybox rootfs with CMD {cmd}')
def step_imported(context: Any, ref: str, cmd: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    repo, _, tag = ref.rpartition(":")
    changes = quote(f"CMD {cmd}")
    resp = world.http.post(
        api.v(f"/images/create?fromSrc=-&repo={repo}&tag={tag}&changes={changes}"),
        content=context.rootfs_tar.read_bytes(),
        headers={"Content-Type": "application/x-tar"},
    )
    api.check(resp, 200)
    world.image_refs.append(ref)
    ident = world.image_id(ref)
    assert ident is not None, f"{ref} not there after import: {resp.text}"
    world.image_ids.append(ident)
    world.values[ref.rpartition("-")[2].split(":")[0]] = ident


@when('I import the busybox rootfs as "{ref}" with the changes')
def step_import_changes(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    repo, _, tag = ref.rpartition(":")
    query = f"fromSrc=-&repo={repo}&tag={tag}" + "".join(
        f"&changes={quote(row['change'])}" for row in context.table
    )
    resp = world.http.post(
        api.v(f"/images/create?{query}"),
        content=context.rootfs_tar.read_bytes(),
        headers={"Content-Type": "application/x-tar"},
    )
    world.last_response = resp
    world.image_refs.append(ref)
    api.check(resp, 200)
    messages = _stream(resp)
    world.last_json = messages
    assert messages and "status" in messages[-1], messages
    ident = world.image_id(ref)
    if ident:
        world.image_ids.append(ident)


@given('the reference\'s "{source}" saved with docker save as "{ref}"')
def step_saved_from_reference(context: Any, source: str, ref: str) -> None:
    """`docker save` on the reference Docker (whatever the target), renamed to a scenario-unique `ref` so that
    loading it never replaces the target's own busybox:latest."""
    world = _w(context)
    ref = world.expand(ref)
    reference = make_target("docker")
    reference.ensure_running()
    saved = subprocess.run(
        [cli.docker(), "-H", reference.host, "save", source],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert saved.returncode == 0, saved.stderr.decode()
    world.values["archive"] = _retag_archive(saved.stdout, ref)
    world.image_refs.append(ref)


def _retag_archive(data: bytes, ref: str) -> bytes:
    """Rewrite the RepoTags/repositories of a docker-save archive to `ref`."""
    src = tarfile.open(fileobj=io.BytesIO(data))  # noqa: SIM115 - in memory, read in full below
    out = io.BytesIO()
    repo, _, tag = ref.rpartition(":")
    with tarfile.open(fileobj=out, mode="w") as dst:
        for member in src.getmembers():
            payload = src.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name == "manifest.json" and payload is not None:
                manifest = json.loads(payload)
                for entry in manifest:
                    entry["RepoTags"] = [ref]
                payload = json.dumps(manifest).encode()
            elif member.name == "repositories" and payload is not None:
                ident = next(iter(next(iter(json.loads(payload).values())).values()))
                payload = json.dumps({repo: {tag: ident}}).encode()
            if payload is not None:
                member.size = len(payload)
                dst.addfile(member, io.BytesIO(payload))
            else:
                dst.addfile(member)
    return out.getvalue()


@given('an OCI-layout archive of the busybox rootfs named "{ref}" with CMD {cmd}')
def step_oci_archive(context: Any, ref: str, cmd: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    world.values["archive"] = oci_archive(context.rootfs_tar, ref, json.loads(cmd), docker_manifest=True)
    world.image_refs.append(ref)


@when("I load the archive")
def step_load(context: Any) -> None:
    world = _w(context)
    resp = world.http.post(
        api.v("/images/load?quiet=1"),
        content=world.values["archive"],
        headers={"Content-Type": "application/x-tar"},
    )
    world.last_response = resp
    world.last_json = _stream(resp) if resp.status_code == 200 else resp.json()


@then('the load reports "{text}"')
def step_load_reports(context: Any, text: str) -> None:
    world = _w(context)
    expected = world.expand(text)
    streams = "".join(m.get("stream", "") for m in world.last_json)
    assert expected in streams, f"{expected!r} not in {world.last_json}"


@then('the image "{ref}" exists')
def step_image_exists(context: Any, ref: str) -> None:
    world = _w(context)
    resp = world.http.get(api.v(f"/images/{world.expand(ref)}/json"))
    assert resp.status_code == 200, f"image {ref} missing: {resp.status_code} {resp.text}"
    world.last_json = resp.json()


@then('the image "{ref}" does not exist')
def step_image_missing(context: Any, ref: str) -> None:
    world = _w(context)
    assert world.image_id(world.expand(ref)) is None, f"image {ref} still there"


@then('the image "{ref}" has the same ID as "{other}"')
def step_same_id(context: Any, ref: str, other: str) -> None:
    world = _w(context)
    a, b = world.image_id(world.expand(ref)), world.image_id(world.expand(other))
    assert a is not None and a == b, f"{ref}={a} {other}={b}"


@then('the image "{ref}" has')
def step_image_types(context: Any, ref: str) -> None:
    world = _w(context)
    resp = api.check(world.http.get(api.v(f"/images/{world.expand(ref)}/json")), 200)
    world.last_json = resp.json()
    check_types(world.last_json, context.table, world.expand)


@then('the image list has "{ref}" with')
def step_image_list(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    images = api.check(world.http.get(api.v("/images/json")), 200).json()
    found = [img for img in images if ref in (img.get("RepoTags") or [])]
    assert len(found) == 1, f"{ref} listed {len(found)} times"
    check_types(found[0], context.table, world.expand)


@when('I pipe the archive into "{cmdline}"')
def step_pipe_archive(context: Any, cmdline: str) -> None:
    world = _w(context)
    env, args = cli.split(world.expand(cmdline))
    world.last_cli = cli.run(world.target.host, args, env, stdin=world.values["archive"])
