"""Steps that talk to published ports from the host (loopback only), polling with a deadline."""

from __future__ import annotations

import shlex
import time
import urllib.request
from typing import Any

from behave import given, then

from conformance.harness import cli


@then('an HTTP GET of "{url}" from the host answers "{text}"')
def step_http_get(context: Any, url: str, text: str) -> None:
    url = context.world.expand(url)
    expected = context.world.expand(text).encode().decode("unicode_escape")
    deadline = time.monotonic() + 15
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                body = resp.read().decode()
            if body == expected:
                return
            last = body
        except OSError as err:
            last = err
        time.sleep(0.1)
    raise AssertionError(f"GET {url}: {last!r} != {expected!r}")


@given('a network "{alias}"')
@given('a network "{alias}" created with "{options}"')
def step_network(context: Any, alias: str, options: str = "") -> None:
    """``docker network create [options] <prefix>-<alias>``; removed after the scenario together with the
    scenario's containers (a network in use cannot go)."""
    world = context.world
    name = world.name(alias)
    args = ["docker", "network", "create", *shlex.split(world.expand(options)), name]
    result = cli.run(world.target.host, args, {})
    assert result.exit_code == 0, f"{args} exited {result.exit_code}: {result.stderr}"

    def remove() -> None:
        ids = cli.run(world.target.host, ["docker", "ps", "-aq", "--filter", f"label={world.label}"], {})
        if ids.stdout.split():
            cli.run(world.target.host, ["docker", "rm", "-f", *ids.stdout.split()], {})
        cli.run(world.target.host, ["docker", "network", "rm", name], {})

    world.values.setdefault("_closers", []).append(remove)


@then('the network "{alias}" no longer exists')
def step_network_gone(context: Any, alias: str) -> None:
    world = context.world
    result = cli.run(world.target.host, ["docker", "network", "inspect", world.name(alias)], {})
    assert result.exit_code != 0, f"network {world.name(alias)} still exists"


@given("the volumes of this scenario are removed after it")
def step_volume_cleanup(context: Any) -> None:
    """Volumes named ``<prefix>-...`` go after the scenario (after its containers, which may use them)."""
    world = context.world

    def remove() -> None:
        ids = cli.run(world.target.host, ["docker", "ps", "-aq", "--filter", f"label={world.label}"], {})
        if ids.stdout.split():
            cli.run(world.target.host, ["docker", "rm", "-fv", *ids.stdout.split()], {})
        vols = cli.run(
            world.target.host, ["docker", "volume", "ls", "-q", "--filter", f"name={world.prefix}"], {}
        )
        for name in vols.stdout.split():
            cli.run(world.target.host, ["docker", "volume", "rm", "-f", name], {})

    world.values.setdefault("_closers", []).append(remove)
