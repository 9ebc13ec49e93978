"""Layer application: OCI whiteouts to overlay whiteouts or removals, streaming diff_id, no escapes."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.core.diff.apply import apply_layer, apply_tar
from skiff.core.mount import Mount, mount, unmount_all
from skiff.core.snapshots.native import NativeSnapshotter
from skiff.core.snapshots.overlay import OverlaySnapshotter
from skiff.core.snapshots.testsuite import mounted

pytestmark = pytest.mark.root


def make_tar(entries: list[tuple[str, str, bytes | str]]) -> bytes:
    """entries: (name, kind, data) with kind file|dir|sym|link."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1_600_000_000
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, str(data)
                tf.addfile(ti)
            elif kind == "link":
                ti.type, ti.linkname = tarfile.LNKTYPE, str(data)
                tf.addfile(ti)
            else:
                payload = data if isinstance(data, bytes) else data.encode()
                ti.size, ti.mode, ti.uid, ti.gid = len(payload), 0o640, 1000, 1001
                tf.addfile(ti, io.BytesIO(payload))
    return buf.getvalue()


def populate(root: Path) -> None:
    (root / "d").mkdir(parents=True)
    (root / "e").mkdir()
    (root / "a").write_text("a")
    (root / "d" / "x").write_text("x")
    (root / "d" / "y").write_text("y")
    (root / "e" / "z").write_text("z")
    (root / "keep").write_text("keep")


LAYER = [
    (".wh.a", "file", b""),
    ("d/", "dir", b""),
    ("d/.wh..wh..opq", "file", b""),
    ("d/new", "file", "new"),
    ("e/", "dir", b""),
    ("e/.wh.z", "file", b""),
    ("f", "file", "ffff"),
    ("hard", "link", "f"),
    ("sym", "sym", "f"),
]


def test_overlay_whiteouts(workdir: Path) -> None:
    lower, upper, work, merged = (workdir / n for n in ("lower", "upper", "work", "merged"))
    for p in (upper, work, merged):
        p.mkdir()
    populate(lower)
    data = make_tar(LAYER)
    res = apply_tar(io.BytesIO(data), upper, [lower], overlay=True)
    assert res.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert res.size == len("new") + len("ffff") + len("f")  # files and symlink targets, like Docker
    st = os.lstat(upper / "a")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert os.getxattr(upper / "d", "trusted.overlay.opaque") == b"y"
    assert stat.S_ISCHR(os.lstat(upper / "e" / "z").st_mode)
    f = os.lstat(upper / "f")
    assert (f.st_uid, f.st_gid, stat.S_IMODE(f.st_mode)) == (1000, 1001, 0o640)
    assert int(f.st_mtime) == 1_600_000_000
    assert os.lstat(upper / "hard").st_ino == f.st_ino
    assert os.readlink(upper / "sym") == "f"

    mount(Mount("overlay", "overlay", (f"lowerdir={lower}", f"upperdir={upper}", f"workdir={work}")), merged)
    try:
        assert sorted(os.listdir(merged)) == ["d", "e", "f", "hard", "keep", "sym"]
        assert os.listdir(merged / "d") == ["new"]
        assert os.listdir(merged / "e") == []
    finally:
        unmount_all(merged)


def test_removal_whiteouts_keep_entries_of_the_same_layer(workdir: Path) -> None:
    root = workdir / "root"
    populate(root)
    layer = [("d/new", "file", "new"), ("d/.wh..wh..opq", "file", b""), (".wh.a", "file", b""),
             (".wh.e", "file", b"")]
    apply_tar(io.BytesIO(make_tar(layer)), root)
    assert sorted(os.listdir(root)) == ["d", "keep"]
    assert os.listdir(root / "d") == ["new"]


def test_gzip_layer_has_the_uncompressed_diff_id(workdir: Path) -> None:
    data = make_tar([("f", "file", "x" * 100_000)])
    res = apply_tar(io.BytesIO(gzip.compress(data)), workdir)
    assert res.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (workdir / "f").read_text() == "x" * 100_000


@pytest.mark.parametrize("entries", [
    [("../evil", "file", "x")],
    [("lnk", "sym", "/tmp"), ("lnk/evil", "file", "x")],
    [("hard", "link", "../../etc/passwd")],
])
def test_entries_cannot_escape_the_root(workdir: Path, entries: list[tuple[str, str, bytes | str]]) -> None:
    root = workdir / "root"
    root.mkdir()
    with pytest.raises(errdefs.InvalidArgument):
        apply_tar(io.BytesIO(make_tar(entries)), root)
    assert not (workdir / "evil").exists()


def test_garbage_is_invalid(workdir: Path) -> None:
    with pytest.raises(errdefs.InvalidArgument):
        apply_tar(io.BytesIO(b"this is not a tar archive" * 100), workdir)


@pytest.mark.parametrize("impl", [OverlaySnapshotter, NativeSnapshotter])
def test_apply_through_snapshot_mounts(workdir: Path, impl: type) -> None:
    sn = impl(workdir / "sn")
    try:
        base = make_tar([("d/", "dir", b""), ("d/x", "file", "x"), ("a", "file", "a")])
        apply_layer(io.BytesIO(base), sn.prepare("l1"))
        sn.commit("L1", "l1")
        top = make_tar([(".wh.a", "file", b""), ("d/y", "file", "y")])
        apply_layer(io.BytesIO(top), sn.prepare("l2", "L1"))
        sn.commit("L2", "l2")
        sn.view("v", "L2")
        with mounted(sn, "v", workdir / "m") as m:
            assert sorted(os.listdir(m)) == ["d"]
            assert sorted(os.listdir(m / "d")) == ["x", "y"]
    finally:
        sn.close()
