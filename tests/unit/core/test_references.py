from __future__ import annotations

import pytest
from skiff import errdefs
from skiff.core.images import references

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("ref", "full", "familiar"), [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
    ("localhost:5000/a/b", "localhost:5000/a/b:latest", "localhost:5000/a/b:latest"),
    ("quay.io/x/y:z", "quay.io/x/y:z", "quay.io/x/y:z"),
    ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64,
     "busybox@sha256:" + "a" * 64),
])
def test_normalise_and_familiar(ref: str, full: str, familiar: str) -> None:
    r = references.normalise(ref)
    assert str(r) == full
    assert r.familiar() == familiar
    assert references.familiar(full) == familiar


@pytest.mark.parametrize("bad", ["", "Busybox", "a b", "busybox:", "x:bad tag", ":tag", "a/../b", "a" * 64])
def test_invalid(bad: str) -> None:
    with pytest.raises(errdefs.InvalidArgument):
        references.normalise(bad)
