"""``GET /events``: the EventBus's history from ``since``, then live events, until ``until`` (if given),
filtered as dockerd's ``events.Filter`` does (type, event, container, image, label, daemon, network,
volume, scope)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from skiff import errdefs
from skiff.engine.backend import timefmt
from skiff.engine.backend.events import QUEUE, EventBus

FILTER_KEYS = ("type", "event", "container", "image", "label", "daemon", "network", "volume", "scope",
               "plugin", "node", "service", "secret", "config")


def parse_filters(raw: str | None) -> dict[str, list[str]]:
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError as err:
        raise errdefs.InvalidArgument(f"invalid filter: {err}") from None
    if not isinstance(doc, dict):
        raise errdefs.InvalidArgument("invalid filter: not a JSON object")
    out: dict[str, list[str]] = {}
    for key, value in doc.items():
        if key not in FILTER_KEYS:
            raise errdefs.InvalidArgument(f"Invalid filter '{key}'")
        if isinstance(value, dict):  # the {"value": true} form
            out[key] = [str(k) for k, on in value.items() if on]
        elif isinstance(value, list):
            out[key] = [str(v) for v in value]
        else:
            raise errdefs.InvalidArgument(f"invalid filter value for '{key}'")
    return out


def _bound(value: str | None, name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        return timefmt.parse_unix_timestamp(str(value))
    except ValueError as err:
        raise errdefs.InvalidArgument(str(err)) from None


def _any(wanted: list[str] | None, *candidates: str) -> bool:
    if not wanted:
        return True
    return any(c and c in wanted for c in candidates)


def _matches_label(wanted: list[str] | None, attrs: dict[str, str]) -> bool:
    if not wanted:
        return True
    for item in wanted:
        key, eq, value = item.partition("=")
        if key not in attrs or (eq and attrs[key] != value):
            return False
    return True


def matches(event: dict[str, Any], f: dict[str, list[str]]) -> bool:
    kind = str(event.get("Type", ""))
    action = str(event.get("Action", ""))
    actor = event.get("Actor") or {}
    actor_id = str(actor.get("ID", ""))
    attrs = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
    if not _any(f.get("type"), kind):
        return False
    if not _any(f.get("event"), action, action.split(":", 1)[0]):
        return False
    if not _any(f.get("scope"), str(event.get("scope", ""))):
        return False
    if f.get("container") and not (kind == "container" and _prefix_any(f["container"], actor_id,
                                                                         attrs.get("name", ""))):
        return False
    if f.get("image"):
        image = attrs.get("image", "") if kind == "container" else actor_id
        if not _any(f["image"], image, image.split(":", 1)[0], attrs.get("name", "")):
            return False
    for key in ("network", "volume", "daemon", "plugin"):
        if f.get(key) and not (kind == key and _any(f[key], actor_id, attrs.get("name", ""))):
            return False
    return _matches_label(f.get("label"), attrs)


def _prefix_any(wanted: list[str], actor_id: str, name: str) -> bool:
    return any(w and (w == name or actor_id.startswith(w)) for w in wanted)


async def stream(bus: EventBus, since: str | None, until: str | None,
                 filters: str | None) -> AsyncIterator[dict[str, Any]]:
    """Validate now; the returned iterator yields history then live events until ``until``."""
    since_ns = _bound(since, "since")
    until_ns = _bound(until, "until")
    f = parse_filters(filters)
    now = timefmt.now_ns()

    async def events() -> AsyncIterator[dict[str, Any]]:
        # subscribe before replaying, so nothing published meanwhile is lost (duplicates are skipped)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE)
        bus._subscribers.add(queue)
        try:
            replay = [e for e in list(bus.history) if since_ns and e["timeNano"] >= since_ns]
            seen = {id(e) for e in replay}
            for event in replay:
                if until_ns and event["timeNano"] > until_ns:
                    return
                if matches(event, f):
                    yield event
            if until_ns and until_ns <= now:
                return
            while True:
                if until_ns:
                    remaining = (until_ns - timefmt.now_ns()) / 1e9
                    if remaining <= 0:
                        return
                    try:
                        event = await asyncio.wait_for(queue.get(), remaining)
                    except TimeoutError:
                        return
                else:
                    event = await queue.get()
                if id(event) in seen:
                    continue
                if until_ns and event["timeNano"] > until_ns:
                    return
                if matches(event, f):
                    yield event
        finally:
            bus._subscribers.discard(queue)

    return events()
