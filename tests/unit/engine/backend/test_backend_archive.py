"""docker cp support: path resolution in the merged layers (symlinks stay inside the root), stats, tars."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.engine.backend import archive, untar

pytestmark = pytest.mark.unit


@pytest.fixture
def layers(tmp_path: Path) -> list[str]:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "d" / "e").mkdir(parents=True)
    (lower / "d" / "e" / "f").write_text("lower")
    (lower / "etc").mkdir()
    (lower / "etc" / "passwd").write_text("root")
    os.symlink("/d/e", lower / "lnk")
    os.symlink("../../etc", lower / "d" / "up")
    os.symlink("/../../../../etc", lower / "escape")
    (upper / "d" / "e").mkdir(parents=True)
    (upper / "d" / "e" / "g").write_text("upper")
    return [str(upper), str(lower)]


def test_visible_prefers_the_upper_layer(layers: list[str]) -> None:
    assert archive.visible(layers, "/d/e/g") == os.path.join(layers[0], "d/e/g")
    assert archive.visible(layers, "/d/e/f") == os.path.join(layers[1], "d/e/f")
    assert archive.visible(layers, "/nope") is None


def test_resolve_follows_links_inside_the_root(layers: list[str]) -> None:
    assert archive.resolve(layers, "/lnk", follow_last=False) == "/lnk"
    assert archive.resolve(layers, "/lnk", follow_last=True) == "/d/e"
    assert archive.resolve(layers, "/lnk/f", follow_last=False) == "/d/e/f"
    assert archive.resolve(layers, "/d/up/passwd", follow_last=False) == "/etc/passwd"
    # an absolute link climbing above / stays at the container's root
    assert archive.resolve(layers, "/escape/passwd", follow_last=False) == "/etc/passwd"
    assert archive.resolve(layers, "/nope/x", follow_last=False) is None


def test_path_stat_like_dockerd(layers: list[str]) -> None:
    _resolved, _host, info = archive.path_stat(layers, "/d", "c1")
    assert info["name"] == "d" and info["mode"] == (1 << 31) | 0o755 and info["linkTarget"] == ""
    _resolved, _host, info = archive.path_stat(layers, "/lnk", "c1")
    assert info["mode"] == (1 << 27) | 0o777 and info["linkTarget"] == "/d/e"
    resolved, _host, info = archive.path_stat(layers, "/lnk/", "c1")
    assert resolved == "/d/e" and info["name"] == "lnk"
    with pytest.raises(errdefs.NotFound, match=r"^Could not find the file /nope in container c1$"):
        archive.path_stat(layers, "/nope", "c1")
    header = archive.stat_header({"name": "d"})
    assert json.loads(base64.b64decode(header)) == {"name": "d"}


def test_go_mode_bits(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("")
    f.chmod(0o4755)
    assert archive.go_mode(f.lstat()) == (1 << 23) | 0o755
    d = tmp_path / "d"
    d.mkdir()
    d.chmod(0o1777)
    assert archive.go_mode(d.lstat()) == (1 << 31) | (1 << 20) | 0o777
    os.mkfifo(tmp_path / "p")
    assert archive.go_mode((tmp_path / "p").lstat()) & (1 << 25)


def test_tar_of_a_merged_directory(layers: list[str]) -> None:
    resolved, host, info = archive.path_stat(layers, "/lnk/", "c1")
    out = io.BytesIO()
    archive.write_tar(layers, resolved, host, info["name"], out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        names = sorted(m.name for m in tar.getmembers())
        g = tar.extractfile("lnk/g")
        assert g is not None and g.read() == b"upper"
    assert names == ["lnk", "lnk/f", "lnk/g"]


def test_whiteout_hides_lower_entries(layers: list[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("whiteouts are character devices: needs root")
    os.mknod(os.path.join(layers[0], "d", "e", "f"), stat.S_IFCHR | 0o600, 0)
    assert archive.visible(layers, "/d/e/f") is None
    assert archive.subtree_layers(layers, "/d/e") == [
        os.path.join(layers[0], "d/e"),
        os.path.join(layers[1], "d/e"),
    ]


def _tar(*members: tuple[str, str, str]) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(target)
                tar.addfile(info, io.BytesIO(target.encode()))
                continue
            kinds = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "dir": tarfile.DIRTYPE}
            info.type = kinds[kind]
            info.linkname = target
            tar.addfile(info)
    return data.getvalue()


def test_untar_paths_are_gos() -> None:
    assert untar.clean("//a/../b/") == "/b"
    assert untar.clean("") == "."
    assert untar.clean("../../x") == "../../x"
    assert untar.join("/tmp", "../../../../etc/x") == "/etc/x"
    assert untar.join("/tmp", "/etc/x") == "/tmp/etc/x"


@pytest.mark.parametrize(
    ("members", "dest", "error", "inside"),
    [
        ([("../../etc/x", "file", "x")], "/tmp/d", '"../../etc/x" is outside of "/tmp/d"', None),
        ([("../../../../tmp/y", "file", "x")], "/tmp", None, "tmp/y"),
        ([("/etc/abs", "file", "x")], "/tmp", None, "tmp/etc/abs"),
        ([("up", "symlink", "../../etc")], "/tmp", 'invalid symlink "/tmp/up" -> "../../etc"', None),
        ([("esc", "symlink", "/"), ("esc/through", "file", "x")], "/tmp", None, "through"),
        ([("hl", "hardlink", "/etc/hostname")], "/tmp",
         "link /tmp/etc/hostname /tmp/hl: no such file or directory", None),
        ([("hl", "hardlink", "../etc/hostname")], "/tmp",
         'invalid hardlink "/etc/hostname" -> "../etc/hostname"', None),
    ],
)
def test_put_stays_inside_the_root(tmp_path: Path, members: list[tuple[str, str, str]], dest: str,
                                   error: str | None, inside: str | None) -> None:
    """The helper chroots into the root first, so whatever the tar says lands inside it (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("chroot needs root")
    root = tmp_path / "root"
    for d in ("tmp/d", "etc"):
        (root / d).mkdir(parents=True)
    (root / "etc" / "hostname").write_text("inside\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    coro = archive.put(_tar(*members), dest, str(root), [])
    if error is None:
        asyncio.run(coro)
    else:
        with pytest.raises(errdefs.Unknown) as caught:
            asyncio.run(coro)
        assert str(caught.value) == f"Error processing tar file(exit status 1): {error}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing beside the root
    if inside is not None:
        assert (root / inside).read_text() == "x"
