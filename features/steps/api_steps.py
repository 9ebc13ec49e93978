"""Raw Engine API steps over the unix socket: send a request; check status, `{"message"}`, headers, JSON."""

from __future__ import annotations

import json
import re
from typing import Any

from behave import given, then, when

from conformance.harness.jsoncheck import check_types, lookup
from conformance.harness.world import LABEL_KEY, World


def _send(
    context: Any,
    method: str,
    path: str,
    body: bytes | None = None,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
) -> None:
    world: World = context.world
    path = world.expand(path)
    if json_body is not None and re.search(r"/containers/create(\?|$)", path) and isinstance(json_body, dict):
        json_body = {**json_body, "Labels": {**(json_body.get("Labels") or {}), LABEL_KEY: world.prefix}}
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    resp = world.http.request(method, path, content=body, headers=headers)
    world.last_response = resp
    try:
        world.last_json = resp.json()
    except ValueError:
        world.last_json = None
    if (
        resp.status_code == 201
        and re.search(r"/containers/create", path)
        and isinstance(world.last_json, dict)
    ):
        world.track_container(world.last_json["Id"])


@when("I send {method:w} {path} with JSON:")
@given("I sent {method:w} {path} with JSON:")
def step_send_json(context: Any, method: str, path: str) -> None:
    _send(context, method, path, json_body=json.loads(context.world.expand(context.text)))


@when("I send {method:w} {path} with raw body:")
def step_send_raw(context: Any, method: str, path: str) -> None:
    _send(
        context,
        method,
        path,
        body=context.world.expand(context.text).encode(),
        headers={"Content-Type": "application/json"},
    )


@when("I send {method:w} {path} with the busybox rootfs tar")
def step_send_rootfs(context: Any, method: str, path: str) -> None:
    _send(
        context,
        method,
        path,
        body=context.rootfs_tar.read_bytes(),
        headers={"Content-Type": "application/x-tar"},
    )


@when("I send {method:w} {path}")
@given("I sent {method:w} {path}")
def step_send(context: Any, method: str, path: str) -> None:
    _send(context, method, path)


def _response(context: Any) -> Any:
    resp = context.world.last_response
    assert resp is not None, "no request was sent"
    return resp


@then("the status is {code:d}")
def step_status(context: Any, code: int) -> None:
    resp = _response(context)
    assert resp.status_code == code, f"status {resp.status_code} != {code}: {resp.text[:1000]}"


@then('the error message is "{message}"')
def step_message(context: Any, message: str) -> None:
    resp = _response(context)
    expected = context.world.expand(message)
    body = context.world.last_json
    assert isinstance(body, dict) and "message" in body, f"no JSON message in {resp.text!r}"
    assert body["message"] == expected, f"message {body['message']!r} != {expected!r}"
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers.get(
        "content-type"
    )


@then('the error message matches "{pattern}"')
def step_message_matches(context: Any, pattern: str) -> None:
    body = context.world.last_json
    assert isinstance(body, dict) and "message" in body, f"no JSON message in {_response(context).text!r}"
    assert re.fullmatch(context.world.expand(pattern), body["message"]), f"{body['message']!r} !~ {pattern!r}"


@then('the response header "{name}" is "{value}"')
def step_header(context: Any, name: str, value: str) -> None:
    actual = _response(context).headers.get(name)
    assert actual == value, f"header {name}: {actual!r} != {value!r}"


@then('the response header "{name}" matches "{pattern}"')
def step_header_matches(context: Any, name: str, pattern: str) -> None:
    actual = _response(context).headers.get(name)
    assert actual is not None and re.fullmatch(pattern, actual), f"header {name}: {actual!r} !~ {pattern!r}"


@then('the response body is "{text}"')
def step_body(context: Any, text: str) -> None:
    assert _response(context).text == text, f"body {_response(context).text!r} != {text!r}"


@then("the response body is empty")
def step_body_empty(context: Any) -> None:
    assert _response(context).content == b"", f"body {_response(context).content[:200]!r}"


@then("the response JSON has")
def step_json_types(context: Any) -> None:
    check_types(context.world.last_json, context.table, context.world.expand)


@then('the response JSON field "{path}" is {value}')
def step_json_field(context: Any, path: str, value: str) -> None:
    expected = json.loads(context.world.expand(value))
    actual = lookup(context.world.last_json, path)
    assert actual == expected, f"{path} = {actual!r} != {expected!r}"


@then('the response JSON field "{path}" contains {value}')
def step_json_field_contains(context: Any, path: str, value: str) -> None:
    expected = json.loads(context.world.expand(value))
    actual = lookup(context.world.last_json, path)
    assert expected in actual, f"{expected!r} not in {path} = {actual!r}"


@then('the response JSON field "{path}" matches "{pattern}"')
def step_json_field_matches(context: Any, path: str, pattern: str) -> None:
    actual = lookup(context.world.last_json, path)
    assert re.fullmatch(context.world.expand(pattern), str(actual)), f"{path} = {actual!r} !~ {pattern!r}"


@then("the response is a JSON array")
def step_json_array(context: Any) -> None:
    assert isinstance(context.world.last_json, list), f"not an array: {_response(context).text[:300]}"


@then("the response JSON is {value}")
def step_json_is(context: Any, value: str) -> None:
    expected = json.loads(context.world.expand(value))
    assert context.world.last_json == expected, f"{context.world.last_json!r} != {expected!r}"
