"""docker-py's interactive calls: ``exec_run`` (demuxed, streamed), ``attach_socket`` and ``events``."""

from __future__ import annotations

import shlex
import socket
import time
from typing import Any

from behave import given, then, when
from sdk_steps import _labels, _sdk

from conformance.harness.world import World, poll


def _unescape(text: str) -> str:
    return text.encode().decode("unicode_escape")


@when('docker-py execs "{command}" in "{alias}" with demux')
def step_exec_demux(context: Any, command: str, alias: str) -> None:
    world: World = context.world
    container = _sdk(context).containers.get(world.container_id(alias))
    code, (out, err) = container.exec_run(shlex.split(command), demux=True)
    world.values["sdk_exec"] = (code, out or b"", err or b"")


@when('docker-py streams an exec of "{command}" in "{alias}" with demux')
def step_exec_stream(context: Any, command: str, alias: str) -> None:
    world: World = context.world
    container = _sdk(context).containers.get(world.container_id(alias))
    result = container.exec_run(shlex.split(command), stream=True, demux=True)
    out, err = b"", b""
    for chunk_out, chunk_err in result.output:
        out += chunk_out or b""
        err += chunk_err or b""
    world.values["sdk_exec"] = (None, out, err)


@then('the docker-py exec gave exit code {code:d}, stdout "{out}" and stderr "{err}"')
def step_exec_result(context: Any, code: int, out: str, err: str) -> None:
    got = context.world.values["sdk_exec"]
    assert got == (code, _unescape(out).encode(), _unescape(err).encode()), got


@then('the docker-py exec stream gave stdout "{out}" and stderr "{err}"')
def step_exec_stream_result(context: Any, out: str, err: str) -> None:
    _, got_out, got_err = context.world.values["sdk_exec"]
    assert (got_out, got_err) == (_unescape(out).encode(), _unescape(err).encode()), (got_out, got_err)


@given('docker-py runs "{command}" in busybox detached without network as "{alias}"')
def step_run_none(context: Any, command: str, alias: str) -> None:
    world: World = context.world
    world.values["_t0"] = int(time.time()) - 1
    container = _sdk(context).containers.run(
        "busybox", shlex.split(command), detach=True, network_mode="none", name=world.name(alias),
        labels=_labels(world))
    world.track_container(container.id, alias)


@when('docker-py runs "{command}" in busybox with stdin open and a tty as "{alias}"')
def step_run_it(context: Any, command: str, alias: str) -> None:
    world: World = context.world
    container = _sdk(context).containers.run(
        "busybox", shlex.split(command), detach=True, stdin_open=True, tty=True, network_mode="none",
        name=world.name(alias), labels=_labels(world))
    world.track_container(container.id, alias)


@then('docker-py sends "{text}" through attach_socket of "{alias}" and reads "{expected}"')
def step_attach_socket(context: Any, text: str, alias: str, expected: str) -> None:
    world: World = context.world
    container = _sdk(context).containers.get(world.container_id(alias))
    sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    raw: socket.socket = sock._sock
    raw.settimeout(30)
    try:
        raw.sendall(_unescape(text).encode())
        want = _unescape(expected).encode()
        got = b""
        deadline = time.monotonic() + 30
        while want not in got and time.monotonic() < deadline:
            chunk = raw.recv(4096)
            if not chunk:
                break
            got += chunk
        assert want in got, f"{want!r} not in {got!r}"
    finally:
        sock.close()


@then('docker-py events of "{alias}" since the scenario began include "{actions}"')
def step_events(context: Any, alias: str, actions: str) -> None:
    world: World = context.world
    client = _sdk(context)
    cid = world.container_id(alias)
    want = actions.split(",")

    def seen() -> list[str] | None:
        until = int(time.time()) + 1
        stream = client.events(since=world.values.get("_t0", int(time.time()) - 60), until=until,
                               filters={"container": cid}, decode=True)
        got = [str(e.get("Action")) for e in stream]
        return got if all(a in got for a in want) else None

    poll(seen, what=f"events {want}")
