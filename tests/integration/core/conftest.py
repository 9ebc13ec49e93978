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


BUSYBOX = Path("/bin/busybox")


def build_busybox_rootfs_tar(dest: Path, gzipped: bool = False) -> Path:
    """A minimal rootfs: /bin/busybox (busybox-static) with an applet symlink for each applet."""
    import io
    import subprocess
    import tarfile

    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    with tarfile.open(dest, "w:gz" if gzipped else "w", format=tarfile.PAX_FORMAT) as tf:
        def add_dir(name: str, mode: int = 0o755) -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, mode, 1_700_000_000
            tf.addfile(ti)

        for d in ("bin", "dev", "etc", "proc", "sys", "root", "var"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        ti = tf.gettarinfo(str(BUSYBOX), "bin/busybox")
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        with open(BUSYBOX, "rb") as f:
            tf.addfile(ti, f)
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mtime = tarfile.SYMTYPE, "busybox", 1_700_000_000
            tf.addfile(link)
        passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        ti = tarfile.TarInfo("etc/passwd")
        ti.size, ti.mode, ti.mtime = len(passwd), 0o644, 1_700_000_000
        tf.addfile(ti, io.BytesIO(passwd))
    return dest


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BUSYBOX.exists():
        pytest.skip("needs /bin/busybox (busybox-static)")
    return build_busybox_rootfs_tar(tmp_path_factory.mktemp("busybox") / "rootfs.tar")
