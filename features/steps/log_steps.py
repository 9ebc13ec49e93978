"""Steps for container logs: timestamps to compute since/until, and the API's multiplexed stream demuxed."""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from behave import then, when

from conformance.harness import api, cli

TS_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z (.*)$")


def parse_ts(stamp: str, frac: str | None) -> datetime:
    base = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return base + timedelta(microseconds=int((frac or "0")[:6].ljust(6, "0")))


@when('I remember the time {seconds:f} seconds after the log line "{line}" of "{alias}" as "{key}"')
def step_log_time(context: Any, seconds: float, line: str, alias: str, key: str) -> None:
    world = context.world
    result = cli.run(world.target.host, ["docker", "logs", "-t", world.container_id(alias)])
    assert result.exit_code == 0, result.stderr
    for text in (result.stdout + result.stderr).splitlines():
        m = TS_LINE.match(text)
        if m and m.group(3) == line:
            when_ = parse_ts(m.group(1), m.group(2)) + timedelta(seconds=seconds)
            world.values[key] = when_.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            return
    raise AssertionError(f"log line {line!r} not found in {result.stdout!r}")


def demux(data: bytes) -> tuple[bytes, bytes]:
    """Split Docker's stdcopy frames (header: stream, 0, 0, 0, big-endian length) into stdout, stderr."""
    out, err = b"", b""
    while data:
        assert len(data) >= 8, f"truncated frame header {data!r}"
        stream, size = data[0], struct.unpack(">I", data[4:8])[0]
        payload, data = data[8 : 8 + size], data[8 + size :]
        assert stream in (1, 2), f"unexpected stream {stream}"
        if stream == 1:
            out += payload
        else:
            err += payload
    return out, err


@when('I fetch the logs of "{alias}" through the API with "{query}"')
def step_api_logs(context: Any, alias: str, query: str) -> None:
    world = context.world
    resp = world.http.get(api.v(f"/containers/{world.container_id(alias)}/logs?{world.expand(query)}"))
    api.check(resp, 200)
    world.last_response = resp
    world.values["api_stdout"], world.values["api_stderr"] = demux(resp.content)


@then('the API log {stream:w} is "{text}"')
def step_api_log_is(context: Any, stream: str, text: str) -> None:
    actual = context.world.values[f"api_{stream}"].decode()
    expected = text.encode().decode("unicode_escape")
    assert actual == expected, f"{stream} {actual!r} != {expected!r}"


@then("the API log {stream:w} is empty")
def step_api_log_empty(context: Any, stream: str) -> None:
    actual = context.world.values[f"api_{stream}"]
    assert actual == b"", f"{stream} not empty: {actual!r}"
