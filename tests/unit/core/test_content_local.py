from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.core.content.local import LocalStore
from skiff.core.content.store import read_blob, write_blob

pytestmark = pytest.mark.unit


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_write_read_walk_delete(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    d = write_blob(store, b"hello", digest(b"hello"))
    assert d == digest(b"hello")
    assert read_blob(store, d) == b"hello"
    assert store.info(d).size == 5
    assert [i.digest for i in store.walk()] == [d]
    assert write_blob(store, b"hello") == d, "writing existing content again is fine"
    store.delete(d)
    with pytest.raises(errdefs.NotFound):
        store.info(d)
    with pytest.raises(errdefs.NotFound):
        store.read(d)
    with pytest.raises(errdefs.NotFound):
        store.delete(d)


def test_nothing_visible_before_commit(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    w = store.writer()
    w.write(b"part")
    assert list(store.walk()) == []
    with pytest.raises(errdefs.NotFound):
        store.info(digest(b"part"))
    assert w.commit() == digest(b"part")
    assert list(store.ingest_dir.iterdir()) == []


@pytest.mark.parametrize("where", ["writer", "commit"])
def test_bad_digest_is_rejected_and_leaves_nothing(tmp_path: Path, where: str) -> None:
    store = LocalStore(tmp_path)
    wrong = digest(b"other")
    w = store.writer(wrong if where == "writer" else "")
    w.write(b"data")
    with pytest.raises(errdefs.FailedPrecondition):
        w.commit(expected=wrong if where == "commit" else "")
    assert list(store.walk()) == []
    assert list(store.ingest_dir.iterdir()) == []


def test_bad_size_is_rejected(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    w = store.writer()
    w.write(b"data")
    with pytest.raises(errdefs.FailedPrecondition):
        w.commit(size=3)
    assert list(store.walk()) == []


def test_abort_and_invalid_digest(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    w = store.writer()
    w.write(b"x")
    w.abort()
    assert list(store.ingest_dir.iterdir()) == []
    with pytest.raises(errdefs.InvalidArgument):
        store.info("sha256:../../etc/passwd")
    with pytest.raises(errdefs.InvalidArgument):
        store.writer("md5:abc")


def test_stale_ingests_are_dropped_at_open(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    w = store.writer()
    w.write(b"crash")
    LocalStore(tmp_path)
    assert list(store.ingest_dir.iterdir()) == []
    w.abort()
