"""Go's ``strconv.Atoi`` as dockerd applies it to query values: its accepted forms and its error text.

dockerd answers a query integer Atoi refuses with a 500 carrying Go's message (e.g. ``stop?t=e``), so the
engine reproduces both the grammar (optional sign, ASCII digits, 64-bit range) and the words."""

from __future__ import annotations

import re

_INT = re.compile(r"[+-]?[0-9]+")
_MIN, _MAX = -(2**63), 2**63 - 1


def atoi(value: str) -> int:
    """``strconv.Atoi(value)``; ValueError with Go's message (``invalid syntax`` / ``value out of range``)."""
    if not _INT.fullmatch(value):
        raise ValueError(f'strconv.Atoi: parsing "{value}": invalid syntax')
    number = int(value)
    if not _MIN <= number <= _MAX:
        raise ValueError(f'strconv.Atoi: parsing "{value}": value out of range')
    return number
