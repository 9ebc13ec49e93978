"""The snapshotter test suite, run against every implementation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from skiff.core.snapshots import testsuite
from skiff.core.snapshots.native import NativeSnapshotter
from skiff.core.snapshots.overlay import OverlaySnapshotter
from skiff.core.snapshots.snapshotter import Snapshotter

pytestmark = pytest.mark.root

IMPLEMENTATIONS: dict[str, Callable[[Path], Snapshotter]] = {
    "overlay": OverlaySnapshotter,
    "native": NativeSnapshotter,
}


@pytest.mark.parametrize("check", sorted(testsuite.CHECKS))
@pytest.mark.parametrize("impl", sorted(IMPLEMENTATIONS))
def test_snapshotter(impl: str, check: str, workdir: Path) -> None:
    sn = IMPLEMENTATIONS[impl](workdir / "root")
    try:
        testsuite.CHECKS[check](sn, workdir / "work")
    finally:
        sn.close()
