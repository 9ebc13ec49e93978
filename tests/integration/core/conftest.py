"""Fixtures for core integration tests: root only, everything under a temp dir that is unmounted after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from core_support import BUSYBOX, build_busybox_rootfs_tar, unmount_under


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root")
        here = Path(__file__).parent
        for item in items:
            if "root" in item.keywords and here in item.path.parents:
                item.add_marker(skip)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    unmount_under(tmp_path)


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BUSYBOX.exists():
        pytest.skip("needs /bin/busybox (busybox-static)")
    return build_busybox_rootfs_tar(tmp_path_factory.mktemp("busybox") / "rootfs.tar")


REF_DOCKER = "unix:///var/run/docker-ref.sock"


@pytest.fixture(scope="session")
def docker_save_tar(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """``docker save busybox:latest`` from the reference daemon, and that image's ID and Size."""
    import shutil
    import subprocess

    if shutil.which("docker") is None or not os.path.exists(REF_DOCKER.removeprefix("unix://")):
        pytest.skip("needs the reference docker")
    dest = tmp_path_factory.mktemp("save") / "busybox-save.tar"
    try:
        subprocess.run(["docker", "-H", REF_DOCKER, "save", "busybox:latest", "-o", str(dest)], check=True,
                       capture_output=True, timeout=120)
        inspect = ["docker", "-H", REF_DOCKER, "image", "inspect", "busybox:latest",
                   "--format", "{{.Id}} {{.Size}}"]
        out = subprocess.run(inspect, check=True, capture_output=True, text=True, timeout=60)
        image_id, size = out.stdout.split()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"reference docker cannot save busybox: {err}")
    return dest, image_id, int(size)
