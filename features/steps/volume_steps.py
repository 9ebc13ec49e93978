"""Steps for host directories that volume scenarios bind (removed after the scenario)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from behave import given


@given('the host directory "{path}" holds a file "{name}" with "{text}"')
def step_host_dir(context: Any, path: str, name: str, text: str) -> None:
    world = context.world
    directory = Path(world.expand(path))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(world.expand(text) + "\n")

    def remove() -> None:
        shutil.rmtree(directory, ignore_errors=True)

    world.values.setdefault("_closers", []).append(remove)
