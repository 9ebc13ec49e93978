"""Steps the conformance harness's regression scenarios need (requests with extra headers)."""

from __future__ import annotations

from typing import Any

from behave import when

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
