"""Fixtures for shim integration tests: real shims over real runtimes (runc, and skiff-runc once it works)."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from shim_bundles import make_bundle, make_rootfs
from shim_support import Container, cleanup

RUNC = Path("/usr/sbin/runc")
SKIFF_RUNC = Path(sys.executable).parent / "skiff-runc"


@functools.cache
def _skiff_runc_works() -> bool:
    if not SKIFF_RUNC.exists():
        return False
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        root = Path("/run/skiff-shim-test-probe")
        proc = subprocess.run([str(SKIFF_RUNC), "--root", str(root), "list"], capture_output=True, timeout=10)
        shutil.rmtree(root, ignore_errors=True)
        return proc.returncode == 0
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "runtime" in metafunc.fixturenames:
        params = [pytest.param(RUNC, id="runc")]
        marks = [] if _skiff_runc_works() else [pytest.mark.skip(reason="skiff-runc does not work yet")]
        params.append(pytest.param(SKIFF_RUNC, id="skiff-runc", marks=marks))
        metafunc.parametrize("runtime", params)


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    dest = tmp_path_factory.mktemp("busybox") / "rootfs"
    make_rootfs(dest)
    yield dest
    for ctrl in Path("/sys/fs/cgroup").iterdir():
        with contextlib.suppress(OSError):
            (ctrl / "skiff-shim-test").rmdir()


@pytest.fixture
def containers(tmp_path: Path, rootfs_template: Path, runtime: Path) -> Iterator[Callable[..., Container]]:
    made: list[Container] = []

    def make(args: list[str], name: str = "") -> Container:
        cid = name or f"shimtest-{uuid.uuid4().hex[:12]}"
        bundle = make_bundle(tmp_path / cid, rootfs_template, cid, args)
        log_path = tmp_path / "logs" / f"{cid}-json.log"
        ctr = Container(cid, bundle, log_path, runtime, tmp_path / "runtime-root")
        made.append(ctr)
        return ctr

    yield make
    for ctr in made:
        cleanup(ctr)
