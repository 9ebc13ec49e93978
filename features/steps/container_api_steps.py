"""Steps for the rest of the container API: polling CLI output (healthchecks), crafted tars for the archive
endpoints, host files and directories for ``docker cp``/``export``, the path-stat header and stats streams."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from typing import Any

from behave import given, then, when

from conformance.harness import api, cli
from conformance.harness.jsoncheck import check_types, lookup
from conformance.harness.world import World, poll


def _w(context: Any) -> World:
    world: World = context.world
    return world


def _unescape(text: str) -> str:
    return text.encode().decode("unicode_escape")


def _cli(world: World, cmdline: str) -> cli.Result:
    env, args = cli.split(world.expand(cmdline))
    args = cli.with_label(args, world.label)
    result = cli.run(world.target.host, args, env)
    world.last_cli = result
    return result


# polling the CLI ------------------------------------------------------------------------------------------


@then('within {seconds:d} seconds "{cmdline}" prints "{text}"')
def step_eventually_prints(context: Any, seconds: int, cmdline: str, text: str) -> None:
    world = _w(context)
    expected = _unescape(world.expand(text))
    poll(lambda: _cli(world, cmdline).stdout == expected, seconds,
         f"{cmdline!r} to print {expected!r} (last: {world.last_cli.stdout if world.last_cli else ''!r})")


@then('within {seconds:d} seconds "{cmdline}" prints something matching "{pattern}"')
def step_eventually_matches(context: Any, seconds: int, cmdline: str, pattern: str) -> None:
    world = _w(context)
    regex = world.expand(pattern)
    poll(lambda: re.fullmatch(regex, _cli(world, cmdline).stdout, re.S), seconds,
         f"{cmdline!r} to match {regex!r} (last: {world.last_cli.stdout if world.last_cli else ''!r})")


@then("{stream:w} has these lines in any order")
def step_lines_any_order(context: Any, stream: str) -> None:
    world = _w(context)
    assert world.last_cli is not None, "no command was run"
    actual = sorted(getattr(world.last_cli, stream).splitlines())
    expected = sorted(world.expand(line) for line in (context.text or "").splitlines() if line.strip())
    assert actual == expected, f"{stream} lines {actual!r} != {expected!r}"


# crafted tars ---------------------------------------------------------------------------------------------


def _tar(rows: Any, expand: Any) -> bytes:
    """A tar from a table: name | type (file, dir, symlink, hardlink, chardev, blockdev, fifo) | target
    (a file's content, a link's target) | mode (octal, optional)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for row in rows:
            info = tarfile.TarInfo(expand(row["name"]))
            kind = row["type"]
            target = expand(row["target"]) if "target" in row.headings else ""
            info.mode = int(row["mode"], 8) if "mode" in row.headings and row["mode"] else 0o644
            info.mtime = 1_600_000_000
            if kind == "file":
                data = _unescape(target).encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = int(row["mode"], 8) if "mode" in row.headings and row["mode"] else 0o755
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, target
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, target
            elif kind in ("chardev", "blockdev"):
                info.type = tarfile.CHRTYPE if kind == "chardev" else tarfile.BLKTYPE
                major, _, minor = (target or "1:3").partition(":")
                info.devmajor, info.devminor = int(major), int(minor)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            else:
                raise AssertionError(f"unknown tar member type {kind!r}")
            tar.addfile(info)
    return buf.getvalue()


@given('a tar "{key}" with')
def step_tar(context: Any, key: str) -> None:
    world = _w(context)
    world.values[f"tar:{key}"] = _tar(context.table, world.expand)


@given('a body "{key}" of {size:d} bytes of "{text}"')
def step_junk_body(context: Any, key: str, size: int, text: str) -> None:
    """Not a tar: ``text`` repeated to ``size`` bytes (sent with the tar content type)."""
    data = _unescape(text).encode() * (size // max(1, len(text)) + 1)
    _w(context).values[f"tar:{key}"] = data[:size]


@when('I put the tar "{key}" into "{alias}" at "{path}"')
@given('I put the tar "{key}" into "{alias}" at "{path}"')
def step_put_tar(context: Any, key: str, alias: str, path: str) -> None:
    _put(context, key, alias, path, "")


@when('the tar "{key}" is put into "{alias}" at "{path}" with "{query}"')
def step_put_tar_query(context: Any, key: str, alias: str, path: str, query: str) -> None:
    _put(context, key, alias, path, query)


def _put(context: Any, key: str, alias: str, path: str, query: str) -> None:
    world = _w(context)
    params = {"path": world.expand(path)}
    for pair in [p for p in query.split("&") if p]:
        name, _, value = pair.partition("=")
        params[name] = value
    resp = world.http.put(api.v(f"/containers/{world.container_id(alias)}/archive"), params=params,
                          content=world.values[f"tar:{key}"], headers={"Content-Type": "application/x-tar"})
    world.last_response = resp
    try:
        world.last_json = resp.json()
    except ValueError:
        world.last_json = None


@then('the path stat header has')
def step_path_stat(context: Any) -> None:
    world = _w(context)
    resp = world.last_response
    assert resp is not None, "no request was sent"
    header = resp.headers.get("X-Docker-Container-Path-Stat")
    assert header, f"no X-Docker-Container-Path-Stat header in {dict(resp.headers)}"
    data = json.loads(base64.b64decode(header))
    check_types(data, context.table, world.expand)


@then('the path stat header field "{path}" is {value}')
def step_path_stat_field(context: Any, path: str, value: str) -> None:
    world = _w(context)
    resp = world.last_response
    assert resp is not None, "no request was sent"
    data = json.loads(base64.b64decode(resp.headers["X-Docker-Container-Path-Stat"]))
    expected = json.loads(world.expand(value))
    assert lookup(data, path) == expected, f"{path} = {lookup(data, path)!r} != {expected!r}"


def _members(content: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(content)) as tar:
        return {m.name: m for m in tar.getmembers()}


@then('the response is a tar with the members "{names}"')
def step_tar_members(context: Any, names: str) -> None:
    resp = context.world.last_response
    assert resp is not None, "no request was sent"
    got = sorted(_members(resp.content))
    want = sorted(n.strip() for n in names.split(",") if n.strip())
    assert got == want, f"tar members {got} != {want}"


@then('the response tar member "{name}" holds "{text}"')
def step_tar_member_holds(context: Any, name: str, text: str) -> None:
    resp = context.world.last_response
    with tarfile.open(fileobj=io.BytesIO(resp.content)) as tar:
        member = tar.extractfile(name)
        assert member is not None, f"{name} is not a regular file in the tar"
        got = member.read().decode(errors="replace")
    assert got == _unescape(text), f"{name} holds {got!r}, not {text!r}"


# host files -----------------------------------------------------------------------------------------------


@given('a host directory "{key}"')
def step_host_dir(context: Any, key: str) -> None:
    world = _w(context)
    path = tempfile.mkdtemp(prefix=f"{world.prefix}-")
    world.values[key] = path
    world.values.setdefault("_closers", []).append(lambda: shutil.rmtree(path, ignore_errors=True))


@given('the host file "{path}" holds "{text}"')
def step_host_file(context: Any, path: str, text: str) -> None:
    full = _w(context).expand(path)
    with open(full, "w") as f:
        f.write(_unescape(text))


@then('the host file "{path}" holds "{text}"')
def step_host_file_holds(context: Any, path: str, text: str) -> None:
    full = _w(context).expand(path)
    with open(full) as f:
        got = f.read()
    assert got == _unescape(_w(context).expand(text)), f"{full} holds {got!r}"


@then('the host path "{path}" does not exist')
def step_host_path_absent(context: Any, path: str) -> None:
    full = _w(context).expand(path)
    assert not os.path.lexists(full), f"{full} exists on the host"


@then('the host tar "{path}" has the members "{names}"')
def step_host_tar_members(context: Any, path: str, names: str) -> None:
    with open(_w(context).expand(path), "rb") as f:
        got = set(_members(f.read()))
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        assert name in got, f"{name} not among the {len(got)} members of the tar"


@then('the host tar "{path}" has no member "{name}"')
def step_host_tar_no_member(context: Any, path: str, name: str) -> None:
    with open(_w(context).expand(path), "rb") as f:
        got = set(_members(f.read()))
    assert name not in got, f"{name} is in the tar"


# stats ----------------------------------------------------------------------------------------------------


@when('I read {count:d} stats readings of "{alias}" from the stream')
def step_stats_stream(context: Any, count: int, alias: str) -> None:
    world = _w(context)
    readings: list[Any] = []
    with api.client(world.target.host, timeout=30) as client, client.stream(
        "GET", api.v(f"/containers/{world.container_id(alias)}/stats?stream=1")
    ) as resp:
        assert resp.status_code == 200, resp.status_code
        for line in resp.iter_lines():
            if line.strip():
                readings.append(json.loads(line))
            if len(readings) >= count:
                break
    world.values["stats"] = readings


@then("each stats reading has")
def step_each_reading(context: Any) -> None:
    world = _w(context)
    for reading in world.values["stats"]:
        check_types(reading, context.table, world.expand)


@then('the stats reading {index:d} field "{path}" is {value}')
def step_reading_field(context: Any, index: int, path: str, value: str) -> None:
    world = _w(context)
    actual = lookup(world.values["stats"][index], path)
    expected = json.loads(world.expand(value))
    assert actual == expected, f"{path} = {actual!r} != {expected!r}"


@then("the response JSON is, in any order, {value}")
def step_json_any_order(context: Any, value: str) -> None:
    """An array compared as a multiset (dockerd walks some maps in random order, e.g. changes)."""
    world = _w(context)
    expected = json.loads(world.expand(value))
    actual = world.last_json
    assert isinstance(actual, list), f"not an array: {actual!r}"

    def key(item: Any) -> str:
        return json.dumps(item, sort_keys=True)

    assert sorted(actual, key=key) == sorted(expected, key=key), f"{actual!r} != {expected!r} (any order)"


@given('the host file "{path}" is owned by {uid:d}:{gid:d}')
def step_host_owner(context: Any, path: str, uid: int, gid: int) -> None:
    os.chown(_w(context).expand(path), uid, gid)
