"""Registry steps: a real docker-registry per scenario, and the reference Docker on the other side.

`Given a local registry` starts Debian's docker-registry on 127.0.0.1:<free port> (``<registry.value>``
in later steps) and stops it (by PID, data removed) after the scenario. Steps that say "the reference"
drive the reference dockerd whatever the target is, and untag what they made there afterwards.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

from behave import given, then, when

from conformance.harness import cli
from conformance.harness.world import World
from conformance.target import target as make_target
from vm import schema1
from vm.registry import Registry, TokenAuth, local_address
from vm.token_server import ISSUER, SERVICE, TokenServer

DOCKER_CERTS_D = Path("/etc/docker/certs.d")
SKIFF_CERTS_D = Path("/etc/skiff/certs.d")


def _w(context: Any) -> World:
    world: World = context.world
    return world


def _closer(world: World, fn: Any) -> None:
    world.values.setdefault("_closers", []).append(fn)


def _reference(world: World, *args: str, stdin: bytes | None = None) -> cli.Result:
    result = cli.run(make_target("docker").host, ["docker", *args], stdin=stdin)
    assert result.exit_code == 0, f"reference docker {' '.join(args)}: {result.stderr}"
    return result


def _untag_on_reference(world: World, ref: str) -> None:
    def untag() -> None:
        cli.run(make_target("docker").host, ["docker", "rmi", ref])

    _closer(world, untag)


@given("a local registry")
def step_registry(context: Any) -> None:
    world = _w(context)
    registry = Registry().start()
    _closer(world, registry.stop)
    world.values["registry"] = registry.address
    world.values["registry_root"] = str(registry.root)


@given('a local registry with the user "{user}" and password "{password}"')
def step_registry_auth(context: Any, user: str, password: str) -> None:
    world = _w(context)
    registry = Registry(users={user: password}).start()
    _closer(world, registry.stop)
    world.values["registry"] = registry.address
    assert registry.root is not None
    world.values["dockercfg"] = str(registry.root / "docker-config")


def _start_registry(world: World, registry: Registry) -> Registry:
    registry.start()
    _closer(world, registry.stop)
    world.values["registry"] = registry.address
    world.values["registry_root"] = str(registry.root)
    if registry.ca is not None:
        world.values["registry_ca"] = str(registry.ca)
    return registry


@given("a TLS registry with a CA made for it")
def step_registry_tls(context: Any) -> None:
    """On a non-loopback address: dockerd skips TLS verification for every 127.0.0.0/8 registry."""
    _start_registry(_w(context), Registry(tls=True, host=local_address()))


@given("a TLS registry on 127.0.0.1 with a CA nobody trusts")
def step_registry_tls_loopback(context: Any) -> None:
    _start_registry(_w(context), Registry(tls=True))


@given('a TLS registry with a CA made for it, and the user "{user}" and password "{password}"')
def step_registry_tls_auth(context: Any, user: str, password: str) -> None:
    world = _w(context)
    registry = _start_registry(world, Registry(tls=True, host=local_address(), users={user: password}))
    assert registry.root is not None
    world.values["dockercfg"] = str(registry.root / "docker-config")


def _token_registry(world: World, user: str, password: str, tls: bool) -> None:
    tokens = TokenServer(users={user: password}).start()
    _closer(world, tokens.stop)
    assert tokens.cert is not None
    auth = TokenAuth(tokens.realm, SERVICE, ISSUER, tokens.cert)
    registry = Registry(token=auth, tls=tls, host=local_address() if tls else "127.0.0.1")
    _start_registry(world, registry)
    assert registry.root is not None
    world.values["dockercfg"] = str(registry.root / "docker-config")
    world.values["token_server"] = tokens.address


@given('a local registry with bearer-token auth for the user "{user}" and password "{password}"')
def step_registry_token(context: Any, user: str, password: str) -> None:
    """docker-registry's ``auth: token``: 401 with ``WWW-Authenticate: Bearer realm=...``; the tests'
    token server (vm/token_server.py) signs the JWTs."""
    _token_registry(_w(context), user, password, tls=False)


@given('a TLS registry with a CA made for it and bearer tokens for "{user}", password "{password}"')
def step_registry_tls_token(context: Any, user: str, password: str) -> None:
    _token_registry(_w(context), user, password, tls=True)


@given("a TLS registry with a CA made for it that demands a client certificate")
def step_registry_tls_client(context: Any) -> None:
    world = _w(context)
    registry = _start_registry(world, Registry(tls=True, host=local_address(), client_certs=True))
    assert registry.client is not None
    world.values["client_cert"] = str(registry.client.cert)
    world.values["client_key"] = str(registry.client.key)


@given("the target has the registry's client certificate in its certs.d")
def step_target_client_cert(context: Any) -> None:
    world = _w(context)
    d = (DOCKER_CERTS_D if world.target.name == "docker" else SKIFF_CERTS_D) / world.values["registry"]
    d.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(world.values["client_cert"], d / "client.cert")
    shutil.copyfile(world.values["client_key"], d / "client.key")
    _closer(world, lambda: shutil.rmtree(d, ignore_errors=True))


@then('the docker config "{path}" keeps an identity token and no password for "{server}"')
def step_identity_token(context: Any, path: str, server: str) -> None:
    """``docker login`` stores the IdentityToken the daemon answered instead of the password."""
    world = _w(context)
    config = json.loads((Path(world.expand(path)) / "config.json").read_text())
    entry = config["auths"][world.expand(server)]
    assert str(entry.get("identitytoken") or ""), entry
    assert base64.b64decode(entry["auth"]).decode().endswith(":"), entry


def _trust_ca(world: World, certs_d: Path) -> None:
    """certs.d/<host:port>/ca.crt, as dockerd and skiffd read it on each pull/push; removed afterwards."""
    d = certs_d / world.values["registry"]
    d.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(world.values["registry_ca"], d / "ca.crt")
    _closer(world, lambda: shutil.rmtree(d, ignore_errors=True))


@given("the target trusts the registry's CA in its certs.d")
def step_target_trusts(context: Any) -> None:
    world = _w(context)
    _trust_ca(world, DOCKER_CERTS_D if world.target.name == "docker" else SKIFF_CERTS_D)


@given("the reference trusts the registry's CA in its certs.d")
def step_reference_trusts(context: Any) -> None:
    _trust_ca(_w(context), DOCKER_CERTS_D)


@given('the reference pushed "{source}" to the registry as "{ref}"')
def step_reference_pushed(context: Any, source: str, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    _reference(world, "tag", source, ref)
    try:
        out = _reference(world, "push", ref).stdout
    finally:
        _reference(world, "rmi", ref)
    m = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
    assert m, out
    world.values["digest"] = m.group(1)


@given('the reference pushed a one-layer image of random data to the registry as "{ref}", '
       'its digest remembered as "{key}"')
def step_reference_pushed_random_digest(context: Any, ref: str, key: str) -> None:
    world = _w(context)
    world.values[key] = _push_random(world, ref)


@given('the reference pushed a one-layer image of random data to the registry as "{ref}"')
def step_reference_pushed_random(context: Any, ref: str) -> None:
    _push_random(_w(context), ref)


def _push_random(world: World, ref: str) -> str:
    ref = world.expand(ref)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = os.urandom(256 * 1024)
        info = tarfile.TarInfo("random.bin")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    image_id = _reference(world, "import", "-", ref, stdin=buf.getvalue()).stdout.strip()
    try:
        out = _reference(world, "push", ref).stdout
    finally:
        _reference(world, "rmi", image_id)
    m = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
    assert m, out
    return m.group(1)


def _random_layer_tar(size: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("random.bin")
        info.size = size
        tf.addfile(info, io.BytesIO(os.urandom(size)))
    return buf.getvalue()


@given('the target has a one-layer image of {mib:d} MiB of random data as "{ref}"')
def step_target_random_image(context: Any, mib: int, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    result = cli.run(world.target.host, ["docker", "import", "-", ref], stdin=_random_layer_tar(mib << 20))
    assert result.exit_code == 0, result.stderr
    world.image_refs.append(ref)


@when('the reference runs docker pull "{ref}"')
def step_reference_pulls(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    _untag_on_reference(world, ref)
    world.last_cli = cli.run(make_target("docker").host, ["docker", "pull", ref])


@then('the reference\'s image "{ref}" has the target\'s layers')
def step_same_layers(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    fmt = "{{json .RootFS.Layers}}"
    here = cli.run(world.target.host, ["docker", "image", "inspect", "--format", fmt, ref])
    there = _reference(world, "image", "inspect", "--format", fmt, ref)
    assert here.exit_code == 0, here.stderr
    assert json.loads(here.stdout) == json.loads(there.stdout), (here.stdout, there.stdout)


@given("a local registry that accepts schema1 manifests")
def step_registry_schema1(context: Any) -> None:
    """docker-registry with ``compatibility: schema1: enabled: true`` (it refuses schema1 PUTs otherwise)."""
    _start_registry(_w(context), Registry(schema1=True))


@given('the registry has a schema1 image "{ref}" of the busybox layer, as Docker before 1.8.3 wrote it')
def step_schema1_image_old(context: Any, ref: str) -> None:
    _schema1_image(_w(context), ref, old=True)


@given('the registry has a schema1 image "{ref}" of the busybox layer')
def step_schema1_image(context: Any, ref: str) -> None:
    _schema1_image(_w(context), ref, old=False)


def _schema1_image(world: World, ref: str, old: bool) -> None:
    """A signed schema1 manifest (vm/schema1.py): the test rootfs plus a file naming the scenario,
    gzipped, under a throwaway CMD layer."""
    ref = world.expand(ref)
    repo, _, tag = ref.removeprefix(world.values["registry"] + "/").rpartition(":")
    root = Path(world.values["registry_root"])
    buf = io.BytesIO(Path(world.values["rootfs"]).read_bytes())
    with tarfile.open(fileobj=buf, mode="a") as tf:  # a file of its own: no daemon has this layer yet
        mark = world.prefix.encode()
        info = tarfile.TarInfo("schema1-mark")
        info.size = len(mark)
        tf.addfile(info, io.BytesIO(mark))
    layer = gzip.compress(buf.getvalue(), mtime=0)
    world.values["digest"] = schema1.put_image(f"http://{world.values['registry']}", repo, tag, layer,
                                               root / "schema1", old=old)


@given('the reference pulled "{ref}", remembered its ID as "{key}" and removed it')
def step_reference_pulled_id(context: Any, ref: str, key: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    _reference(world, "pull", ref)
    try:
        world.values[key] = _reference(world, "image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
    finally:
        _reference(world, "rmi", ref)


@given('the reference pulled "{ref}", pushed it as "{other}", remembered the digest as "{key}" and '
       'removed both')
def step_reference_repushed(context: Any, ref: str, other: str, key: str) -> None:
    world = _w(context)
    ref, other = world.expand(ref), world.expand(other)
    _reference(world, "pull", ref)
    try:
        _reference(world, "tag", ref, other)
        try:
            out = _reference(world, "push", other).stdout
        finally:
            _reference(world, "rmi", other)
    finally:
        _reference(world, "rmi", ref)
    m = re.search(r"digest: (sha256:[0-9a-f]{64})", out)
    assert m, out
    world.values[key] = m.group(1)


@given('the registry serves corrupt data for the layers of "{ref}"')
def step_corrupt_layers(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    registry: str = world.values["registry"]
    root = Path(world.values["registry_root"])
    repo, _, tag = ref.removeprefix(registry + "/").rpartition(":")
    req = urllib.request.Request(f"http://{registry}/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        manifest = json.loads(resp.read())
    for layer in manifest["layers"]:
        hexid = layer["digest"].split(":", 1)[1]
        data = root / "data/docker/registry/v2/blobs/sha256" / hexid[:2] / hexid / "data"
        size = data.stat().st_size
        data.write_bytes(os.urandom(size))


@given('the image "{ref}" is removed after the scenario')
def step_removed_after(context: Any, ref: str) -> None:
    world = _w(context)
    world.image_refs.append(world.expand(ref))


@when('the reference pulls "{ref}" and runs "{command}"')
def step_reference_pulls_runs(context: Any, ref: str, command: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    _untag_on_reference(world, ref)
    _reference(world, "pull", ref)
    world.last_cli = cli.run(make_target("docker").host, ["docker", "run", "--rm", ref, *command.split()])


@when('the reference loads the target\'s docker save of "{ref}"')
def step_reference_loads(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    _untag_on_reference(world, ref)
    raw = subprocess.run([cli.docker(), "-H", world.target.host, "save", ref], capture_output=True,
                         check=False)
    assert raw.returncode == 0, raw.stderr.decode()
    world.last_cli = cli.run(make_target("docker").host, ["docker", "load"], stdin=raw.stdout)


@then('the progress stream ends with "{text}"')
def step_stream_ends(context: Any, text: str) -> None:
    world = _w(context)
    assert world.last_response is not None
    lines = [json.loads(line) for line in world.last_response.text.splitlines() if line.strip()]
    assert lines and lines[-1].get("status") == world.expand(text), lines


@then('the progress stream has a message with status "{text}"')
def step_stream_has(context: Any, text: str) -> None:
    world = _w(context)
    assert world.last_response is not None
    lines = [json.loads(line) for line in world.last_response.text.splitlines() if line.strip()]
    want = world.expand(text)
    assert any(str(m.get("status", "")).startswith(want) for m in lines), lines


def _docker_py(world: World) -> Any:
    import docker

    client = world.values.get("_sdk_registry")
    if client is None:
        client = docker.DockerClient(base_url=world.target.host, version="1.39", timeout=120)
        world.values["_sdk_registry"] = client
        _closer(world, client.close)
    return client


@when('docker-py pushes "{ref}"')
def step_sdk_push(context: Any, ref: str) -> None:
    world = _w(context)
    repo, _, tag = world.expand(ref).rpartition(":")
    world.values["sdk_push"] = list(_docker_py(world).images.push(repo, tag=tag, stream=True, decode=True))


@when('docker-py with the user "{user}" and password "{password}" pushes "{ref}"')
def step_sdk_push_auth(context: Any, ref: str, user: str, password: str) -> None:
    world = _w(context)
    repo, _, tag = world.expand(ref).rpartition(":")
    auth = {"username": user, "password": password}
    world.values["sdk_push"] = list(_docker_py(world).images.push(repo, tag=tag, stream=True, decode=True,
                                                                  auth_config=auth))


@when('docker-py with the user "{user}" and password "{password}" pulls "{ref}"')
def step_sdk_pull_auth(context: Any, ref: str, user: str, password: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    world.image_refs.append(ref)
    repo, _, tag = ref.rpartition(":")
    auth = {"username": user, "password": password}
    world.values["sdk_pulled"] = _docker_py(world).images.pull(repo, tag=tag, auth_config=auth)


@then("the docker-py push stream reports the digest and no error")
def step_sdk_push_ok(context: Any) -> None:
    messages: list[dict[str, Any]] = _w(context).values["sdk_push"]
    assert not any("error" in m for m in messages), messages
    assert any((m.get("aux") or {}).get("Digest", "").startswith("sha256:") for m in messages), messages


@when('docker-py pulls "{ref}"')
def step_sdk_pull(context: Any, ref: str) -> None:
    world = _w(context)
    ref = world.expand(ref)
    world.image_refs.append(ref)
    repo, _, tag = ref.rpartition(":")
    world.values["sdk_pulled"] = _docker_py(world).images.pull(repo, tag=tag)


@then('the docker-py pulled image has the tag "{ref}"')
def step_sdk_pulled_tag(context: Any, ref: str) -> None:
    world = _w(context)
    image = world.values["sdk_pulled"]
    assert world.expand(ref) in image.tags, image.tags


@then('stdout has the pushed digest, remembered as "{key}"')
def step_pushed_digest(context: Any, key: str) -> None:
    world = _w(context)
    assert world.last_cli is not None
    m = re.search(r": digest: (sha256:[0-9a-f]{64}) size: \d+", world.last_cli.stdout)
    assert m, world.last_cli.stdout
    world.values[key] = m.group(1)
