"""The tar of a container's own layer for docker commit: OCI whiteouts, opaque dirs, no init-layer paths."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
from skiff.engine.backend.layerdiff import write_diff

pytestmark = pytest.mark.root


def _members(upper: Path) -> dict[str, tarfile.TarInfo]:
    out = io.BytesIO()
    write_diff(str(upper), out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tf:
        return {m.name: m for m in tf.getmembers()}


def test_whiteouts_opaque_dirs_and_hard_links(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "bin").mkdir(parents=True)
    os.mknod(upper / "bin" / "vi", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    (upper / "opq").mkdir(mode=0o750)
    os.setxattr(upper / "opq", "trusted.overlay.opaque", b"y")
    (upper / "opq" / "new").write_text("n")
    (upper / "f").write_text("hello")
    os.link(upper / "f", upper / "g")
    got = _members(upper)
    assert list(got) == ["bin", "bin/.wh.vi", "f", "g", "opq", "opq/.wh..wh..opq", "opq/new"]
    assert got["bin/.wh.vi"].isreg() and got["bin/.wh.vi"].size == 0 and got["bin/.wh.vi"].mode == 0o600
    assert got["opq/.wh..wh..opq"].isreg() and got["opq/.wh..wh..opq"].mode == 0o750
    assert got["g"].islnk() and got["g"].linkname == "f"
    assert got["f"].uname == "" and got["f"].gname == ""


def test_mount_points_of_the_init_layer_are_left_out(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    for d in ("etc", "dev/pts", "proc", "sys"):
        (upper / d).mkdir(parents=True)
    for f in ("etc/hosts", "etc/hostname", "etc/resolv.conf", ".dockerenv", "dev/console"):
        (upper / f).write_text("")
    assert _members(upper) == {}  # /etc only held mount points: not a change
    (upper / "etc" / "motd").write_text("hi")
    assert list(_members(upper)) == ["etc", "etc/motd"]
