"""``docker cp``: stat, read and write paths of a container's filesystem through its overlay layers.

Paths are resolved in the merged view of the layers (upper first) with symlinks followed inside the
container's root, never on the host. Reads come from the layers (running or not); writes go to the
mounted rootfs of a running container, else to its writable upper layer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import pwd
import stat
import sys
import tarfile
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

from skiff import errdefs
from skiff.engine.backend import export, timefmt, untar

log = logging.getLogger(__name__)

MAX_SYMLINKS = 40

# Go's os.FileMode type bits
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27
GO_MODE_DEVICE = 1 << 26
GO_MODE_NAMED_PIPE = 1 << 25
GO_MODE_SOCKET = 1 << 24
GO_MODE_SETUID = 1 << 23
GO_MODE_SETGID = 1 << 22
GO_MODE_CHAR_DEVICE = 1 << 21
GO_MODE_STICKY = 1 << 20


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def _blocks(full: str, is_last: bool) -> bool:
    """Does this layer's entry at an ancestor (or the path itself) hide lower layers?"""
    try:
        st = os.lstat(full)
    except OSError:
        return False
    if export._is_whiteout(st):
        return True
    if not is_last and not stat.S_ISDIR(st.st_mode):
        return True
    return not is_last and export._is_opaque(full)


def visible(layers: list[str], rel: str) -> str | None:
    """The host path of the topmost visible entry for a container path (no symlink following)."""
    parts = _split(rel)
    if not parts:
        return layers[0] if layers else None
    for layer in layers:
        full = os.path.join(layer, *parts)
        try:
            st = os.lstat(full)
        except OSError:
            st = None
        if st is not None:
            return None if export._is_whiteout(st) else full
        for i in range(1, len(parts)):
            if _blocks(os.path.join(layer, *parts[:i]), False):
                return None
    return None


def resolve(layers: list[str], path: str, follow_last: bool) -> str | None:
    """Resolve ``path`` inside the container's root; None when a component does not exist."""
    parts = _split(path)
    resolved: list[str] = []
    hops = 0
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "..":
            resolved = resolved[:-1]
            i += 1
            continue
        candidate = [*resolved, part]
        full = visible(layers, "/".join(candidate))
        last = i == len(parts) - 1
        if full is not None and os.path.islink(full) and (not last or follow_last):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise errdefs.InvalidArgument(f"too many links in {path}")
            target = os.readlink(full)
            if target.startswith("/"):
                resolved = []
            parts = _split(target) + parts[i + 1 :]
            i = 0
            continue
        if full is None:
            return None
        if not last and not os.path.isdir(full):  # dockerd's lstat through a file: a 500, not a 404
            raise errdefs.Unknown(f"lstat /{'/'.join([*candidate, *parts[i + 1:]])}: not a directory")
        resolved = candidate
        i += 1
    return "/" + "/".join(resolved)


def link_target(layers: list[str], path: str) -> str:
    """Where a symlink leads inside the container's root, as dockerd's FollowSymlinkInScope reports it
    (lexically for a dangling one)."""
    try:
        resolved = resolve(layers, path, follow_last=True)
    except errdefs.SkiffError:
        resolved = None
    if resolved is not None:
        return resolved
    parts = _split(path)
    hops = 0
    while hops < MAX_SYMLINKS:
        full = visible(layers, "/".join(parts))
        if full is None or not os.path.islink(full):
            break
        target = os.readlink(full)
        base = [] if target.startswith("/") else parts[:-1]
        parts = _split(os.path.normpath("/" + "/".join([*base, *_split(target)])))
        hops += 1
    return "/" + "/".join(parts)


def go_mode(st: os.stat_result) -> int:
    mode = stat.S_IMODE(st.st_mode) & 0o777
    fmt = stat.S_IFMT(st.st_mode)
    if fmt == stat.S_IFDIR:
        mode |= GO_MODE_DIR
    elif fmt == stat.S_IFLNK:
        mode |= GO_MODE_SYMLINK
    elif fmt == stat.S_IFBLK:
        mode |= GO_MODE_DEVICE
    elif fmt == stat.S_IFCHR:
        mode |= GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE
    elif fmt == stat.S_IFIFO:
        mode |= GO_MODE_NAMED_PIPE
    elif fmt == stat.S_IFSOCK:
        mode |= GO_MODE_SOCKET
    if st.st_mode & stat.S_ISUID:
        mode |= GO_MODE_SETUID
    if st.st_mode & stat.S_ISGID:
        mode |= GO_MODE_SETGID
    if st.st_mode & stat.S_ISVTX:
        mode |= GO_MODE_STICKY
    return mode


def path_stat(
    layers: list[str], path: str, container_name: str, asked: str | None = None
) -> tuple[str, str, dict[str, Any]]:
    """(resolved container path, host path, Docker's PathStat) for ``path``; NotFound like dockerd.
    ``asked``: the path as the client gave it, when ``path`` is inside a volume's own root."""
    asked = path if asked is None else asked
    if not asked:
        raise errdefs.InvalidArgument("bad parameter: pathcannot be empty")
    not_found = errdefs.NotFound(f"Could not find the file {asked} in container {container_name}")
    follow = path.endswith("/") or path.endswith("/.")
    resolved = resolve(layers, path, follow_last=follow)
    if resolved is None:
        raise not_found
    full = visible(layers, resolved)
    if full is None:
        raise not_found
    st = os.lstat(full)
    if follow and not stat.S_ISDIR(st.st_mode):
        raise errdefs.Unknown(f"lstat {resolved}/: not a directory")
    name = os.path.basename(asked.rstrip("/")) or "/"
    info = {
        "name": name,
        "size": st.st_size,
        "mode": go_mode(st),
        "mtime": timefmt.format_ns(st.st_mtime_ns),
        "linkTarget": link_target(layers, resolved) if stat.S_ISLNK(st.st_mode) else "",
    }
    return resolved, full, info


def stat_header(info: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(info, separators=(",", ":")).encode()).decode()


def subtree_layers(layers: list[str], rel: str) -> list[str]:
    """The layers' directories that make up the merged directory ``rel`` (top first)."""
    parts = _split(rel)
    out: list[str] = []
    for layer in layers:
        full = os.path.join(layer, *parts)
        try:
            st = os.lstat(full)
        except OSError:
            st = None
        if st is not None:
            if export._is_whiteout(st) or not stat.S_ISDIR(st.st_mode):
                break
            out.append(full)
            if export._is_opaque(full):
                break
        if any(_blocks(os.path.join(layer, *parts[:i]), False) for i in range(1, len(parts) + 1)):
            break
    return out


def write_tar(layers: list[str], resolved: str, host: str, name: str, out: Any) -> None:
    """A tar of ``resolved`` whose root entry is called ``name`` (dockerd uses the requested basename)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        info = tar.gettarinfo(host, arcname=name)
        if info.isreg():
            with open(host, "rb") as f:
                tar.addfile(info, f)
        else:
            tar.addfile(info)
        if info.isdir():
            for rel, full in export.merged(subtree_layers(layers, resolved)):
                sub = tar.gettarinfo(full, arcname=f"{name}/{rel}")
                if sub.isreg():
                    with open(full, "rb") as f:
                        tar.addfile(sub, f)
                else:
                    tar.addfile(sub)
    out.flush()


async def put(
    data: bytes,
    dest: str,
    root: str | None,
    rootfs_mounts: list[dict[str, Any]],
    binds: list[tuple[str, str]] | None = None,
    no_overwrite_dir_non_dir: bool = False,
    chown: tuple[int, int] | None = None,
    container_name: str = "",
) -> None:
    """Unpack ``data`` at the container path ``dest`` as dockerd does, in a process chrooted into the
    container's root (``root``: a running container's ``/proc/PID/root``; None: the process mounts
    ``rootfs_mounts`` and ``binds`` (source, destination) in a private namespace of its own).
    Nothing is ever written outside the container's root, whatever the tar holds."""
    args, scratch = _helper_args(root, rootfs_mounts, binds)
    args += ["--dest", dest]
    if no_overwrite_dir_non_dir:
        args.append("--no-overwrite-dir-non-dir")
    if chown is not None:
        args += ["--chown", f"{chown[0]}:{chown[1]}"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate(data)
    finally:
        await _remove_scratch(scratch)
    if proc.returncode == 3:
        raise errdefs.NotFound(f"Could not find the file {dest} in container {container_name}")
    if proc.returncode == 4:
        raise errdefs.Unknown("extraction point is not a directory")
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip()
        raise errdefs.Unknown(f"Error processing tar file(exit status {proc.returncode}): {message}")


def _helper_args(root: str | None, rootfs_mounts: list[dict[str, Any]],
                 binds: list[tuple[str, str]] | None) -> tuple[list[str], str | None]:
    """The helper's command line up to its mode, and the scratch mountpoint to remove afterwards."""
    args = [sys.executable, "-I", "-S", untar.__file__]
    if root is not None:
        return [*args, "--root", root], None
    if not rootfs_mounts:
        raise errdefs.Unknown("the container has no root filesystem")
    m = rootfs_mounts[0]
    scratch = tempfile.mkdtemp(prefix="skiff-untar-")
    args += ["--mount", str(m.get("type") or "bind"), str(m.get("source") or "none"),
             ",".join(str(o) for o in m.get("options") or []), scratch]
    for source, target in sorted(binds or [], key=lambda b: b[1].count("/")):
        args += ["--bind", source, target]
    return args, scratch


async def _remove_scratch(scratch: str | None) -> None:
    """Remove the helper's (empty) mountpoint. The kernel tears the helper's private mount namespace down
    a moment after it exits; until then the directory is busy."""
    if scratch is None:
        return
    for _ in range(250):
        try:
            os.rmdir(scratch)
            return
        except FileNotFoundError:
            return
        except OSError:
            await asyncio.sleep(0.02)
    log.warning("cannot remove %s", scratch)


async def get(source: str, name: str, root: str | None, rootfs_mounts: list[dict[str, Any]],
              binds: list[tuple[str, str]] | None = None) -> AsyncIterator[bytes]:
    """A tar of the container path ``source`` (root entry ``name``), written by the helper chrooted into
    the container's root as for ``put``: symlinks a container swaps in while we read resolve inside it."""
    args, scratch = _helper_args(root, rootfs_mounts, binds)
    keep = [target for _source, target in binds or []]
    proc = await asyncio.create_subprocess_exec(
        *args, "--tar", source, name, *keep, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None

    async def reap() -> None:
        """Wait for the helper and remove its mountpoint, whether or not the client read to the end (a
        client that hangs up leaves this generator to be finalized whenever the loop gets to it)."""
        await proc.wait()
        await _remove_scratch(scratch)

    reaper = asyncio.ensure_future(reap())
    _REAPERS.add(reaper)
    reaper.add_done_callback(_REAPERS.discard)
    try:
        while chunk := await proc.stdout.read(1 << 16):
            yield chunk
        await proc.wait()
        if proc.returncode:
            log.warning("archive of %s: %s", source, (await proc.stderr.read()).decode(errors="replace"))
    finally:
        if proc.returncode is None:  # the client went away: end the helper (ours, by its handle)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()


_REAPERS: set[asyncio.Future[None]] = set()


def copy_owner(user: str) -> tuple[int, int]:
    """The owner ``copyUIDGID`` gives extracted files: dockerd 20.10 looks the container's Config.User up
    in the *host's* passwd database (its idtools.LookupUser, getent as the fallback), and so do we."""
    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except (KeyError, ValueError):
        raise errdefs.Unknown(f'getent unable to find entry "{user}" in passwd database') from None
    return entry.pw_uid, entry.pw_gid


def in_mount(mounts: list[dict[str, Any]], path: str) -> tuple[str, str, str] | None:
    """(host source, path inside it, mount destination) when ``path`` lies in one of the container's
    volumes or binds (the deepest one); stats there come from the mount, not from the image layers."""
    clean = os.path.normpath("/" + path.lstrip("/"))
    best: tuple[str, str, str] | None = None
    depth = -1
    for m in mounts:
        target, source = str(m.get("Destination") or ""), str(m.get("Source") or "")
        if not target or not source or not os.path.isdir(source):
            continue
        target = os.path.normpath(target)
        inside = clean == target or clean.startswith(target.rstrip("/") + "/")
        if inside and target.count("/") > depth:
            depth = target.count("/")
            rest = clean[len(target):] or "/"
            best = (source, rest + ("/" if path.endswith("/") and rest != "/" else ""), target)
    return best


def entries(layers: list[str]) -> Iterator[tuple[str, str]]:
    return export.merged(layers)
