"""``PUT /containers/{id}/archive``: unpack a client's tar inside the container's root, like dockerd's
chrooted ``docker-untar``.

Runs as its own short-lived process (standard library only, started with ``python -I -S``): it chroots into
the container's root filesystem before reading a single tar member, so every name, every symlink met on the
way and every hardlink target resolves inside that root, whatever the tar holds (``../``, absolute names,
symlinks that point out, links through them). For a container without a mounted rootfs it first mounts the
container's overlay in a private mount namespace of its own, which vanishes with it. The member handling
follows dockerd's ``archive.Unpack``/``createTarFile``, and so do the error messages; an error ends the
process with status 1 and the message on stderr, as the reexec'd ``docker-untar`` does.

Usage: ``untar.py (--root DIR | --mount TYPE SOURCE OPTIONS DIR [--bind SRC DEST]...) --dest PATH
[--no-overwrite-dir-non-dir] [--chown UID:GID]`` with the tar on stdin; or ``... --tar PATH NAME
[KEEP-MOUNT]...`` to write a tar of PATH (read in the same chroot, for ``GET archive``) on stdout.
``--root`` may be a running container's ``/proc/PID/root`` (its mounts included); ``--bind`` puts a stopped
container's volumes and binds in place. The destination resolves inside the root: exit 3 when it does not
exist, 4 when not a directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import posixpath
import stat
import sys
import tarfile
from typing import BinaryIO

# Everything the unpacking may need is imported before the chroot: afterwards ``sys.path`` is emptied, so
# that no import can ever load a module file from the container (which could plant one at our stdlib path).
for _module in ("zlib", "gzip", "bz2", "lzma", "encodings.latin_1", "encodings.ascii"):
    with contextlib.suppress(ImportError):
        __import__(_module)

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_BIND = 4096
COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


class UntarError(Exception):
    """An error Docker reports as ``Error processing tar file(exit status 1): <message>``."""


def clean(path: str) -> str:
    """Go's filepath.Clean (POSIX's normpath keeps a leading ``//``; Go does not)."""
    out = posixpath.normpath(path) if path else "."
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


def join(*parts: str) -> str:
    """Go's filepath.Join: the non-empty parts joined with ``/``, cleaned."""
    kept = [p for p in parts if p]
    return clean("/".join(kept)) if kept else ""


def _os_error(op: str, err: OSError, *paths: str) -> UntarError:
    """Go's *PathError / *LinkError text: ``open /x: no such file or directory``."""
    reason = (err.strerror or str(err)).lower() if err.strerror else str(err)
    return UntarError(f"{op} {' '.join(paths)}: {reason}")


def _mkdir_all(path: str) -> None:
    current = "/"
    for part in [p for p in path.split("/") if p]:
        current = posixpath.join(current, part)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            try:
                os.mkdir(current, 0o777)
            except OSError as err:
                raise _os_error("mkdir", err, current) from None
            continue
        if not stat.S_ISDIR(st.st_mode):
            try:
                if not stat.S_ISDIR(os.stat(current).st_mode):
                    raise UntarError(f"mkdir {current}: not a directory")
            except OSError as err:
                raise _os_error("mkdir", err, current) from None


def _remove_all(path: str) -> None:
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        for name in os.listdir(path):
            _remove_all(posixpath.join(path, name))
        os.rmdir(path)
    else:
        os.unlink(path)


def _create(member: tarfile.TarInfo, path: str, extract_dir: str, tar: tarfile.TarFile,
            chown: tuple[int, int] | None) -> None:
    """dockerd's createTarFile for one member at ``path``."""
    mode = member.mode & 0o7777
    if member.isdir():
        try:
            exists = stat.S_ISDIR(os.lstat(path).st_mode)
        except FileNotFoundError:
            exists = False
        if not exists:
            try:
                os.mkdir(path, mode & 0o777)
            except OSError as err:
                raise _os_error("mkdir", err, path) from None
    elif member.isreg():
        source = tar.extractfile(member)
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, mode & 0o777)
        except OSError as err:
            raise _os_error("open", err, path) from None
        with os.fdopen(fd, "wb") as out:
            if source is not None:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
    elif member.ischr() or member.isblk() or member.isfifo():
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
        try:
            os.mknod(path, mode | kind, os.makedev(member.devmajor, member.devminor))
        except OSError as err:
            raise _os_error("mknod", err, path) from None
    elif member.islnk():
        target = join(extract_dir, member.linkname)
        if not target.startswith(extract_dir):
            raise UntarError(f'invalid hardlink "{target}" -> "{member.linkname}"')
        try:
            os.link(target, path, follow_symlinks=False)
        except OSError as err:
            raise _os_error("link", err, target, path) from None
    elif member.issym():
        target = join(posixpath.dirname(path), member.linkname)
        if not target.startswith(extract_dir):
            raise UntarError(f'invalid symlink "{path}" -> "{member.linkname}"')
        try:
            os.symlink(member.linkname, path)
        except OSError as err:
            raise _os_error("symlink", err, member.linkname, path) from None
    else:
        raise UntarError(f"unhandled tar header type {ord(member.type)}")

    uid, gid = chown if chown is not None else (member.uid, member.gid)
    try:
        os.lchown(path, uid, gid)
    except OSError as err:
        raise _os_error("lchown", err, path) from None
    link_target_is_file = False
    if member.islnk():
        try:
            link_target_is_file = not stat.S_ISLNK(os.lstat(join(extract_dir, member.linkname)).st_mode)
        except OSError:
            link_target_is_file = False
    if (member.islnk() and link_target_is_file) or not (member.issym() or member.islnk()):
        try:
            os.chmod(path, mode)
        except OSError as err:
            raise _os_error("chmod", err, path) from None
    mtime_ns = int(member.mtime * 1_000_000_000)
    atime_ns = mtime_ns
    if "atime" in member.pax_headers:
        with contextlib.suppress(ValueError):
            atime_ns = max(mtime_ns, int(float(member.pax_headers["atime"]) * 1_000_000_000))
    if member.issym():
        os.utime(path, ns=(atime_ns, mtime_ns), follow_symlinks=False)
    elif not member.islnk() or link_target_is_file:
        os.utime(path, ns=(atime_ns, mtime_ns))


def unpack(data: BinaryIO, dest: str, no_overwrite_dir_non_dir: bool = False,
           chown: tuple[int, int] | None = None) -> None:
    """dockerd's archive.Unpack into ``dest`` (already chrooted: paths are the container's)."""
    dest = clean(dest)
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    head = data.read(512)
    if not head:
        return  # an empty body is an empty archive
    if len(head) < 512 and not head.startswith(COMPRESSED_MAGIC):
        raise UntarError("unexpected EOF")  # Go's tar reader on a short first block
    stream = _Prepend(head, data)
    try:
        tar = tarfile.open(fileobj=stream, mode="r|*")  # type: ignore[call-overload]  # noqa: SIM115
    except tarfile.TarError:
        raise UntarError("archive/tar: invalid tar header") from None
    with tar:
        while True:
            try:
                member = tar.next()
            except tarfile.TarError:
                raise UntarError("archive/tar: invalid tar header") from None
            if member is None:
                break
            if member.type in (tarfile.XGLTYPE,):
                continue
            name = clean(member.name)
            if not name.endswith("/"):
                parent_path = join(dest, posixpath.dirname(name) or ".")
                try:
                    os.lstat(parent_path)
                except FileNotFoundError:
                    _mkdir_all(parent_path)
            path = join(dest, name)
            rel = posixpath.relpath(path, dest)
            if rel.startswith("../"):
                raise UntarError(f'"{name}" is outside of "{dest}"')
            try:
                existing = os.lstat(path)
            except FileNotFoundError:
                existing = None
            if existing is not None:
                is_dir = stat.S_ISDIR(existing.st_mode)
                if no_overwrite_dir_non_dir and is_dir and not member.isdir():
                    raise UntarError(f'cannot overwrite directory "{path}" with non-directory "{dest}"')
                if no_overwrite_dir_non_dir and not is_dir and member.isdir():
                    raise UntarError(f'cannot overwrite non-directory "{path}" with directory "{dest}"')
                if is_dir and name == ".":
                    continue
                if not (is_dir and member.isdir()):
                    try:
                        _remove_all(path)
                    except OSError as err:
                        raise _os_error("unlinkat", err, path) from None
            _create(member, path, dest, tar, chown)
            if member.isdir():
                dirs.append((path, member))
    for path, member in dirs:
        mtime_ns = int(member.mtime * 1_000_000_000)
        os.utime(path, ns=(mtime_ns, mtime_ns))


class _Prepend:
    """A read-only stream of ``head`` then ``rest`` (to peek at an empty body)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            if size < 0:
                return out + self.rest.read()
            return out + self.rest.read(size - len(out)) if size > len(out) else out
        return self.rest.read(size)


def _in_root(root: str, path: str) -> str:
    """``path`` with its symlinks resolved inside ``root`` (before chrooting there)."""
    parts = [p for p in path.split("/") if p and p != "."]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            done = done[:-1]
            continue
        full = os.path.join(root, *done, part)
        if os.path.islink(full) and hops < 40:
            hops += 1
            target = os.readlink(full)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
            continue
        done.append(part)
    return "/" + "/".join(done)


def _enter(args: list[str]) -> list[str]:
    """Enter the root the options name (chroot, after a private mount if asked); the rest of args."""
    if args[0] == "--root":
        root, rest = args[1], args[2:]
    elif args[0] == "--mount":
        kind, source, options, root, rest = args[1], args[2], args[3], args[4], args[5:]
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            raise OSError(ctypes.get_errno(), "make / private")
        flags = MS_BIND if kind == "bind" else 0
        if libc.mount(source.encode(), root.encode(), kind.encode(), flags, options.encode() or None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {kind} on {root}: {os.strerror(err)}")
        while rest[:1] == ["--bind"]:
            source, target, rest = rest[1], rest[2], rest[3:]
            # the target is looked up in the root as the container would see it; a mount point the image
            # lacks is skipped (the container made none either). Private namespace: nothing shows outside.
            inside = os.path.join(root, _in_root(root, target).lstrip("/"))
            if os.path.isdir(inside) and libc.mount(source.encode(), inside.encode(), None,
                                                    MS_BIND | MS_REC, None) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"bind {source} on {target}: {os.strerror(err)}")
    else:
        raise SystemExit(f"usage: {sys.argv[0]} (--root DIR | --mount TYPE SOURCE OPTIONS DIR) --dest PATH")
    os.chroot(root)
    os.chdir("/")
    sys.path.clear()
    sys.path_importer_cache.clear()
    return rest


def _names(path: str) -> dict[int, str]:
    """id -> name from the container's own passwd or group file, read as a file: never through NSS, which
    would load the container's libraries into this root process."""
    names: dict[int, str] = {}
    with contextlib.suppress(OSError, ValueError), open(path, encoding="utf-8", errors="replace",
                                                        opener=_safe_open) as f:
        for line in f.read(1 << 20).splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[2].strip().isdigit():
                names.setdefault(int(fields[2]), fields[0])
    return names


def _safe_open(path: str, flags: int) -> int:
    """No symlink at the end, and never blocking on a fifo put where a file was."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path}: not a regular file")
    return fd


def pack(source: str, name: str, out: BinaryIO, keep_mounts: list[str]) -> None:
    """A tar of ``source`` whose root entry is called ``name`` (dockerd's TarResourceRebase); symlinks are
    archived, never followed; other filesystems mounted below (the container's /proc, /sys, /dev) are
    archived as empty directories, except the volumes and binds named in ``keep_mounts``."""
    users, groups = _names("/etc/passwd"), _names("/etc/group")
    tarfile.pwd = None  # type: ignore[attr-defined]  # no NSS lookups in the chroot (see _names)
    tarfile.grp = None  # type: ignore[attr-defined]
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:

        def add(path: str, arcname: str) -> tarfile.TarInfo:
            info = tar.gettarinfo(path, arcname)
            info.name = arcname  # gettarinfo strips a leading "/"; dockerd's rebase of "/" keeps it
            info.uname, info.gname = users.get(info.uid, ""), groups.get(info.gid, "")
            if info.isreg():
                with open(path, "rb", opener=_safe_open) as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            return info

        top = add(source, name)
        if not top.isdir():
            return
        top_dev = os.lstat(source).st_dev
        # depth first in name order, as Go's filepath.Walk
        stack: list[tuple[str, str, list[str]]] = [(source, name, sorted(os.listdir(source), reverse=True))]
        while stack:
            path, arc, pending = stack[-1]
            if not pending:
                stack.pop()
                continue
            entry = pending.pop()
            full, sub = posixpath.join(path, entry), posixpath.join(arc, entry)
            try:
                info = add(full, sub)
                if info.isdir() and (os.lstat(full).st_dev == top_dev or full in keep_mounts):
                    stack.append((full, sub, sorted(os.listdir(full), reverse=True)))
            except FileNotFoundError:
                continue  # gone while we walked


def main(argv: list[str]) -> int:
    try:
        rest = _enter(argv)
    except OSError as err:
        sys.stderr.write(f"{err}\n")
        return 2
    if rest[:1] == ["--tar"]:
        source, name, keep = rest[1], rest[2], rest[3:]
        try:
            pack(source, name, sys.stdout.buffer, keep)
        except OSError as err:
            sys.stderr.write(f"{err}\n")
            return 1
        return 0
    dest, no_overwrite, chown = "/", False, None
    while rest:
        flag = rest.pop(0)
        if flag == "--dest":
            dest = rest.pop(0)
        elif flag == "--no-overwrite-dir-non-dir":
            no_overwrite = True
        elif flag == "--chown":
            uid, _, gid = rest.pop(0).partition(":")
            chown = (int(uid), int(gid))
    os.umask(0o022)
    try:
        if not os.path.exists(dest):
            return 3
        if not os.path.isdir(dest):
            return 4
        dest = os.path.realpath(dest)  # in the chroot: the container's view of its symlinks
        unpack(sys.stdin.buffer, dest, no_overwrite, chown)
    except UntarError as err:
        sys.stderr.write(f"{err}\n")
        return 1
    except OSError as err:
        sys.stderr.write(f"{err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
