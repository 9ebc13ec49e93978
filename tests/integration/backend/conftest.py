"""A real skiffd (supervising its skiff-containerd) on a temporary socket and data root, with busybox
loaded from the reference Docker's ``docker save``; the docker CLI and docker-py drive it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from backend_support import REF_DOCKER, Skiffd
from skiff.engine.backend.networks import remove_daemon_network


@pytest.fixture(scope="session")
def busybox_save(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("docker") is None or not os.path.exists(REF_DOCKER.removeprefix("unix://")):
        pytest.skip("needs the docker CLI and the reference docker")
    dest = tmp_path_factory.mktemp("save") / "busybox-save.tar"
    subprocess.run(
        ["docker", "-H", REF_DOCKER, "save", "busybox:latest", "-o", str(dest)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dest


@pytest.fixture(scope="module")
def skiffd(tmp_path_factory: pytest.TempPathFactory, busybox_save: Path) -> Iterator[Skiffd]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    root = tmp_path_factory.mktemp("skiffd")
    daemon = Skiffd(root, root / "skiff.sock", root / "skiffd.log")
    daemon.start()
    try:
        out = daemon.docker("load", "-i", str(busybox_save))
        assert out.stdout.decode() == "Loaded image: busybox:latest\n"
        yield daemon
    finally:
        daemon.remove_all_containers()
        daemon.stop()
        remove_daemon_network(root / "data", root / "exec")  # its private bridge and nftables table
