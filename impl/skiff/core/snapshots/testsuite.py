"""The behaviour every Snapshotter must show; tests run each check against every implementation.

Checks mount what the snapshotter returns (they need root), so they observe snapshots exactly as a task
would, never by peeking into the implementation's directories.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from skiff import errdefs
from skiff.core.mount import mount_all, unmount_all
from skiff.core.snapshots.snapshotter import Kind, Snapshotter

Check = Callable[[Snapshotter, Path], None]


@contextlib.contextmanager
def mounted(sn: Snapshotter, key: str, where: Path) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mount_all(sn.mounts(key), where)
    try:
        yield where
    finally:
        unmount_all(where)


def _expect(exc: type[errdefs.SkiffError], fn: Callable[[], object]) -> None:
    try:
        fn()
    except exc:
        return
    raise AssertionError(f"expected {exc.__name__}")


def check_prepare_commit_chain(sn: Snapshotter, work: Path) -> None:
    sn.prepare("base-active")
    with mounted(sn, "base-active", work / "m") as m:
        (m / "a").write_text("one")
        (m / "dir").mkdir()
        (m / "dir" / "b").write_text("two")
    sn.commit("base", "base-active")
    assert sn.stat("base").kind == Kind.COMMITTED
    _expect(errdefs.NotFound, lambda: sn.stat("base-active"))

    sn.prepare("child", "base")
    assert sn.stat("child").parent == "base"
    with mounted(sn, "child", work / "m") as m:
        assert (m / "a").read_text() == "one"
        (m / "a").write_text("changed")
        (m / "dir" / "b").unlink()
        (m / "c").write_text("three")
    sn.commit("top", "child")

    sn.view("v", "top")
    with mounted(sn, "v", work / "m") as m:
        assert (m / "a").read_text() == "changed"
        assert not (m / "dir" / "b").exists()
        assert (m / "c").read_text() == "three"
    sn.view("v0", "base")
    with mounted(sn, "v0", work / "m") as m:
        assert (m / "a").read_text() == "one", "a parent is never changed by its child"
        assert (m / "dir" / "b").read_text() == "two"
        assert not (m / "c").exists()
    keys = {i.key for i in sn.walk()}
    assert keys == {"base", "top", "v", "v0"}, keys


def check_view_is_readonly(sn: Snapshotter, work: Path) -> None:
    sn.prepare("a")
    sn.commit("A", "a")
    sn.view("v", "A")
    assert sn.stat("v").kind == Kind.VIEW
    with mounted(sn, "v", work / "m") as m:
        try:
            (m / "x").write_text("nope")
        except OSError:
            pass
        else:
            raise AssertionError("a view must be read-only")


def check_errors(sn: Snapshotter, work: Path) -> None:
    sn.prepare("a")
    _expect(errdefs.AlreadyExists, lambda: sn.prepare("a"))
    _expect(errdefs.NotFound, lambda: sn.prepare("b", "missing"))
    _expect(errdefs.NotFound, lambda: sn.stat("missing"))
    _expect(errdefs.NotFound, lambda: sn.mounts("missing"))
    _expect(errdefs.NotFound, lambda: sn.remove("missing"))
    _expect(errdefs.InvalidArgument, lambda: sn.prepare("b", "a"))  # parent must be committed
    sn.commit("A", "a")
    _expect(errdefs.FailedPrecondition, lambda: sn.commit("B", "A"))
    sn.prepare("c", "A")
    _expect(errdefs.FailedPrecondition, lambda: sn.remove("A"))
    sn.remove("c")
    sn.remove("A")
    assert list(sn.walk()) == []


def check_usage(sn: Snapshotter, work: Path) -> None:
    sn.prepare("a")
    sn.commit("A", "a")
    sn.prepare("b", "A")
    before = sn.usage("b").size
    with mounted(sn, "b", work / "m") as m:
        (m / "blob").write_bytes(os.urandom(100_000))
    assert sn.usage("b").size - before >= 100_000


def check_remove_cleans_up(sn: Snapshotter, work: Path) -> None:
    sn.prepare("a")
    with mounted(sn, "a", work / "m") as m:
        (m / "f").write_text("x")
    sn.remove("a")
    sn.prepare("a")
    with mounted(sn, "a", work / "m") as m:
        assert not (m / "f").exists(), "a new snapshot with a reused key starts empty"


CHECKS: dict[str, Check] = {
    "prepare_commit_chain": check_prepare_commit_chain,
    "view_is_readonly": check_view_is_readonly,
    "errors": check_errors,
    "usage": check_usage,
    "remove_cleans_up": check_remove_cleans_up,
}
