"""skiff.oci.model.Model: the frozen value-class base the OCI models use instead of dataclasses."""

from __future__ import annotations

import pytest
from skiff.oci.model import FrozenInstanceError, Model, field
from skiff.oci.runtime import Namespace, Process, User

pytestmark = pytest.mark.unit


class Point(Model):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    extra: list[int] = field(default_factory=list)


class Point3(Point):
    z: int = 5


def test_construct_positional_keyword_defaults() -> None:
    p = Point(1, tags=("a",))
    assert (p.x, p.y, p.tags, p.extra) == (1, 0, ("a",), [])
    assert Point(1).extra is not Point(1).extra
    assert Point3(1, 2).z == 5 and Point3._fields == ("x", "y", "tags", "extra", "z")


def test_frozen() -> None:
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x  # type: ignore[misc]


def test_value_semantics() -> None:
    assert Point(1, 2) == Point(x=1, y=2)
    assert Point(1, 2) != Point(1, 3)
    assert Point(1) != Point3(1)
    assert hash(Namespace("pid")) == hash(Namespace("pid", ""))
    assert repr(Namespace("pid")) == "Namespace(type='pid', path='')"
    assert Namespace("pid").replace(path="/proc/1/ns/pid") == Namespace("pid", "/proc/1/ns/pid")


def test_argument_errors() -> None:
    with pytest.raises(TypeError, match="missing argument 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected or repeated argument 'w'"):
        Point(1, w=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="repeated"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional"):
        Point(1, 2, (), [], 5)  # type: ignore[call-arg]


def test_nested_defaults() -> None:
    p = Process(cwd="/")
    assert p.user == User() and p.args == () and p.capabilities is None
