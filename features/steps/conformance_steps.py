"""Steps the conformance harness's regression scenarios need (requests with extra headers)."""

from __future__ import annotations

from typing import Any

from behave import then, when

from conformance.harness import api
from conformance.harness.world import World


@when('with the header "{header}" I send {method:w} {path}')
def step_send_with_header(context: Any, header: str, method: str, path: str) -> None:
    world: World = context.world
    name, _, value = header.partition(":")
    resp = world.http.request(method, world.expand(path), headers={name.strip(): value.strip()})
    world.last_response = resp
    try:
        world.last_json = resp.json()
    except ValueError:
        world.last_json = None


@when('with the JSON bytes "{hexdata}" I send {method:w} {path}')
def step_send_bytes(context: Any, hexdata: str, method: str, path: str) -> None:
    """A body given as hex, for bytes a feature file cannot hold (invalid UTF-8, control characters)."""
    world: World = context.world
    headers = {"Content-Type": "application/json"}
    resp = world.http.request(method, world.expand(path), content=bytes.fromhex(hexdata), headers=headers)
    world.last_response = resp
    try:
        world.last_json = resp.json()
    except ValueError:
        world.last_json = None


@when('{n:d} containers of "{command}" are each started and at once killed with signal "{signal}"')
def step_start_then_kill(context: Any, n: int, command: str, signal: str) -> None:
    """A race the stateful fuzzer found: the kill lands while the process ends and its shim leaves."""
    world: World = context.world
    statuses = []
    for _ in range(n):
        ident = world.create_container(None, {"Cmd": command.split()})
        world.http.post(api.v(f"/containers/{ident}/start"))
        kill = f"/containers/{ident}/kill?signal={signal}"
        statuses.append(world.http.post(api.v(kill)).status_code)
    world.values["kill_statuses"] = statuses


@then("every kill answered 204 or 409")
def step_kills_answered(context: Any) -> None:
    statuses = context.world.values["kill_statuses"]
    assert set(statuses) <= {204, 409}, f"kill statuses {statuses}"
