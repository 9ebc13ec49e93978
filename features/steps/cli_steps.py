"""Steps that run the real docker CLI against the target (`-H <target>`), keeping stdout and stderr apart."""

from __future__ import annotations

import re
from typing import Any

from behave import given, then, when

from conformance.harness import cli


def _unescape(text: str) -> str:
    return text.encode().decode("unicode_escape")


def _run(context: Any, cmdline: str, stdin: bytes | None = None) -> cli.Result:
    world = context.world
    env, args = cli.split(world.expand(cmdline))
    args = cli.with_label(args, world.label)
    result = cli.run(world.target.host, args, env, stdin=stdin)
    world.last_cli = result
    return result


@when('I run "{cmdline}" and remember stdout as "{key}"')
@given('I ran "{cmdline}" and remembered stdout as "{key}"')
def step_run_remember(context: Any, cmdline: str, key: str) -> None:
    result = _run(context, cmdline)
    assert result.exit_code == 0, f"{result.argv} exited {result.exit_code}: {result.stderr}"
    context.world.values[key] = result.stdout.strip()


@given('I ran "{cmdline}" successfully')
@when('I run "{cmdline}" successfully')
def step_run_ok(context: Any, cmdline: str) -> None:
    result = _run(context, cmdline)
    assert result.exit_code == 0, f"{result.argv} exited {result.exit_code}: {result.stderr}"


@when('I run "{cmdline}"')
@given('I ran "{cmdline}"')
def step_run(context: Any, cmdline: str) -> None:
    _run(context, cmdline)


def _last(context: Any) -> cli.Result:
    result: cli.Result | None = context.world.last_cli
    assert result is not None, "no command was run"
    return result


@then("the command succeeds")
def step_ok(context: Any) -> None:
    r = _last(context)
    assert r.exit_code == 0, f"exit {r.exit_code}\nstdout: {r.stdout}\nstderr: {r.stderr}"


@then("the command fails")
def step_fails(context: Any) -> None:
    r = _last(context)
    assert r.exit_code != 0, f"expected failure, got 0\nstdout: {r.stdout}"


@then("the command exits with {code:d}")
def step_exit(context: Any, code: int) -> None:
    r = _last(context)
    assert r.exit_code == code, f"exit {r.exit_code} != {code}\nstdout: {r.stdout}\nstderr: {r.stderr}"


@then('{stream:w} is "{text}"')
def step_stream_is(context: Any, stream: str, text: str) -> None:
    actual = getattr(_last(context), stream)
    expected = _unescape(context.world.expand(text))
    assert actual == expected, f"{stream} {actual!r} != {expected!r}"


@then("{stream:w} is empty")
def step_stream_empty(context: Any, stream: str) -> None:
    actual = getattr(_last(context), stream)
    assert actual == "", f"{stream} not empty: {actual!r}"


@then('{stream:w} contains "{text}"')
def step_stream_contains(context: Any, stream: str, text: str) -> None:
    actual = getattr(_last(context), stream)
    expected = _unescape(context.world.expand(text))
    assert expected in actual, f"{expected!r} not in {stream} {actual!r}"


@then('{stream:w} does not contain "{text}"')
def step_stream_not_contains(context: Any, stream: str, text: str) -> None:
    actual = getattr(_last(context), stream)
    expected = _unescape(context.world.expand(text))
    assert expected not in actual, f"{expected!r} in {stream} {actual!r}"


@then('{stream:w} matches "{pattern}"')
def step_stream_matches(context: Any, stream: str, pattern: str) -> None:
    actual = getattr(_last(context), stream)
    assert re.fullmatch(context.world.expand(pattern), actual, re.S), f"{stream} {actual!r} !~ {pattern!r}"


@then("{stream:w} has {count:d} lines")
def step_stream_lines(context: Any, stream: str, count: int) -> None:
    lines = getattr(_last(context), stream).splitlines()
    assert len(lines) == count, f"{len(lines)} lines != {count}: {lines!r}"


@then("the command took at least {seconds:f} seconds")
def step_took(context: Any, seconds: float) -> None:
    r = _last(context)
    assert r.seconds >= seconds, f"took {r.seconds:.2f}s < {seconds}s"


@then("the command took less than {seconds:f} seconds")
def step_took_less(context: Any, seconds: float) -> None:
    r = _last(context)
    assert r.seconds < seconds, f"took {r.seconds:.2f}s >= {seconds}s"
