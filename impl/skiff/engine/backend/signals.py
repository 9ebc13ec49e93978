"""Signal names and numbers as ``docker kill --signal`` accepts them."""

from __future__ import annotations

import signal

from skiff import errdefs


def parse(value: str | int | None, default: int = signal.SIGKILL) -> int:
    """``KILL``, ``SIGKILL``, ``9`` -> 9; anything else raises Docker's "Invalid signal"."""
    if value is None or value == "":
        return default
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if text.isdigit():
            number = int(text)
        else:
            name = text.upper()
            name = name if name.startswith("SIG") else "SIG" + name
            try:
                number = int(signal.Signals[name])
            except KeyError:
                raise errdefs.InvalidArgument(f"Invalid signal: {value}") from None
    if number <= 0 or number > 64:
        raise errdefs.InvalidArgument(f"Invalid signal: {value}")
    return number
