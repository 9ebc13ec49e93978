"""The tar of a container's own layer (its overlay upperdir), for ``docker commit``: a layer, not a tree.

overlayfs whiteouts (0/0 character devices) become OCI ``.wh.<name>`` files and opaque directories get a
``.wh..wh..opq`` entry, as dockerd's overlay2 writes a diff. What the runtime puts in the upperdir for its
own mounts (dockerd keeps those in the container's init layer: /etc/hosts, /dev, /proc, ...) is left out,
and so is a directory that is only there as the parent of such a mount point.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import tarfile
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from skiff.engine.backend import export as export_mod
from skiff.engine.backend.fsdiff import HIDDEN

WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
HIDDEN_TREES = ("dev", "proc", "sys")  # tmpfs and kernel mounts in a running container: never in a layer
_HIDDEN = {h.lstrip("/") for h in HIDDEN}
_HIDDEN_PARENTS = {os.path.dirname(h) for h in _HIDDEN if "/" in h}


def _hidden(rel: str) -> bool:
    return rel in _HIDDEN or rel.split("/", 1)[0] in HIDDEN_TREES


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def entries(upper: str, rel_dir: str = "") -> Iterator[tuple[str, str, os.stat_result]]:
    """(archive name, host path, lstat) of each entry to write, parents first, names sorted."""
    host_dir = os.path.join(upper, rel_dir) if rel_dir else upper
    try:
        names = sorted(os.listdir(host_dir))
    except OSError:
        return
    for name in names:
        rel = f"{rel_dir}/{name}" if rel_dir else name
        if _hidden(rel):
            continue
        full = os.path.join(host_dir, name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield rel, full, st
            continue
        below: Iterable[tuple[str, str, os.stat_result]] = (
            list(entries(upper, rel)) if rel in _HIDDEN_PARENTS else entries(upper, rel)
        )
        if rel in _HIDDEN_PARENTS and not below and not export_mod._is_opaque(full):
            continue  # only there for a mount point (e.g. /etc for /etc/hosts)
        yield rel, full, st
        yield from below


def write_diff(upper: str, out: Any) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rel, full, st in entries(upper):
            if _is_whiteout(st):
                parent, _, name = rel.rpartition("/")
                info = tarfile.TarInfo(posixpath.join(parent, WHITEOUT_PREFIX + name))
                info.mode, info.mtime = 0o600, int(st.st_mtime)
                info.uid, info.gid = st.st_uid, st.st_gid
                tar.addfile(info)
                continue
            info = tar.gettarinfo(full, arcname=rel)
            info.uname = info.gname = ""
            if info.isreg():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            if info.isdir() and export_mod._is_opaque(full):
                opq = tarfile.TarInfo(f"{rel}/{WHITEOUT_OPAQUE}")
                opq.mode, opq.mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
                opq.uid, opq.gid = st.st_uid, st.st_gid
                tar.addfile(opq)
    with contextlib.suppress(AttributeError):
        out.flush()


def stream(upper: str) -> AsyncIterator[bytes]:
    return export_mod.stream_tar(lambda out: write_diff(upper, out))
