"""Apply a layer tar (plain or gzip) to a snapshot, streaming, and learn its diff_id on the way.

Every path of the tar is resolved as dockerd resolves it when it unpacks a layer inside ``chroot(root)``
(see :mod:`skiff.core.diff.scope`): ``..`` stops at the root, absolute names and symlink targets start at
it, and only the intermediate components of a path are followed. Nothing can land outside the root, and a
crafted tar gets dockerd's answer: ``../x`` lands at ``/x``, a link to a missing target fails with
``link /x /y: no such file or directory``, a duplicate member name is refused.

Two ways to express deletions, chosen by the snapshot's mounts:
- overlay: the layer lands in the ``upperdir`` and OCI whiteouts become overlayfs whiteouts (``.wh.x``
  -> a 0/0 char device ``x``; ``.wh..wh..opq`` -> ``trusted.overlay.opaque=y`` on the directory);
- bind (native copies, or a first layer): whiteouts really remove what earlier layers put there.
A layer sees only itself in the overlay case, as in dockerd's overlay2 (a hard link to a file of a lower
layer fails as it does there).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from skiff import errdefs
from skiff.core.diff.scope import chroot_name, go_clean, go_strerror, mkdir_all, resolve
from skiff.core.mount import Mount

WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
CHUNK = 1 << 20
# tarfile's stream reads: bigger than its 10 KiB records (fewer Python calls), small enough that the copy
# of what is left after each header is cheap
STREAM_RECORD = 64 << 10
DIR_MODE = 0o755  # missing parents, as dockerd's MkdirAll makes them


class LayerError(errdefs.Unknown):
    """A layer dockerd refuses too, with dockerd's message (import answers 500, load ends its stream)."""


def _refused(detail: str, cause: str = "exit status 1") -> LayerError:
    return LayerError(f"Error processing tar file({cause}): {detail}")


def _os_error(op: str, err: OSError, *paths: str) -> LayerError:
    return _refused(f"{op} {' '.join(paths)}: {go_strerror(err.errno or errno.EIO)}")


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


def _remove(path: str) -> None:
    """dockerd's RemoveAll: never follows a symlink."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


class _Extractor:
    def __init__(self, root: Path, overlay: bool) -> None:
        self.root = os.path.realpath(root)
        self.overlay = overlay
        self.seen: set[str] = set()  # go_clean(member name): dockerd's tar-split refuses duplicates
        self.written: set[str] = set()  # host paths this layer wrote (an opaque whiteout keeps them)
        self.dir_times: list[tuple[str, int]] = []
        self.size = 0
        self.source_fd: int | None = None  # set when members' data can be copied from this file

    def member(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        key = go_clean(m.name)
        if key in self.seen:
            raise _refused("", "duplicates of file paths not supported")
        self.seen.add(key)
        name = chroot_name(m.name)  # "/a/b": the path dockerd sees inside its chroot
        if name == "/":
            return
        parent = posixpath.dirname(name)
        try:
            mkdir_all(self.root, parent, DIR_MODE)
        except OSError as err:
            raise _os_error("mkdir", err, str(err.filename or parent)) from None
        base = posixpath.basename(name)
        if base.startswith(WHITEOUT_PREFIX):
            self.whiteout(parent, base)
        else:
            self.entry(tf, m, name)

    def whiteout(self, parent: str, base: str) -> None:
        host_dir = resolve(self.root, parent)
        if base == WHITEOUT_OPAQUE:
            if self.overlay:
                os.setxattr(host_dir, "trusted.overlay.opaque", b"y")
            elif os.path.isdir(host_dir):
                for child in os.listdir(host_dir):
                    path = os.path.join(host_dir, child)
                    if path not in self.written:
                        _remove(path)
            return
        hidden = base[len(WHITEOUT_PREFIX):]
        original = posixpath.join(parent, hidden)
        mknod_failed = f'failed to mknod("{posixpath.normpath(original)}", S_IFCHR, 0): '
        if hidden in (".", ".."):  # names a directory that exists: dockerd's mknod fails, so does ours
            raise _refused(mknod_failed + go_strerror(errno.EEXIST))
        host = resolve(self.root, original, follow_last=False)
        if not self.overlay:
            if host in self.written:  # this layer made it: overlay2's mknod would find it there
                raise _refused(mknod_failed + go_strerror(errno.EEXIST))
            _remove(host)
            return
        try:
            os.mknod(host, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        except OSError as err:
            raise _refused(mknod_failed + go_strerror(err.errno or errno.EIO)) from None

    def entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo, name: str) -> None:
        host = resolve(self.root, name, follow_last=False)
        if host == self.root:
            return
        existing = os.path.lexists(host)
        if existing and not (m.isdir() and os.path.isdir(host) and not os.path.islink(host)):
            _remove(host)
            existing = False
        self.written.add(host)
        try:
            if m.isdir():
                if not existing:
                    os.mkdir(host, 0o700)
            elif m.isreg():
                self._regular(tf, m, host)
            elif m.issym():
                os.symlink(m.linkname, host)
                self.size += len(m.linkname.encode())
            elif m.islnk():
                self._hardlink(m, name, host)
                return
            elif m.ischr() or m.isblk():
                kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                os.mknod(host, kind | 0o600, os.makedev(m.devmajor, m.devminor))
            elif m.isfifo():
                os.mkfifo(host, 0o600)
            else:
                return
        except LayerError:
            raise
        except OSError as err:
            op = "mkdir" if m.isdir() else "symlink " + m.linkname if m.issym() else "open"
            raise _os_error(op, err, name) from None
        self._metadata(m, host)

    def _regular(self, tf: tarfile.TarFile, m: tarfile.TarInfo, host: str) -> None:
        fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            if self.source_fd is not None and m.sparse is None:  # a tar file on disk: the kernel copies
                _copy_range(self.source_fd, fd, m.offset_data, m.size)
            else:
                src = tf.extractfile(m)
                assert src is not None
                shutil.copyfileobj(src, out, CHUNK)
        self.size += m.size

    def _hardlink(self, m: tarfile.TarInfo, name: str, host: str) -> None:
        """link(2) inside the chroot: the target's directories are followed in the root, not its last part."""
        target = chroot_name(m.linkname)
        source = resolve(self.root, target, follow_last=False)
        try:
            if source == self.root:
                raise OSError(errno.EPERM, "")
            os.link(source, host, follow_symlinks=False)
        except OSError as err:
            raise _os_error("link", err, target, name) from None

    def _metadata(self, m: tarfile.TarInfo, host: str) -> None:
        os.lchown(host, m.uid, m.gid)
        for key, value in m.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                # e.g. security.* on a filesystem that refuses it: not fatal for a layer
                with contextlib.suppress(OSError):
                    os.setxattr(host, key[len("SCHILY.xattr."):], value.encode("utf-8", "surrogateescape"),
                                follow_symlinks=False)
        if not m.issym():
            os.chmod(host, stat.S_IMODE(m.mode))  # host is what this layer made: never a symlink here
        mtime_ns = int(m.mtime * 1_000_000_000)
        if m.isdir():
            self.dir_times.append((host, mtime_ns))
        else:
            os.utime(host, ns=(mtime_ns, mtime_ns), follow_symlinks=False)

    def finish(self) -> None:
        for path, ns in reversed(self.dir_times):
            with contextlib.suppress(FileNotFoundError):  # removed by a later whiteout
                os.utime(path, ns=(ns, ns), follow_symlinks=False)


def _copy_range(src: int, dst: int, offset: int, size: int) -> None:
    """``size`` bytes at ``offset`` of ``src`` to ``dst``, in the kernel (copy_file_range, else sendfile)."""
    done = 0
    while done < size:
        try:
            n = os.copy_file_range(src, dst, size - done, offset + done)
        except OSError as err:
            if err.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            n = os.sendfile(dst, src, offset + done, size - done)
        if n == 0:
            raise _refused("unexpected EOF")
        done += n


def _tar_error(err: Exception) -> LayerError:
    """Go's archive/tar words for what Python's tarfile reports."""
    text = str(err)
    if isinstance(err, EOFError) or "unexpected end" in text or "truncated" in text:
        return _refused("unexpected EOF")
    if isinstance(err, gzip.BadGzipFile):
        return _refused("gzip: invalid header")
    return _refused("archive/tar: invalid tar header")


def apply_tar(
    stream: BinaryIO, root: Path, lowers: list[Path] | None = None, overlay: bool = False
) -> ApplyResult:
    """Extract the layer in ``stream`` into ``root``; see the module docstring for whiteouts.

    ``lowers`` is accepted for callers that know them; a layer never reads them (dockerd's overlay2)."""
    del lowers
    hashing = HashingReader(decompressed(stream))
    ex = _Extractor(Path(root), overlay)
    try:
        with tarfile.open(fileobj=hashing, mode="r|", bufsize=STREAM_RECORD) as tf:
            for m in tf:
                ex.member(tf, m)
    except tarfile.ReadError as err:
        if hashing.count or str(err) != "empty file":
            raise _tar_error(err) from None
        # nothing at all: Go's tar reader sees io.EOF at once, an empty layer (dockerd imports it)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile) as err:
        raise _tar_error(err) from None
    except OSError as err:  # e.g. a full disk, or setxattr refused: still dockerd's shape
        raise _refused(go_strerror(err.errno or errno.EIO)) from None
    hashing.drain()
    ex.finish()
    return ApplyResult(hashing.digest(), ex.size)


def _seekable_plain_file(stream: BinaryIO) -> bool:
    try:
        if not stream.seekable():
            return False
        stream.fileno()
        start = stream.tell()
        magic = stream.read(2)
        stream.seek(start)
        return magic != b"\x1f\x8b"
    except (OSError, ValueError, AttributeError):
        return False


def apply_tar_file(stream: BinaryIO, root: Path, diff_id: str, overlay: bool = False) -> ApplyResult:
    """Like ``apply_tar`` for an uncompressed tar on disk whose digest is already ``diff_id`` (a verified
    blob): headers are read in place and file data is copied by the kernel, never through Python."""
    ex = _Extractor(Path(root), overlay)
    ex.source_fd = stream.fileno()
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tf:
            for m in tf:
                ex.member(tf, m)
    except tarfile.ReadError as err:
        if str(err) != "empty file":
            raise _tar_error(err) from None
    except (tarfile.TarError, EOFError) as err:
        raise _tar_error(err) from None
    except OSError as err:
        raise _refused(go_strerror(err.errno or errno.EIO)) from None
    ex.finish()
    return ApplyResult(diff_id, ex.size)


def apply_layer(stream: BinaryIO, mounts: list[Mount], diff_id: str = "") -> ApplyResult:
    """Apply to the snapshot behind ``mounts`` (one overlay or bind mount from a Snapshotter).

    ``diff_id``: the stream's own verified digest when it is the uncompressed tar (the fast path)."""
    if len(mounts) != 1:
        raise errdefs.InvalidArgument(f"cannot apply a layer to {len(mounts)} mounts")
    m = mounts[0]
    if m.type == "overlay":
        upper = m.option("upperdir")
        if upper is None:
            raise errdefs.InvalidArgument("cannot apply a layer to a read-only overlay")
        root, overlay = Path(upper), True
    elif m.type == "bind":
        root, overlay = Path(m.source), False
    else:
        raise errdefs.InvalidArgument(f"cannot apply a layer to a {m.type} mount")
    if diff_id and _seekable_plain_file(stream):
        return apply_tar_file(stream, root, diff_id, overlay)
    return apply_tar(stream, root, overlay=overlay)
