"""GET /events: filters as dockerd's, history from since, the end at until."""

from __future__ import annotations

import asyncio
import time

import pytest
from skiff import errdefs
from skiff.engine.backend import eventstream
from skiff.engine.backend.events import EventBus, message

pytestmark = pytest.mark.unit


def _ev(kind: str, action: str, actor: str, **attrs: str) -> dict[str, object]:
    return message(kind, action, actor, attrs)


def test_filters_match_like_dockerd() -> None:
    die = _ev("container", "die", "abc123", name="web", image="busybox:latest", exitCode="3", tier="front")
    exec_create = _ev("container", "exec_create: sh -c true", "abc123", name="web", image="busybox")
    tag = _ev("image", "tag", "sha256:ff", name="busybox:v2")
    f = eventstream.parse_filters
    assert eventstream.matches(die, f('{"event":["die"]}'))
    assert not eventstream.matches(die, f('{"event":["start"]}'))
    assert eventstream.matches(exec_create, f('{"event":["exec_create"]}'))
    assert eventstream.matches(die, f('{"container":["web"]}'))
    assert eventstream.matches(die, f('{"container":["abc"]}'))
    assert not eventstream.matches(tag, f('{"container":["web"]}'))
    assert eventstream.matches(die, f('{"type":{"container":true}}'))
    assert not eventstream.matches(tag, f('{"type":["container"]}'))
    assert eventstream.matches(die, f('{"label":["tier=front"]}'))
    assert not eventstream.matches(die, f('{"label":["tier=back"]}'))
    assert eventstream.matches(die, f('{"image":["busybox"]}'))
    with pytest.raises(errdefs.InvalidArgument, match="Invalid filter 'bogus'"):
        f('{"bogus":["x"]}')


def test_since_replays_history_and_until_ends_the_stream() -> None:
    async def scenario() -> list[str]:
        bus = EventBus()
        since = f"{time.time() - 1:.9f}"
        bus.publish("container", "create", "c1")
        bus.publish("container", "start", "c1")
        until = f"{time.time() + 0.3:.9f}"
        stream = await eventstream.stream(bus, since, until, None)
        got: list[str] = []

        async def later() -> None:
            await asyncio.sleep(0.05)
            bus.publish("container", "die", "c1")

        task = asyncio.ensure_future(later())
        async for event in stream:
            got.append(str(event["Action"]))
        await task
        return got

    assert asyncio.run(scenario()) == ["create", "start", "die"]
