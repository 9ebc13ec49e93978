"""Fixtures for skiff-runc integration tests: a busybox rootfs, and both runtimes (skiff-runc, runc).

The test process becomes a child subreaper so that container inits (orphaned when ``create`` exits) are
reparented to it and can be reaped by pid, as the shim does.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from runc_bundle import make_rootfs
from runc_support import Runtime

SKIFF_RUNC = str(Path(sys.executable).with_name("skiff-runc"))
REAL_RUNC = "/usr/sbin/runc"
PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(scope="session", autouse=True)
def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")


@pytest.fixture(scope="session")
def subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("cannot become a child subreaper")


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("busybox") / "rootfs"
    make_rootfs(path)
    return path


@pytest.fixture(params=["skiff-runc", "runc"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path, rootfs: Path,
            subreaper: None) -> Iterator[Runtime]:
    binary = SKIFF_RUNC if request.param == "skiff-runc" else REAL_RUNC
    if not os.path.exists(binary):
        pytest.skip(f"{binary} not installed")
    rt = Runtime(request.param, binary, tmp_path / "state", tmp_path / "bundles", rootfs)
    try:
        yield rt
    finally:
        rt.cleanup()


@pytest.fixture
def skiff(request: pytest.FixtureRequest, tmp_path: Path, rootfs: Path, subreaper: None) -> Iterator[Runtime]:
    rt = Runtime("skiff-runc", SKIFF_RUNC, tmp_path / "state", tmp_path / "bundles", rootfs)
    try:
        yield rt
    finally:
        rt.cleanup()
