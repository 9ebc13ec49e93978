"""The same core flows through docker-py (`docker.DockerClient(base_url=...)`, pinned to API 1.39)."""

from __future__ import annotations

import shlex
from typing import Any

import docker
import docker.errors
from behave import then, when

from conformance.harness import api
from conformance.harness.world import LABEL_KEY, World


def _sdk(context: Any) -> docker.DockerClient:
    world: World = context.world
    client = world.values.get("_sdk")
    if client is None:
        client = docker.DockerClient(base_url=world.target.host, version=api.API_VERSION, timeout=60)
        world.values["_sdk"] = client
        world.values.setdefault("_closers", []).append(client.close)
    return client


def _labels(world: World) -> dict[str, str]:
    return {LABEL_KEY: world.prefix}


@when('docker-py runs "{command}" in busybox with remove')
def step_sdk_run(context: Any, command: str) -> None:
    world: World = context.world
    try:
        world.values["sdk_output"] = _sdk(context).containers.run(
            "busybox", shlex.split(command), remove=True, labels=_labels(world)
        )
        world.values["sdk_error"] = None
    except docker.errors.ContainerError as exc:
        world.values["sdk_error"] = exc


@when('docker-py runs "{command}" in busybox detached as "{alias}"')
def step_sdk_run_detached(context: Any, command: str, alias: str) -> None:
    world: World = context.world
    container = _sdk(context).containers.run(
        "busybox", shlex.split(command), detach=True, name=world.name(alias), labels=_labels(world)
    )
    world.track_container(container.id, alias)


@when('docker-py creates "{alias}" running "{command}"')
def step_sdk_create(context: Any, alias: str, command: str) -> None:
    world: World = context.world
    container = _sdk(context).containers.create(
        "busybox", shlex.split(command), name=world.name(alias), labels=_labels(world)
    )
    world.track_container(container.id, alias)


@when('docker-py starts "{alias}"')
def step_sdk_start(context: Any, alias: str) -> None:
    _sdk(context).containers.get(context.world.container_id(alias)).start()


@when('docker-py waits for "{alias}"')
def step_sdk_wait(context: Any, alias: str) -> None:
    result = _sdk(context).containers.get(context.world.container_id(alias)).wait(timeout=60)
    context.world.values["sdk_wait"] = result


@when('docker-py stops "{alias}" with timeout {seconds:d}')
def step_sdk_stop(context: Any, alias: str, seconds: int) -> None:
    _sdk(context).containers.get(context.world.container_id(alias)).stop(timeout=seconds)


@when('docker-py removes "{alias}"')
def step_sdk_remove(context: Any, alias: str) -> None:
    _sdk(context).containers.get(context.world.container_id(alias)).remove()


@when('docker-py looks up the container "{name}"')
def step_sdk_get(context: Any, name: str) -> None:
    world: World = context.world
    try:
        world.values["sdk_result"] = _sdk(context).containers.get(world.expand(name))
        world.values["sdk_error"] = None
    except docker.errors.APIError as exc:
        world.values["sdk_error"] = exc


@when('docker-py looks up the image "{name}"')
def step_sdk_image(context: Any, name: str) -> None:
    world: World = context.world
    try:
        world.values["sdk_result"] = _sdk(context).images.get(world.expand(name))
        world.values["sdk_error"] = None
    except docker.errors.APIError as exc:
        world.values["sdk_error"] = exc


@when('docker-py tags busybox as "{ref}"')
def step_sdk_tag(context: Any, ref: str) -> None:
    world: World = context.world
    ref = world.expand(ref)
    repo, _, tag = ref.rpartition(":")
    world.image_refs.append(ref)
    assert _sdk(context).images.get("busybox").tag(repo, tag)


@when('docker-py removes the image "{ref}"')
def step_sdk_rmi(context: Any, ref: str) -> None:
    _sdk(context).images.remove(context.world.expand(ref))


@then('the docker-py output is "{text}"')
def step_sdk_output(context: Any, text: str) -> None:
    expected = text.encode().decode("unicode_escape").encode()
    assert context.world.values["sdk_output"] == expected, context.world.values["sdk_output"]


@then("docker-py reports a container error with exit status {code:d}")
def step_sdk_container_error(context: Any, code: int) -> None:
    err = context.world.values["sdk_error"]
    assert isinstance(err, docker.errors.ContainerError), err
    assert err.exit_status == code, err.exit_status


@then("the docker-py wait result is exit code {code:d}")
def step_sdk_wait_result(context: Any, code: int) -> None:
    assert context.world.values["sdk_wait"]["StatusCode"] == code, context.world.values["sdk_wait"]


@then('docker-py reads the logs of "{alias}" as stdout "{out}" and stderr "{err}"')
def step_sdk_logs(context: Any, alias: str, out: str, err: str) -> None:
    container = _sdk(context).containers.get(context.world.container_id(alias))
    got_out = container.logs(stdout=True, stderr=False)
    got_err = container.logs(stdout=False, stderr=True)
    assert got_out == out.encode().decode("unicode_escape").encode(), got_out
    assert got_err == err.encode().decode("unicode_escape").encode(), got_err


@then('docker-py lists "{aliases}" for this scenario')
def step_sdk_list(context: Any, aliases: str) -> None:
    world: World = context.world
    found = _sdk(context).containers.list(all=True, filters={"label": world.label})
    names = sorted(c.name for c in found)
    expected = sorted(world.name(a.strip()) for a in aliases.split(","))
    assert names == expected, names


@then('docker-py sees the container "{alias}" with status "{status}"')
def step_sdk_status(context: Any, alias: str, status: str) -> None:
    container = _sdk(context).containers.get(context.world.container_id(alias))
    assert container.status == status, container.status


@then('docker-py raises NotFound with the message "{message}"')
def step_sdk_not_found(context: Any, message: str) -> None:
    err = context.world.values["sdk_error"]
    assert isinstance(err, docker.errors.NotFound), repr(err)
    assert err.status_code == 404, err.status_code
    assert err.explanation == context.world.expand(message), err.explanation


@then('the docker-py image has the tag "{ref}"')
def step_sdk_image_tag(context: Any, ref: str) -> None:
    image = context.world.values["sdk_result"]
    assert context.world.expand(ref) in image.tags, image.tags


@then("docker-py pings the daemon and reads its version")
def step_sdk_ping(context: Any) -> None:
    client = _sdk(context)
    assert client.ping() is True
    version = client.version()
    assert isinstance(version["Version"], str) and version["Version"], version
    assert version["Os"] == "linux", version
