"""System steps that need a little arithmetic over what the daemon reported."""

from __future__ import annotations

from typing import Any

from behave import then


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@then("the negotiated API version is between the server's minimum and maximum")
def step_negotiated(context: Any) -> None:
    result = context.world.last_cli
    client, low, high = result.stdout.split()
    assert _version(low) <= _version(client) <= _version(high), result.stdout


@then("the info container counts add up")
def step_counts(context: Any) -> None:
    info = context.world.last_json
    parts = info["ContainersRunning"] + info["ContainersPaused"] + info["ContainersStopped"]
    assert info["Containers"] == parts, info
