"""``Model``: frozen, typed value classes declared like dataclasses, without importing ``dataclasses``.

Why not ``@dataclass(frozen=True)``: ``import dataclasses`` (which imports ``inspect``, ``re``, ``ast``...)
plus generating methods with ``exec`` for a dozen classes costs ~20 ms, on a ~270 ms ``docker run``
budget that pays for skiff-runc's start-up several times. ``Model`` subclasses are declared exactly like
dataclasses (annotated fields, defaults, ``field(default_factory=...)``) and type checkers treat them as
frozen dataclasses through PEP 681 ``dataclass_transform``; at run time one generic ``__init__`` fills
``__dict__``. Instances are immutable, compare and hash by value, and support ``replace``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Self, TypeVar, dataclass_transform

    _T = TypeVar("_T")
else:
    def dataclass_transform(**_kwargs):  # no-op at run time; typing would cost start-up time
        return lambda cls: cls


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a Model instance."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], _T]) -> _T:
    """``dataclasses.field(default_factory=...)`` for Model fields."""
    return _Factory(default_factory)  # type: ignore[return-value]


_MISSING = object()


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Model:
    _fields: tuple[str, ...] = ()
    _defaults: dict[str, object] = {}  # noqa: RUF012 - replaced per subclass, never mutated

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: list[str] = list(cls._fields)
        defaults = dict(cls._defaults)
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect costs start-up time
        for name, annotation in own.items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")) or name.startswith("_"):
                continue
            if name not in fields:
                fields.append(name)
            value = cls.__dict__.get(name, _MISSING)
            if value is not _MISSING:
                defaults[name] = value
        cls._fields = tuple(fields)
        cls._defaults = defaults

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} positional arguments")
        values = dict(zip(fields, args, strict=False))
        for key, value in kwargs.items():
            if key not in fields or key in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated argument {key!r}")
            values[key] = value
        for name in fields:
            if name not in values:
                default = self._defaults.get(name, _MISSING)
                if default is _MISSING:
                    raise TypeError(f"{type(self).__name__}: missing argument {name!r}")
                values[name] = default.make() if isinstance(default, _Factory) else default
        object.__setattr__(self, "__dict__", {name: values[name] for name in fields})

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[object, ...]:
        return tuple(self.__dict__.values())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values() == self._values()  # type: ignore[attr-defined,unused-ignore]

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({inner})"

    def replace(self, **changes: Any) -> Self:
        return type(self)(**{**self.__dict__, **changes})
