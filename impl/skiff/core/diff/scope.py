"""Paths of a layer tar resolved inside a root directory as the kernel resolves them inside ``chroot(root)``.

dockerd unpacks every layer in a chroot of the layer's directory, so whatever a tar says (``../x``,
``/abs``, a symlink to ``/`` followed by a write through it, a hard link to ``a/../../etc/passwd``) stays
in that directory. This module gives the same answers without a chroot: ``..`` stops at the root, absolute
names and absolute symlink targets start at the root, and only real directories of the root are walked
through, so every host path it returns is the root or a path under it.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat

MAX_SYMLINKS = 40  # Linux's limit before ELOOP


def chroot_name(name: str) -> str:
    """The absolute path a tar member name stands for inside the chroot: ``../a//b/`` -> ``/a/b``."""
    return posixpath.normpath("/" + name.lstrip("/"))


def go_clean(name: str) -> str:
    """Go's ``filepath.Clean`` (what dockerd compares when it refuses duplicate member names)."""
    cleaned = posixpath.normpath(name)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def go_strerror(code: int) -> str:
    """An errno as Go's syscall package words it: ``no such file or directory``."""
    text = os.strerror(code)
    return text[:1].lower() + text[1:]


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve(root: str, name: str, follow_last: bool = True) -> str:
    """The host path of ``name`` (taken from the root whether or not it starts with ``/``).

    Symlinks met on the way are followed inside ``root``; the last component is followed only when
    ``follow_last``. A missing component ends the walking: it and the rest are taken as written (with
    ``..`` still stopping at the root), which is where a create would put them. ``root`` must be a real
    path without symlinks.
    """
    pending = _parts(name)
    done: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = os.path.join(root, *done, part)
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            done.append(part)
            continue
        except NotADirectoryError:  # a file used as a directory: the caller's operation will say so
            done.append(part)
            continue
        if stat.S_ISLNK(st.st_mode) and (pending or follow_last):
            links += 1
            if links > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), "/" + "/".join([*done, part]))
            target = os.readlink(candidate)
            if target.startswith("/"):
                done = []
            pending = _parts(target) + pending
            continue
        done.append(part)
    return os.path.join(root, *done) if done else root


def mkdir_all(root: str, name: str, mode: int) -> None:
    """dockerd's parent handling: nothing if ``name`` exists (even as a dangling symlink), else Go's
    ``MkdirAll`` inside the root. Raises OSError whose filename is the chroot path that failed."""
    if os.path.lexists(resolve(root, name, follow_last=False)):
        return
    parts = _parts(chroot_name(name))
    for i in range(1, len(parts) + 1):
        prefix = "/" + "/".join(parts[:i])
        if os.path.isdir(resolve(root, prefix)):
            continue
        literal = resolve(root, prefix, follow_last=False)
        if os.path.lexists(literal):
            raise OSError(errno.EEXIST if os.path.islink(literal) else errno.ENOTDIR,
                          os.strerror(errno.EEXIST), prefix)
        try:
            os.mkdir(literal, mode)
        except OSError as err:
            raise OSError(err.errno, err.strerror, prefix) from None
