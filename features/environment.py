"""behave hooks: the target switch, the test image, and per-scenario isolation and cleanup.

SKIFF_TARGET=skiff|docker selects the daemon (conformance.target). Each scenario gets a World with a unique
name prefix; after_scenario removes what it made by ID and fails the scenario if anything is left over.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from conformance.harness import api  # noqa: E402
from conformance.harness.world import World  # noqa: E402
from conformance.recorder import session as recorder  # noqa: E402
from conformance.target import target  # noqa: E402
from conformance.wip import count_wip  # noqa: E402
from vm import busybox  # noqa: E402


def before_all(context: Any) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    context.target = target()
    context.target.ensure_running()
    busybox.import_into(context.target.host)
    context.recorder = recorder.start(context.target)  # every step's traffic goes through it from here
    context.tmpdir = tempfile.TemporaryDirectory(prefix="skiff-features-")
    context.rootfs_tar = busybox.build_rootfs_tar(Path(context.tmpdir.name) / "rootfs.tar")
    context.http_client = api.client(context.target.host)
    print(f"target: {context.target.name} at {context.target.host}")


def after_all(context: Any) -> None:
    client = getattr(context, "http_client", None)
    if client is not None:
        client.close()
    if getattr(context, "tmpdir", None) is not None:
        context.tmpdir.cleanup()
    if getattr(context, "target", None) is not None:
        recorder.finish(getattr(context, "recorder", None), context.target, context)
        context.target.stop_if_started()
    tags = " ".join(str(t) for t in (context.config.tags or []))
    if "wip" in tags:
        out = sys.__stdout__ or sys.stdout  # behave captures sys.stdout in hooks
        out.write(f"{count_wip(REPO / 'features')} @wip scenarios skipped (tags: {tags})\n")


def before_scenario(context: Any, scenario: Any) -> None:
    context.world = World(target=context.target, http=context.http_client)
    context.world.values["rootfs"] = str(context.rootfs_tar)


def after_scenario(context: Any, scenario: Any) -> None:
    world: World | None = getattr(context, "world", None)
    if world is None:
        return
    for closer in world.values.get("_closers", []):
        closer()
    left = world.cleanup()
    if left:
        raise AssertionError(f"cleanup of scenario {scenario.name!r} ({world.prefix}) left: {left}")
