"""Container lifecycle steps over the raw API: create, start, wait, inspect, list; polls, no sleeps."""

from __future__ import annotations

import json
import re
import shlex
import threading
from typing import Any

import httpx
from behave import given, step, then, when

from conformance.harness import api
from conformance.harness.jsoncheck import check_types, lookup
from conformance.harness.world import World, poll


def _w(context: Any) -> World:
    world: World = context.world
    return world


def _start(world: World, ident: str) -> None:
    api.check(world.http.post(api.v(f"/containers/{ident}/start")), 204)


@given('a container "{alias}" created with JSON')
def step_created_json(context: Any, alias: str) -> None:
    _w(context).create_container(alias, json.loads(_w(context).expand(context.text)))


@given('a container "{alias}" created with "{command}"')
def step_created(context: Any, alias: str, command: str) -> None:
    _w(context).create_container(alias, {"Cmd": shlex.split(command)})


@given('a container "{alias}" with label "{label}" running "{command}"')
def step_labelled_running(context: Any, alias: str, label: str, command: str) -> None:
    world = _w(context)
    key, _, value = label.partition("=")
    ident = world.create_container(alias, {"Cmd": shlex.split(command), "Labels": {key: value}})
    _start(world, ident)
    world.wait_status(ident, "running")


@given('a container "{alias}" running "{command}"')
def step_running(context: Any, alias: str, command: str) -> None:
    world = _w(context)
    ident = world.create_container(alias, {"Cmd": shlex.split(command)})
    _start(world, ident)
    world.wait_status(ident, "running")


@given('a container "{alias}" that ran "{command}"')
def step_ran(context: Any, alias: str, command: str) -> None:
    world = _w(context)
    ident = world.create_container(alias, {"Cmd": shlex.split(command)})
    _start(world, ident)
    world.wait_status(ident, "exited")


@given('a container "{alias}" that exited with code {code:d}')
def step_exited(context: Any, alias: str, code: int) -> None:
    world = _w(context)
    ident = world.create_container(alias, {"Cmd": ["sh", "-c", f"exit {code}"]})
    _start(world, ident)
    world.wait_status(ident, "exited")


@given('the container "{alias}" is known by its ID from stdout')
@when('the container "{alias}" is known by its ID from stdout')
def step_id_from_stdout(context: Any, alias: str) -> None:
    world = _w(context)
    assert world.last_cli is not None
    world.track_container(world.last_cli.stdout.strip(), alias)


@given('the container "{alias}" is known by its ID from the response')
@when('the container "{alias}" is known by its ID from the response')
def step_id_from_response(context: Any, alias: str) -> None:
    world = _w(context)
    world.track_container(world.last_json["Id"], alias)


@step('the container "{alias}" is known by its name')
def step_known_by_name(context: Any, alias: str) -> None:
    world = _w(context)
    world.track_container(world.inspect(world.name(alias))["Id"], alias)


@when('I start the container "{alias}"')
@given('I started the container "{alias}"')
def step_start(context: Any, alias: str) -> None:
    _start(_w(context), _w(context).container_id(alias))


@when('I wait for the container "{alias}" with condition "{condition}" in the background')
@given('I am waiting for the container "{alias}" with condition "{condition}" in the background')
def step_wait_background(context: Any, alias: str, condition: str) -> None:
    world = _w(context)
    ident = world.container_id(alias)
    result: dict[str, Any] = {}
    client = api.client(world.target.host, timeout=120)
    # The wait endpoint answers 200 headers at once and the body when the condition is met; stream it.
    ready = threading.Event()

    def waiter() -> None:
        try:
            with client.stream("POST", api.v(f"/containers/{ident}/wait?condition={condition}")) as resp:
                result["status"] = resp.status_code
                ready.set()
                result["body"] = resp.read()
        except Exception as exc:  # reported by the Then step
            result["error"] = exc
        finally:
            ready.set()
            client.close()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    # The request must be registered before we act on the container; the response headers tell us it is.
    assert ready.wait(30), "wait request did not get response headers"
    world.values["_wait"] = (thread, result)
    world.values.setdefault("_closers", []).append(lambda: thread.join(5))


@then("the background wait returns exit code {code:d}")
def step_wait_result(context: Any, code: int) -> None:
    thread, result = _w(context).values["_wait"]
    thread.join(60)
    assert not thread.is_alive(), "wait did not return within 60s"
    assert "error" not in result, result.get("error")
    assert result["status"] == 200, result
    body = json.loads(result["body"])
    assert body["StatusCode"] == code, body


@when('I wait for the container "{alias}" with condition "{condition}"')
def step_wait(context: Any, alias: str, condition: str) -> None:
    world = _w(context)
    resp = world.http.post(api.v(f"/containers/{world.container_id(alias)}/wait?condition={condition}"))
    world.last_response = resp
    world.last_json = resp.json()


@when('I remove the container "{alias}"')
def step_remove(context: Any, alias: str) -> None:
    world = _w(context)
    api.check(world.http.delete(api.v(f"/containers/{world.container_id(alias)}")), 204)


@when('I remember the start time of "{alias}"')
@given('I remembered the start time of "{alias}"')
def step_remember_started(context: Any, alias: str) -> None:
    world = _w(context)
    world.values[f"started:{alias}"] = world.state(world.container_id(alias))["StartedAt"]


@then('the container "{alias}" has a newer start time')
def step_newer_start(context: Any, alias: str) -> None:
    world = _w(context)
    before = world.values[f"started:{alias}"]
    after = world.state(world.container_id(alias))["StartedAt"]
    assert _instant(after) > _instant(before), f"StartedAt {after} not after {before}"


def _instant(stamp: str) -> tuple[str, int]:
    """RFC 3339 with up to 9 fraction digits (Go trims trailing zeros) as a comparable (seconds, nanos)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", stamp)
    assert m, f"not an RFC 3339 UTC time: {stamp!r}"
    return m.group(1), int((m.group(2) or "0").ljust(9, "0"))


@then('the container "{alias}" is {status:w}')
def step_status(context: Any, alias: str, status: str) -> None:
    world = _w(context)
    world.wait_status(world.container_id(alias), status)


@then('the container "{alias}" exits with code {code:d}')
def step_exit_code(context: Any, alias: str, code: int) -> None:
    world = _w(context)
    state = world.wait_status(world.container_id(alias), "exited", 60)
    assert state["ExitCode"] == code, f"ExitCode {state['ExitCode']} != {code}"


@then('the container "{alias}" no longer exists')
def step_gone(context: Any, alias: str) -> None:
    world = _w(context)
    ident = world.container_id(alias)
    poll(
        lambda: world.http.get(api.v(f"/containers/{ident}/json")).status_code == 404, what=f"{alias} removed"
    )


@then("no container of this scenario is left")
def step_none_left(context: Any) -> None:
    world = _w(context)
    poll(lambda: not world.labelled_containers(), what="no labelled containers")


@then("this scenario has {count:d} containers")
def step_count(context: Any, count: int) -> None:
    found = _w(context).labelled_containers()
    assert len(found) == count, f"{len(found)} containers: {found}"


@then('the inspect of "{alias}" has')
def step_inspect_types(context: Any, alias: str) -> None:
    world = _w(context)
    data = world.inspect(world.container_id(alias))
    world.last_json = data
    check_types(data, context.table, world.expand)


@then('the inspect field "{path}" of "{alias}" is {value}')
def step_inspect_field(context: Any, alias: str, path: str, value: str) -> None:
    world = _w(context)
    actual = lookup(world.inspect(world.container_id(alias)), path)
    expected = json.loads(world.expand(value))
    assert actual == expected, f"{path} = {actual!r} != {expected!r}"


@then('the inspect field "{path}" of "{alias}" matches "{pattern}"')
def step_inspect_field_matches(context: Any, alias: str, path: str, pattern: str) -> None:
    world = _w(context)
    actual = lookup(world.inspect(world.container_id(alias)), path)
    assert re.fullmatch(world.expand(pattern), str(actual)), f"{path} = {actual!r} !~ {pattern!r}"


# listing ------------------------------------------------------------------------------------------


def _list(world: World, query: dict[str, str], filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    filters = {**filters, "label": [*filters.get("label", []), world.label]}
    params = {**query, "filters": json.dumps(filters)}
    resp: httpx.Response = world.http.get(api.v("/containers/json"), params=params)
    world.last_response = resp
    world.last_json = resp.json()
    api.check(resp, 200)
    result: list[dict[str, Any]] = resp.json()
    return result


def _aliases(world: World, listed: list[dict[str, Any]]) -> list[str]:
    by_id = {v: k for k, v in world.containers.items()}
    return sorted(by_id.get(c["Id"], c["Id"][:12]) for c in listed)


@when("I list this scenario's containers")
def step_list_running(context: Any) -> None:
    world = _w(context)
    world.values["listed"] = _aliases(world, _list(world, {}, {}))


@when("I list all of this scenario's containers")
def step_list_all(context: Any) -> None:
    world = _w(context)
    world.values["listed"] = _aliases(world, _list(world, {"all": "1"}, {}))


@when("I list all of this scenario's containers with limit {limit:d}")
def step_list_limit(context: Any, limit: int) -> None:
    world = _w(context)
    world.values["listed"] = _aliases(world, _list(world, {"all": "1", "limit": str(limit)}, {}))


@when('I list all of this scenario\'s containers filtered by {key:w} "{value}"')
def step_list_filtered(context: Any, key: str, value: str) -> None:
    world = _w(context)
    world.values["listed"] = _aliases(world, _list(world, {"all": "1"}, {key: [world.expand(value)]}))


@then('the list is "{aliases}"')
def step_listed(context: Any, aliases: str) -> None:
    expected = sorted(a.strip() for a in aliases.split(",") if a.strip())
    assert _w(context).values["listed"] == expected, f"listed {_w(context).values['listed']} != {expected}"


@then('the list is ""')
@then("the list is empty")
def step_listed_empty(context: Any) -> None:
    assert _w(context).values["listed"] == [], f"listed {_w(context).values['listed']}"


@then("each listed container has")
def step_listed_types(context: Any) -> None:
    listed = _w(context).last_json
    assert listed, "nothing listed"
    for item in listed:
        check_types(item, context.table, _w(context).expand)


# volumes ------------------------------------------------------------------------------------------


@given('the anonymous volume of "{alias}" is remembered as "{key}"')
def step_anon_volume(context: Any, alias: str, key: str) -> None:
    world = _w(context)
    mounts = world.inspect(world.container_id(alias))["Mounts"]
    volumes = [m for m in mounts if m.get("Type") == "volume"]
    assert len(volumes) == 1, f"expected one volume mount, got {mounts}"
    name = volumes[0]["Name"]
    world.values[key] = name
    world.volumes.append(name)


@then('the volume "{key}" no longer exists')
def step_volume_gone(context: Any, key: str) -> None:
    world = _w(context)
    name = world.values[key]
    poll(lambda: world.http.get(api.v(f"/volumes/{name}")).status_code == 404, what=f"volume {name} removed")


@then('the volume "{key}" still exists')
def step_volume_exists(context: Any, key: str) -> None:
    world = _w(context)
    resp = world.http.get(api.v(f"/volumes/{world.values[key]}"))
    assert resp.status_code == 200, f"{resp.status_code}: {resp.text}"


# whole-daemon counts -------------------------------------------------------------------------


def _count_all(world: World) -> int:
    return len(api.check(world.http.get(api.v("/containers/json?all=1")), 200).json())


@given("I counted all containers on the daemon")
def step_count_all(context: Any) -> None:
    _w(context).values["all_containers"] = _count_all(_w(context))


@then("the daemon has as many containers as before")
def step_count_all_same(context: Any) -> None:
    world = _w(context)
    before, after = world.values["all_containers"], _count_all(world)
    assert after == before, f"{after} containers now, {before} before"
