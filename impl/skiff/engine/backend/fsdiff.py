"""``docker diff``: the changes in a container's writable overlay layer against its image layers."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

MODIFIED, ADDED, DELETED = 0, 1, 2

# Mount points the runtime creates; dockerd hides them in its init layer, so they are not changes.
HIDDEN = frozenset(
    {
        "/etc/hostname",
        "/etc/hosts",
        "/etc/resolv.conf",
        "/dev",
        "/proc",
        "/sys",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/dev/console",
        "/.dockerenv",
    }
)


def overlay_dirs(mounts: list[dict[str, Any]]) -> tuple[str | None, list[str]]:
    """(upperdir, lowerdirs top first) from the container's rootfs mounts."""
    upper: str | None = None
    lowers: list[str] = []
    for m in mounts:
        for opt in m.get("options") or []:
            key, _, value = str(opt).partition("=")
            if key == "upperdir":
                upper = value
            elif key == "lowerdir":
                lowers = value.split(":")
    return upper, lowers


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def changes(upper: str, lowers: list[str]) -> list[dict[str, Any]]:
    """Kind 0 modified, 1 added, 2 deleted; sorted by path; Docker's init-layer mount points left out."""
    found: dict[str, int] = {}
    root = Path(upper)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            full = Path(dirpath) / name
            rel = "/" + str(full.relative_to(root))
            try:
                st = full.lstat()
            except OSError:
                continue
            if _is_whiteout(st):
                found[rel] = DELETED
                continue
            in_lower = any(os.path.lexists(os.path.join(lower, rel.lstrip("/"))) for lower in lowers)
            found[rel] = MODIFIED if in_lower else ADDED
    for path in HIDDEN:
        found.pop(path, None)
    # A directory only copied up for a hidden mount point is not a change either.
    for path in sorted(found, key=len, reverse=True):
        if found[path] == MODIFIED and (Path(upper) / path.lstrip("/")).is_dir():
            prefix = path.rstrip("/") + "/"
            hidden_child = any(h.startswith(prefix) for h in HIDDEN)
            if hidden_child and not any(p.startswith(prefix) for p in found):
                del found[path]
    return [{"Path": p, "Kind": k} for p, k in sorted(found.items())]
