"""Go's time formats at the API edge: RFC3339Nano strings, Docker's since/until values, human durations."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

ZERO_TIME = "0001-01-01T00:00:00Z"
_NS = 1_000_000_000

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$"
)


def now_ns() -> int:
    return time.time_ns()


def format_ns(ns: int) -> str:
    """RFC3339Nano in UTC with Go's trimming of trailing zeros in the fraction."""
    secs, frac = divmod(ns, _NS)
    base = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def now() -> str:
    return format_ns(now_ns())


def parse_ns(value: str) -> int:
    """Nanoseconds since the epoch of an RFC3339(Nano) string; the zero time and "" give 0."""
    if not value or value == ZERO_TIME:
        return 0
    m = _RFC3339.match(value)
    if not m:
        raise ValueError(f"invalid RFC3339 time {value!r}")
    year, month, day, hour, minute, sec, frac, zone = m.groups()
    dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(sec), tzinfo=UTC)
    secs = int(dt.timestamp())
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return secs * _NS + int((frac or "0").ljust(9, "0"))


def is_zero(value: str) -> bool:
    return not value or value == ZERO_TIME or value.startswith("0001-01-01T")


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": _NS,
    "m": 60 * _NS,
    "h": 3600 * _NS,
}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(value: str) -> int:
    """Go's time.ParseDuration, in nanoseconds."""
    text = value.strip()
    sign = 1
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(text):
        m = _DURATION.match(text, pos)
        if not m:
            raise ValueError(f"time: invalid duration {value!r}")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if not text:
        raise ValueError(f"time: invalid duration {value!r}")
    return sign * int(total)


def parse_timestamp(value: str, now_value_ns: int | None = None) -> int:
    """A since/until value as Docker accepts it (unix seconds with fraction, RFC3339 or a Go duration ago),
    in nanoseconds since the epoch."""
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d{0,9})?", text):
        secs, _, frac = text.partition(".")
        return int(secs) * _NS + int(frac.ljust(9, "0") if frac else 0)
    if _RFC3339.match(text):
        return parse_ns(text)
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()) * _NS
        except ValueError:
            pass
    duration = parse_go_duration(text)
    base = now_ns() if now_value_ns is None else now_value_ns
    return base - duration


_GO_INT = re.compile(r"[+-]?\d+")
_INT64_MAX = 2**63 - 1


def _go_parse_int(text: str) -> int:
    """strconv.ParseInt(text, 10, 64), with Go's error text."""
    if not _GO_INT.fullmatch(text):
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def parse_unix_timestamp(value: str) -> int:
    """dockerd's ``timetypes.ParseTimestamps`` then ``time.Unix``: ``<seconds>[.<fraction>]`` in
    nanoseconds since the epoch (possibly negative). Only numbers: the CLI converts RFC 3339 times and
    durations before sending them. Each part is a signed Go int64; the fraction is scaled like Go does,
    through a float64."""
    secs_text, dot, frac_text = value.partition(".")
    secs = _go_parse_int(secs_text)
    if not dot:
        return secs * _NS
    frac = _go_parse_int(frac_text)
    return secs * _NS + int(float(frac) * math.pow(10, 9 - len(frac_text)))


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", "3 hours"..."""
    secs = int(seconds)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600 / 24 / 365)} years"
