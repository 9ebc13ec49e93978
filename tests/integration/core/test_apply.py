"""Layer application: OCI whiteouts to overlay whiteouts or removals, streaming diff_id, no escapes."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest
from skiff.core.diff.apply import LayerError, apply_layer, apply_tar, apply_tar_file
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


def crafted_tar(entries: list[tuple[str, str, Any]]) -> bytes:
    """Like make_tar, plus devices and fifos; kind blk|chr take (major, minor)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime, ti.mode = 1_600_000_000, 0o644
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind in ("sym", "link"):
                ti.type, ti.linkname = (tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE), data
            elif kind in ("blk", "chr"):
                ti.type = tarfile.BLKTYPE if kind == "blk" else tarfile.CHRTYPE
                ti.devmajor, ti.devminor = data
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data.encode()))
                continue
            tf.addfile(ti)
    return buf.getvalue()


# (entries, error or None, what the root holds afterwards): dockerd's answers for `docker load` of each
# (checked against the reference 20.10): it unpacks in a chroot of the layer, so nothing leaves the root.
CRAFTED: dict[str, tuple[list[tuple[str, str, Any]], str | None, set[str]]] = {
    "dotdot": ([("../evil", "file", "x")], None, {"evil"}),
    "dotdot_deep": ([("a/../../evil", "file", "x")], None, {"evil"}),
    "absolute": ([("/abs_evil", "file", "x")], None, {"abs_evil"}),
    "sym_abs_write": ([("tmp/", "dir", ""), ("lnk", "sym", "/tmp"), ("lnk/evil", "file", "x")], None,
                      {"tmp", "tmp/evil", "lnk"}),
    "sym_abs_write_nodir": ([("lnk", "sym", "/tmp"), ("lnk/evil", "file", "x")],
                            "open /lnk/evil: no such file or directory", set()),
    "sym_rel_escape": ([("lnk", "sym", "../../../../tmp")], None, {"lnk"}),
    "sym_rel_escape_write": ([("lnk", "sym", "../../../../tmp"), ("lnk/evil", "file", "x")],
                             "open /lnk/evil: no such file or directory", set()),
    "sym_then_same_name": ([("passwd", "sym", "/etc/passwd"), ("passwd", "file", "pwned")],
                           "Error processing tar file(duplicates of file paths not supported): ", set()),
    "hard_escape": ([("hard", "link", "../../etc/passwd")],
                    "link /etc/passwd /hard: no such file or directory", set()),
    "hard_via_sym": ([("a", "sym", "/etc"), ("hard", "link", "a/passwd")],
                     "link /a/passwd /hard: no such file or directory", set()),
    "hard_via_sym_inside": ([("etc/", "dir", ""), ("etc/passwd", "file", "p"), ("a", "sym", "/etc"),
                             ("hard", "link", "a/passwd")], None, {"etc", "etc/passwd", "a", "hard"}),
    "hard_forward": ([("hard", "link", "later"), ("later", "file", "x")],
                     "link /later /hard: no such file or directory", set()),
    "devices": ([("dev/", "dir", ""), ("dev/sda", "blk", (8, 0)), ("dev/fifo", "fifo", "")], None,
                {"dev", "dev/sda", "dev/fifo"}),
    "wh_dotdot": ([("d/", "dir", ""), ("d/.wh...", "file", "")],
                  'failed to mknod("/", S_IFCHR, 0): file exists', set()),
    "wh_dotdot_root": ([(".wh...", "file", "")], 'failed to mknod("/", S_IFCHR, 0): file exists', set()),
    "wh_dot": ([("d/", "dir", ""), ("d/.wh..", "file", "")],
               'failed to mknod("/d", S_IFCHR, 0): file exists', set()),
    "wh_escape": ([("../.wh.evil", "file", "")], None, {"evil"}),
    "wh_via_sym": ([("etc/", "dir", ""), ("lnk", "sym", "/"), ("lnk/.wh.etc", "file", "")],
                   'failed to mknod("/lnk/etc", S_IFCHR, 0): file exists', set()),
    "opq_via_sym": ([("etc/", "dir", ""), ("lnk", "sym", "/etc"), ("lnk/.wh..wh..opq", "file", "")], None,
                    {"etc", "lnk"}),
}


def _tree(top: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), top)] = (st.st_ino, st.st_nlink)
    return out


def _apply(data: bytes, root: Path, overlay: bool, on_disk: bool) -> None:
    """Through the stream (hashing) path, or the on-disk path that copies file data in the kernel."""
    if not on_disk:
        apply_tar(io.BytesIO(data), root, overlay=overlay)
        return
    blob = root.parent / "blob.tar"
    blob.write_bytes(data)
    try:
        with open(blob, "rb") as f:
            res = apply_tar_file(f, root, "sha256:" + hashlib.sha256(data).hexdigest(), overlay=overlay)
        assert res.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    finally:
        blob.unlink()


@pytest.mark.parametrize("on_disk", [False, True], ids=["stream", "file"])
@pytest.mark.parametrize("overlay", [True, False], ids=["overlay", "bind"])
@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_layers_stay_in_the_root(workdir: Path, case: str, overlay: bool, on_disk: bool) -> None:
    """Nothing is created, removed or linked outside the root; the answer is dockerd's."""
    entries, error, kept = CRAFTED[case]
    root = workdir / "a" / "b" / "root"
    root.mkdir(parents=True)
    for d in (workdir / "tmp", workdir / "etc", workdir / "a" / "etc"):
        d.mkdir()
        (d / "passwd").write_text("host")
    before = {k: v for k, v in _tree(workdir).items() if not k.startswith("a/b/root")}
    passwd_links = os.stat("/etc/passwd").st_nlink
    if error is None:
        _apply(crafted_tar(entries), root, overlay, on_disk)
        got = {os.path.relpath(os.path.join(d, n), root) for d, ds, fs in os.walk(root) for n in ds + fs}
        if not overlay and case == "wh_escape":
            kept = set()  # a real removal, not an overlay whiteout device
        assert got == kept
    else:
        with pytest.raises(LayerError) as err:
            _apply(crafted_tar(entries), root, overlay, on_disk)
        assert str(err.value).endswith(error), str(err.value)
    after = {k: v for k, v in _tree(workdir).items() if not k.startswith("a/b/root")}
    assert after == before
    assert os.stat("/etc/passwd").st_nlink == passwd_links
    assert not any(os.path.lexists(p) for p in ("/evil", "/abs_evil", "/tmp/evil"))


def test_a_header_promising_a_terabyte_fails_with_unexpected_eof(workdir: Path) -> None:
    info = tarfile.TarInfo("big")
    info.size = 1 << 40
    data = info.tobuf(tarfile.GNU_FORMAT) + b"x" * 1024
    with pytest.raises(LayerError, match=r"\(exit status 1\): unexpected EOF$"):
        apply_tar(io.BytesIO(data), workdir)
    assert os.path.getsize(workdir / "big") <= 1024  # streamed: never more than what came


def test_garbage_is_refused(workdir: Path) -> None:
    with pytest.raises(LayerError):
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


def test_the_on_disk_path_copies_file_data_exactly(workdir: Path) -> None:
    payload = os.urandom(3 << 20) + b"tail"
    data = make_tar([("d/", "dir", b""), ("d/big", "file", payload), ("small", "file", "s"),
                     ("h", "link", "small")])
    blob, root = workdir / "blob.tar", workdir / "root"
    blob.write_bytes(data)
    root.mkdir()
    with open(blob, "rb") as f:
        diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
        res = apply_layer(f, [Mount("bind", str(root), ("rbind",))], diff_id)
    assert (root / "d" / "big").read_bytes() == payload and (root / "small").read_text() == "s"
    assert res.size == len(payload) + 1 and os.lstat(root / "h").st_ino == os.lstat(root / "small").st_ino
