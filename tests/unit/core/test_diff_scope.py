"""Path resolution of layer members inside a root, as the kernel resolves them inside chroot(root)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from skiff.core.diff.scope import chroot_name, go_clean, go_strerror, mkdir_all, resolve

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("name", "want"), [
    ("a/b", "/a/b"), ("./a//b/", "/a/b"), ("../evil", "/evil"), ("a/../../evil", "/evil"),
    ("/abs", "/abs"), ("//abs", "/abs"), (".", "/"), ("", "/"), ("../..", "/"),
])
def test_chroot_name(name: str, want: str) -> None:
    assert chroot_name(name) == want


@pytest.mark.parametrize(("name", "want"), [
    ("a/", "a"), ("./a", "a"), ("//a", "/a"), ("../x", "../x"), ("", "."), ("a/b/..", "a"),
])
def test_go_clean(name: str, want: str) -> None:
    assert go_clean(name) == want


def test_go_strerror_is_lower_case_like_go() -> None:
    assert go_strerror(errno.ENOENT) == "no such file or directory"
    assert go_strerror(errno.EEXIST) == "file exists"


@pytest.fixture
def root(tmp_path: Path) -> str:
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("p")
    os.symlink("/etc", r / "abs")  # absolute: starts at the root
    os.symlink("../../../../..", r / "up")  # climbs: stops at the root
    os.symlink("/", r / "slash")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    os.symlink("/nowhere", r / "dangling")
    return os.path.realpath(r)


@pytest.mark.parametrize(("name", "follow", "want"), [
    ("etc/passwd", True, "etc/passwd"),
    ("abs/passwd", True, "etc/passwd"),
    ("up/etc/passwd", True, "etc/passwd"),
    ("slash/slash/abs", True, "etc"),
    ("slash/abs", False, "abs"),
    ("../../etc", True, "etc"),
    ("/etc/../../..", True, ""),
    ("missing/x", True, "missing/x"),
    ("dangling/x", True, "nowhere/x"),
    ("abs/../etc/passwd", True, "etc/passwd"),
])
def test_resolve_stays_in_the_root(root: str, name: str, follow: bool, want: str) -> None:
    got = resolve(root, name, follow_last=follow)
    assert got == os.path.join(root, want) if want else got == root
    assert got == root or got.startswith(root + os.sep)


def test_resolve_reports_a_symlink_loop(root: str) -> None:
    with pytest.raises(OSError) as err:
        resolve(root, "loop1/x")
    assert err.value.errno == errno.ELOOP


def test_mkdir_all_follows_links_inside_the_root(root: str) -> None:
    mkdir_all(root, "/slash/new/deeper", 0o755)
    assert os.path.isdir(os.path.join(root, "new", "deeper"))
    mkdir_all(root, "/up/up/other", 0o755)
    assert os.path.isdir(os.path.join(root, "other"))


def test_mkdir_all_leaves_an_existing_dangling_link_for_the_open_to_fail(root: str) -> None:
    mkdir_all(root, "/dangling", 0o755)
    assert not os.path.exists(os.path.join(root, "nowhere"))


def test_mkdir_all_refuses_a_file_in_the_way(root: str) -> None:
    with pytest.raises(OSError) as err:
        mkdir_all(root, "/etc/passwd/x", 0o755)
    assert err.value.filename == "/etc/passwd"
