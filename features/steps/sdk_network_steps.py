"""Networks, published ports and volumes through docker-py (pinned to API 1.39), self-cleaning."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import docker
from behave import then

from conformance.harness import api
from conformance.harness.world import LABEL_KEY, World


def _client(world: World) -> docker.DockerClient:
    client = docker.DockerClient(base_url=world.target.host, version=api.API_VERSION, timeout=60)
    world.values.setdefault("_closers", []).append(client.close)
    return client


def _cleanup(world: World, client: docker.DockerClient, network: Any = None, volume: Any = None) -> None:
    def remove() -> None:
        for c in client.containers.list(all=True, filters={"label": f"{LABEL_KEY}={world.prefix}"}):
            c.remove(force=True)
        if network is not None:
            network.remove()
        if volume is not None:
            volume.remove(force=True)

    world.values.setdefault("_closers", []).insert(0, remove)


@then("docker-py runs a server on a new network and a client there reaches it by name")
def step_sdk_network(context: Any) -> None:
    world: World = context.world
    client = _client(world)
    net = client.networks.create(world.name("net"), driver="bridge")
    _cleanup(world, client, network=net)
    labels = {LABEL_KEY: world.prefix}
    client.containers.run(
        "busybox",
        ["httpd", "-f", "-p", "8080", "-h", "/etc"],
        detach=True,
        name=world.name("srv"),
        network=net.name,
        labels=labels,
    )
    out = client.containers.run(
        "busybox",
        [
            "sh",
            "-c",
            f"for i in 1 2 3 4 5; do wget -qO- http://{world.name('srv')}:8080/hostname && exit; "
            "sleep 0.2; done",
        ],
        network=net.name,
        labels=labels,
        remove=True,
    )
    assert len(out.strip()) == 12, out
    net.reload()
    assert world.name("srv") in [c.name for c in net.containers]


@then("docker-py publishes a port and the host reaches it")
def step_sdk_ports(context: Any) -> None:
    world: World = context.world
    client = _client(world)
    _cleanup(world, client)
    c = client.containers.run(
        "busybox",
        ["httpd", "-f", "-p", "80", "-h", "/etc"],
        detach=True,
        ports={"80/tcp": ("127.0.0.1", None)},
        labels={LABEL_KEY: world.prefix},
    )
    c.reload()
    port = c.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=3) as r:
                assert r.read().decode() == c.id[:12] + "\n"
                return
        except OSError:
            assert time.monotonic() < deadline, "the published port did not answer"
            time.sleep(0.1)


@then("docker-py writes a volume in one container and reads it in the next")
def step_sdk_volume(context: Any) -> None:
    world: World = context.world
    client = _client(world)
    vol = client.volumes.create(world.name("vol"), labels={"kind": "test"})
    _cleanup(world, client, volume=vol)
    labels = {LABEL_KEY: world.prefix}
    mounts = {vol.name: {"bind": "/data", "mode": "rw"}}
    client.containers.run(
        "busybox",
        ["sh", "-c", "echo kept > /data/f"],
        volumes=mounts,
        network_mode="none",
        labels=labels,
        remove=True,
    )
    out = client.containers.run(
        "busybox", ["cat", "/data/f"], volumes=mounts, network_mode="none", labels=labels, remove=True
    )
    assert out == b"kept\n", out
    assert client.volumes.get(vol.name).attrs["Labels"] == {"kind": "test"}
