"""Timestamps in Go's RFC3339Nano form, the way Docker and containerd print them."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339nano(ts: datetime | None = None) -> str:
    """``2026-01-02T03:04:05.123456Z`` (fraction trimmed of trailing zeros, like Go)."""
    ts = (ts or datetime.now(UTC)).astimezone(UTC)
    frac = f"{ts.microsecond:06d}".rstrip("0")
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def now() -> str:
    return rfc3339nano()
