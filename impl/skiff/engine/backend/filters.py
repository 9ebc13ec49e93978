"""Docker's ``filters`` query parameter: parsing and the matchers container and image lists use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from skiff import errdefs

Filters = dict[str, list[str]]


def parse(raw: str | None) -> Filters:
    """Accept ``{"k": ["v"]}`` and the legacy ``{"k": {"v": true}}`` forms."""
    if not raw:
        return {}
    try:
        obj = json.loads(raw)
    except ValueError as err:
        # dockerd answers 500 with its JSON decoder's message here
        raise errdefs.Unknown(f"invalid filter: {err}") from None
    if not isinstance(obj, dict):
        raise errdefs.InvalidArgument("invalid filter: expected a JSON object")
    out: Filters = {}
    for key, value in obj.items():
        if isinstance(value, list):
            out[str(key)] = [str(v) for v in value]
        elif isinstance(value, dict):
            out[str(key)] = [str(k) for k, v in value.items() if v]
        else:
            raise errdefs.InvalidArgument(f"invalid filter value for {key!r}")
    return out


def validate(filters: Mapping[str, list[str]], accepted: Iterable[str]) -> None:
    allowed = set(accepted)
    for key in filters:
        if key not in allowed:
            raise errdefs.InvalidArgument(f"Invalid filter '{key}'")


def match_regex(values: list[str], source: str) -> bool:
    """filters.Match: any value, as an unanchored regular expression, matches ``source``."""
    if not values:
        return True
    for value in values:
        try:
            if re.search(value, source):
                return True
        except re.error:
            if value in source:
                return True
    return False


def match_labels(values: list[str], labels: Mapping[str, str] | None) -> bool:
    """filters.MatchKVList: every ``key`` or ``key=value`` must hold."""
    if not values:
        return True
    labels = labels or {}
    for value in values:
        key, sep, want = value.partition("=")
        if key not in labels:
            return False
        if sep and labels[key] != want:
            return False
    return True


def match_not_labels(values: list[str], labels: Mapping[str, str] | None) -> bool:
    """``label!=key`` / ``label!=key=value`` as prune accepts it: none may hold."""
    labels = labels or {}
    for value in values:
        key, sep, want = value.partition("=")
        if key in labels and (not sep or labels[key] == want):
            return False
    return True
