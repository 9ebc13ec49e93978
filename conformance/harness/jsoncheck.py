"""Check JSON documents the way the scenarios describe them: dotted paths and Docker-ish type names."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from conformance.harness.world import dump

TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def lookup(data: Any, path: str) -> Any:
    """`A.B.0.C` into nested JSON; a key may contain dots if written in brackets: `Labels[a.b]`."""
    for part in re.findall(r"\[([^\]]+)\]|([^.\[\]]+)", path):
        key = part[0] or part[1]
        if isinstance(data, list):
            data = data[int(key)]
        else:
            assert isinstance(data, dict) and key in data, f"{key!r} missing in {dump(data)}"
            data = data[key]
    return data


def check_types(data: Any, table: Any, expand: Callable[[str], str] = str) -> None:
    for row in table:
        value = lookup(data, row["field"])
        wanted = [t.strip() for t in row["type"].split(" or ")]
        ok = False
        for name in wanted:
            types = TYPES[name]
            if isinstance(value, bool) and bool not in types:
                continue
            ok = ok or isinstance(value, types)
        assert ok, f"{row['field']} = {value!r} is not {row['type']}"
        if "matches" in row.headings and row["matches"]:
            assert re.fullmatch(expand(row["matches"]), str(value)), (
                f"{row['field']} = {value!r} !~ {row['matches']!r}"
            )
