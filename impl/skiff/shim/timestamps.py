"""Go's RFC3339Nano in UTC, the format Docker uses for log lines and exit times."""

from __future__ import annotations

import time


def rfc3339nano(ns: int | None = None) -> str:
    """Format nanoseconds since the epoch like Go's ``time.RFC3339Nano`` (trailing zeros trimmed, ``Z``)."""
    if ns is None:
        ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac == 0:
        return base + "Z"
    return f"{base}.{frac:09d}".rstrip("0") + "Z"


ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero ``time.Time``: what Docker reports as ``FinishedAt`` before a process has exited."""
