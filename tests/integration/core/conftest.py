"""Fixtures for core integration tests: root only, everything under a temp dir that is unmounted after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from skiff.core.mount import unmount_all


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root")
        for item in items:
            if "root" in item.keywords:
                item.add_marker(skip)


def unmount_under(root: Path) -> None:
    """Unmount every mount point below ``root`` (deepest first) so a failed test leaves nothing mounted."""
    prefix = os.path.realpath(root) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        unmount_all(point)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    unmount_under(tmp_path)
