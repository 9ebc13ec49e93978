"""What a local volume carries beside its data: labels and driver options, in ``<root>/<name>/opts.json``
(where dockerd's local driver keeps its options), plus the list/prune/df views of the volume store."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.engine.backend import filters as filters_mod

LIST_FILTERS = ("dangling", "driver", "label", "name")
PRUNE_FILTERS = ("label", "label!", "all")
LOCAL_OPTS = ("type", "device", "o", "size")


def _opts_path(store: Any, name: str) -> Path:
    return Path(store.root) / name / "opts.json"


def save(store: Any, name: str, labels: dict[str, str] | None, options: dict[str, str] | None) -> None:
    for key in options or {}:
        if key not in LOCAL_OPTS:
            raise errdefs.InvalidArgument(f"create {name}: invalid option key: {key!r}")
    if options and "type" in options and "device" not in options:
        raise errdefs.InvalidArgument(f'create {name}: missing required option: "device"')
    path = _opts_path(store, name)
    tmp = path.with_name(".opts.json")
    tmp.write_text(json.dumps({"Labels": labels or None, "Options": options or None}))
    os.replace(tmp, path)


def load(store: Any, name: str) -> dict[str, Any]:
    try:
        return dict(json.loads(_opts_path(store, name).read_text()))
    except (OSError, ValueError):
        return {}


def describe(store: Any, name: str) -> dict[str, Any]:
    """``store.inspect`` with the labels and options of the volume."""
    out = dict(store.inspect(name))
    meta = load(store, name)
    out["Labels"] = meta.get("Labels") or (out.get("Labels") or {})
    out["Options"] = meta.get("Options") or out.get("Options")
    return out


def _go_json_error(raw: str | None) -> str:
    """Go's json.Unmarshal message for `raw` (found by conformance/fuzz: Skiff answered 500)."""
    from skiff.engine import gojson

    try:
        gojson.check_valid((raw or "").encode())
    except gojson.GoJSONError as err:
        return str(err)
    return "invalid filter"


def listing(store: Any, users: Any, raw_filters: str | None) -> list[dict[str, Any]]:
    try:
        f = filters_mod.parse(raw_filters)
    except errdefs.Unknown:  # volume list (unlike the other lists) answers a filters that is no JSON 400
        message = _go_json_error(raw_filters)
        raise errdefs.InvalidArgument(f"error reading volume filters: {message}") from None
    filters_mod.validate(f, LIST_FILTERS)
    out = []
    for name in store.names():
        v = describe(store, name)
        if f.get("name") and not any(x in name for x in f["name"]):
            continue
        if f.get("driver") and v["Driver"] not in f["driver"]:
            continue
        if f.get("dangling"):
            want = f["dangling"][0].lower() in ("1", "true")
            if want != (not users(name)):
                continue
        if not filters_mod.match_labels(f.get("label", []), v["Labels"]):
            continue
        out.append(v)
    return out


def prune(store: Any, users: Any, raw_filters: str | None) -> tuple[list[str], int]:
    """Unused volumes go (API 1.39: named ones too), with their reclaimed bytes."""
    f = filters_mod.parse(raw_filters)
    filters_mod.validate(f, PRUNE_FILTERS)
    deleted, reclaimed = [], 0
    for name in store.names():
        if users(name):
            continue
        labels = load(store, name).get("Labels") or {}
        if not filters_mod.match_labels(f.get("label", []), labels):
            continue
        if not filters_mod.match_not_labels(f.get("label!", []), labels):
            continue
        size = dir_size(Path(store.mountpoint(name)))
        with contextlib.suppress(errdefs.SkiffError, OSError):
            store.remove(name, [], force=True)
            deleted.append(name)
            reclaimed += size
    return deleted, reclaimed


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


def remove_meta(store: Any, name: str) -> None:
    shutil.rmtree(Path(store.root) / name, ignore_errors=True)
