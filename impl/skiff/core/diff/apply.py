"""Apply a layer tar (plain or gzip) to a snapshot, streaming, and learn its diff_id on the way.

Two ways to express deletions, chosen by the snapshot's mounts:
- overlay: the layer lands in the ``upperdir`` and OCI whiteouts become overlayfs whiteouts (``.wh.x``
  -> a 0/0 char device ``x``; ``.wh..wh..opq`` -> ``trusted.overlay.opaque=y`` on the directory);
- bind (native copies, or a first layer): whiteouts really remove what earlier layers put there.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from skiff import errdefs
from skiff.core.mount import Mount

WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
CHUNK = 1 << 20


@dataclass(frozen=True)
class ApplyResult:
    diff_id: str  # sha256 of the uncompressed tar
    size: int  # bytes of the regular files and symlinks the layer adds (Docker's layer size)


class HashingReader(io.RawIOBase):
    """Counts and hashes every byte read through it."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner
        self.hash = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self._inner.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.hash.update(data)
        self.count += n
        return n

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


def decompressed(stream: BinaryIO) -> BinaryIO:
    """``stream`` itself, or a gunzipping reader when it starts with the gzip magic."""
    raw: Any = stream
    buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered  # type: ignore[no-any-return]


def _clean(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise errdefs.InvalidArgument(f"invalid layer entry {name!r}: escapes the root")
    return "/".join(parts)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


class _Extractor:
    def __init__(self, root: Path, lowers: list[Path], overlay: bool) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.lowers = lowers
        self.overlay = overlay
        self.written: set[str] = set()
        self.dir_times: list[tuple[Path, int]] = []
        self.size = 0

    def _parent(self, rel: str) -> Path:
        parent = self.root / os.path.dirname(rel) if "/" in rel else self.root
        parent.mkdir(parents=True, exist_ok=True)
        real = os.path.realpath(parent)
        if real != self.real_root and not real.startswith(self.real_root + os.sep):
            raise errdefs.InvalidArgument(f"invalid layer entry {rel!r}: its parent escapes the root")
        return parent

    def whiteout(self, rel: str) -> None:
        parent = self._parent(rel)
        name = os.path.basename(rel)
        if name == WHITEOUT_OPAQUE:
            if self.overlay:
                os.setxattr(parent, "trusted.overlay.opaque", b"y")
            else:
                prefix = os.path.dirname(rel)
                for child in list(parent.iterdir()):
                    crel = f"{prefix}/{child.name}" if prefix else child.name
                    if crel not in self.written:
                        _remove(child)
            return
        target = parent / name[len(WHITEOUT_PREFIX):]
        _remove(target)
        if self.overlay:
            os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0))

    def entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo, rel: str) -> None:
        parent = self._parent(rel)
        target = parent / os.path.basename(rel)
        self.written.add(rel)
        if m.isdir():
            if os.path.lexists(target) and not (target.is_dir() and not target.is_symlink()):
                _remove(target)
            target.mkdir(exist_ok=True)
        else:
            _remove(target)
            if m.isreg():
                src = tf.extractfile(m)
                assert src is not None
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                self.size += m.size
            elif m.issym():
                os.symlink(m.linkname, target)
                self.size += len(m.linkname.encode())
            elif m.islnk():
                self._hardlink(m, target)
                return
            elif m.ischr() or m.isblk():
                kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                os.mknod(target, kind | 0o600, os.makedev(m.devmajor, m.devminor))
            elif m.isfifo():
                os.mkfifo(target, 0o600)
            else:
                return
        self._metadata(m, target)

    def _hardlink(self, m: tarfile.TarInfo, target: Path) -> None:
        rel = _clean(m.linkname)
        source = self.root / rel
        if not os.path.lexists(source):
            lower = next((low / rel for low in self.lowers if os.path.lexists(low / rel)), None)
            if lower is None:
                raise errdefs.InvalidArgument(
                    f"invalid layer entry {m.name!r}: link target {m.linkname!r} missing"
                )
            shutil.copy2(lower, source, follow_symlinks=False)
        os.link(source, target, follow_symlinks=False)

    def _metadata(self, m: tarfile.TarInfo, target: Path) -> None:
        os.lchown(target, m.uid, m.gid)
        for key, value in m.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                # e.g. security.* on a filesystem that refuses it: not fatal for a layer
                with contextlib.suppress(OSError):
                    os.setxattr(target, key[len("SCHILY.xattr."):], value.encode("utf-8", "surrogateescape"),
                                follow_symlinks=False)
        if not m.issym():
            os.chmod(target, stat.S_IMODE(m.mode))
        mtime_ns = int(m.mtime * 1_000_000_000)
        if m.isdir():
            self.dir_times.append((target, mtime_ns))
        else:
            os.utime(target, ns=(mtime_ns, mtime_ns), follow_symlinks=False)

    def finish(self) -> None:
        for path, ns in reversed(self.dir_times):
            os.utime(path, ns=(ns, ns), follow_symlinks=False)


def apply_tar(
    stream: BinaryIO, root: Path, lowers: list[Path] | None = None, overlay: bool = False
) -> ApplyResult:
    """Extract the layer in ``stream`` into ``root``; see the module docstring for whiteouts."""
    hashing = HashingReader(decompressed(stream))
    ex = _Extractor(Path(root), lowers or [], overlay)
    try:
        with tarfile.open(fileobj=hashing, mode="r|") as tf:
            for m in tf:
                rel = _clean(m.name)
                if not rel:
                    continue
                if os.path.basename(rel).startswith(WHITEOUT_PREFIX):
                    ex.whiteout(rel)
                else:
                    ex.entry(tf, m, rel)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile) as err:
        raise errdefs.InvalidArgument(f"invalid layer tar: {err}") from None
    hashing.drain()
    ex.finish()
    return ApplyResult(hashing.digest(), ex.size)


def apply_layer(stream: BinaryIO, mounts: list[Mount]) -> ApplyResult:
    """Apply to the snapshot behind ``mounts`` (one overlay or bind mount from a Snapshotter)."""
    if len(mounts) != 1:
        raise errdefs.InvalidArgument(f"cannot apply a layer to {len(mounts)} mounts")
    m = mounts[0]
    if m.type == "overlay":
        upper = m.option("upperdir")
        if upper is None:
            raise errdefs.InvalidArgument("cannot apply a layer to a read-only overlay")
        lowers = [Path(p) for p in (m.option("lowerdir") or "").split(":") if p]
        return apply_tar(stream, Path(upper), lowers, overlay=True)
    if m.type == "bind":
        return apply_tar(stream, Path(m.source))
    raise errdefs.InvalidArgument(f"cannot apply a layer to a {m.type} mount")
