"""What the local volume driver does around a container's run: mounts a volume made with driver options
(``type``/``device``/``o``, e.g. a tmpfs or ``o=bind``) on its ``_data`` while containers use it, copies the
image's content into a new empty volume (dockerd's copy-up, skipped with ``nocopy``), resolves
``--volumes-from`` into mount points, and reports ``mount``/``unmount`` events as dockerd does.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.engine.backend import volume_meta
from skiff.engine.backend.record import Container

log = logging.getLogger("skiff.engine.backend.volume_local")

MS_RDONLY = 0x1
MNT_DETACH = 0x2
_FLAGS: dict[str, tuple[bool, int]] = {  # option -> (clears?, flag), as mount(8) reads them
    "ro": (False, 0x1), "rw": (True, 0x1), "nosuid": (False, 0x2), "suid": (True, 0x2),
    "nodev": (False, 0x4), "dev": (True, 0x4), "noexec": (False, 0x8), "exec": (True, 0x8),
    "sync": (False, 0x10), "async": (True, 0x10), "remount": (False, 0x20), "dirsync": (False, 0x80),
    "noatime": (False, 0x400), "atime": (True, 0x400), "nodiratime": (False, 0x800),
    "bind": (False, 0x1000), "rbind": (False, 0x1000 | 0x4000), "relatime": (False, 1 << 21),
    "strictatime": (False, 1 << 24), "defaults": (False, 0),
}
_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str, target: str, fstype: str, flags: int, data: str) -> None:
    res = _libc.mount(source.encode() or None, target.encode(), fstype.encode() or None,
                      ctypes.c_ulong(flags), data.encode() or None)
    if res != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _umount(target: str) -> None:
    if _libc.umount2(target.encode(), ctypes.c_int(MNT_DETACH)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def is_mounted(path: str | Path) -> bool:
    """A mount point, binds of a directory on the same filesystem included (``os.path.ismount`` misses
    those)."""
    want = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split(" ", 5)[4]
                if "\\" in point:
                    point = point.encode().decode("unicode_escape")
                if point == want:
                    return True
    except OSError:
        return os.path.ismount(want)
    return False


def parse_o(o: str) -> tuple[int, str]:
    """``o`` of a local volume -> (mount flags, data string), like dockerd's mount.ParseOptions."""
    flags, data = 0, []
    for opt in (x for x in o.split(",") if x):
        if opt in _FLAGS:
            clear, bit = _FLAGS[opt]
            flags = flags & ~bit if clear else flags | bit
        else:
            data.append(opt)
    return flags, ",".join(data)


def has_mount_options(store: Any, name: str) -> bool:
    opts = volume_meta.load(store, name).get("Options") or {}
    return bool(opts.get("type") or opts.get("device"))


def mount_driver(store: Any, name: str) -> None:
    """Mount the volume's ``type``/``device``/``o`` on its ``_data`` (once; a no-op without options)."""
    opts = volume_meta.load(store, name).get("Options") or {}
    if not (opts.get("type") or opts.get("device")):
        return
    target = str(store.mountpoint(name))
    if is_mounted(target):
        return
    flags, data = parse_o(str(opts.get("o") or ""))
    if opts.get("size"):
        data = ",".join(x for x in (data, f"size={opts['size']}") if x)
    device, fstype = str(opts.get("device") or ""), str(opts.get("type") or "")
    try:
        _mount(device, target, "" if fstype == "none" else fstype, flags, data)
    except OSError as err:
        raise errdefs.Unknown(
            f"error while mounting volume '{target}': failed to mount local volume: mount {device}:{target}, "
            f"flags: {flags:#x}, data: {data}: {(err.strerror or str(err)).lower()}"
        ) from None


def unmount_driver(store: Any, name: str) -> None:
    target = str(store.mountpoint(name))
    if is_mounted(target):
        try:
            _umount(target)
        except OSError as err:
            log.warning("cannot unmount volume %s: %s", name, err)


class LocalMounts:
    """Which running containers use which volumes: mounts on first use, unmounts after the last."""

    def __init__(self, store: Any, events: Any) -> None:
        self.store = store
        self.events = events
        self._users: dict[str, set[str]] = {}

    def mount(self, record: Container) -> None:
        done: list[str] = []
        try:
            for dest in sorted(record.mount_points):
                point = record.mount_points[dest]
                if point.get("Type") != "volume":
                    continue
                name = str(point["Name"])
                if not self._users.get(name):
                    mount_driver(self.store, name)
                self._users.setdefault(name, set()).add(record.id)
                done.append(name)
                self.events.publish("volume", "mount", name, {
                    "container": record.id, "destination": dest,
                    "driver": str(point.get("Driver") or "local"),
                    "propagation": str(point.get("Propagation") or ""),
                    "read/write": "true" if point.get("RW", True) else "false",
                })
        except BaseException:
            self.release(record.id, quiet=True)
            raise

    def release(self, cid: str, quiet: bool = False) -> None:
        """The container stopped (or never started): unmount what only it used; idempotent."""
        for name, users in list(self._users.items()):
            if cid not in users:
                continue
            users.discard(cid)
            if not quiet:
                self.events.publish("volume", "unmount", name, {"container": cid, "driver": "local"})
            if not users:
                del self._users[name]
                unmount_driver(self.store, name)

    def adopt(self, running: list[Container]) -> None:
        """After a restart of skiffd: the running containers' volumes are in use again, and a driver mount
        no running container uses (its container stopped while skiffd was down) goes."""
        for record in running:
            for point in record.mount_points.values():
                if point.get("Type") == "volume":
                    self._users.setdefault(str(point["Name"]), set()).add(record.id)
        for name in self.store.names():
            if not self._users.get(name) and has_mount_options(self.store, name):
                unmount_driver(self.store, name)

    def in_use(self, name: str) -> bool:
        return bool(self._users.get(name))


def create_for(store: Any, point: dict[str, Any], hc: dict[str, Any]) -> str:
    """The volume of a new mount point (made if missing); a volume this makes for a ``Mounts`` entry gets
    that entry's ``VolumeOptions`` labels and driver options (``--mount ...,volume-opt=type=tmpfs``), as
    dockerd creates it with them."""
    name = str(point.get("Name") or "")
    existed = bool(name) and store.exists(name)
    name = str(store.create(name or None))
    if existed:
        return name
    for m in hc.get("Mounts") or []:
        if m.get("Type") != "volume" or m.get("Target") != point.get("Destination"):
            continue
        opts = m.get("VolumeOptions") or {}
        driver = opts.get("DriverConfig") or {}
        labels = {str(k): str(v) for k, v in (opts.get("Labels") or {}).items()}
        options = {str(k): str(v) for k, v in (driver.get("Options") or {}).items()}
        if labels or options:
            try:
                volume_meta.save(store, name, labels, options)
            except errdefs.SkiffError:
                store.remove(name, [], force=True)
                raise
    return name


# ---------- copy-up ----------
def _nocopy(record: Container, dest: str) -> bool:
    hc = record.host_config
    for bind in hc.get("Binds") or []:
        parts = str(bind).split(":")
        if len(parts) > 2 and parts[1] == dest and "nocopy" in parts[2].split(","):
            return True
    for m in hc.get("Mounts") or []:
        if m.get("Target") == dest and (m.get("VolumeOptions") or {}).get("NoCopy"):
            return True
    return False


def _image_root(mounts: list[dict[str, Any]], tmp: str) -> tuple[str, bool]:
    """A read-only view of the container's (new, so still the image's) rootfs: (path, mounted by us)."""
    for m in mounts:
        if m.get("type") == "overlay":
            opts = list(m.get("options") or [])
            upper = [o.split("=", 1)[1] for o in opts if o.startswith("upperdir=")]
            lower = [o.split("=", 1)[1] for o in opts if o.startswith("lowerdir=")]
            dirs = ":".join([*upper, *lower])
            if dirs.count(":") == 0:
                return dirs, False
            _mount("overlay", tmp, "overlay", MS_RDONLY, f"lowerdir={dirs}")
            return tmp, True
        if m.get("source"):
            return str(m["source"]), False
    raise FileNotFoundError("no rootfs")


def _inside(root: str, path: str) -> str | None:
    """``path`` resolved in ``root`` with symlinks scoped to it, or None when missing."""
    parts = [p for p in path.split("/") if p and p != "."]
    cur, hops = "", 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            cur = os.path.dirname(cur)
            continue
        nxt = os.path.join(cur, part)
        full = os.path.join(root, nxt)
        if os.path.islink(full):
            hops += 1
            if hops > 40:
                return None
            target = os.readlink(full)
            parts = [p for p in target.split("/") if p and p != "."] + parts
            if target.startswith("/"):
                cur = ""
            continue
        cur = nxt
    full = os.path.join(root, cur)
    return full if os.path.lexists(full) else None


def _copy_tree(src: str, dst: str) -> None:
    """Content, modes, owners and times of ``src`` into the empty ``dst`` (dockerd's copyExistingContents)."""
    st = os.lstat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    os.chmod(dst, st.st_mode & 0o7777)
    for entry in os.scandir(src):
        s, d = entry.path, os.path.join(dst, entry.name)
        est = entry.stat(follow_symlinks=False)
        if entry.is_symlink():
            os.symlink(os.readlink(s), d)
        elif entry.is_dir(follow_symlinks=False):
            os.mkdir(d)
            _copy_tree(s, d)
        elif entry.is_file(follow_symlinks=False):
            shutil.copyfile(s, d, follow_symlinks=False)
            os.chmod(d, est.st_mode & 0o7777)
        else:
            os.mknod(d, est.st_mode, est.st_rdev)
        os.lchown(d, est.st_uid, est.st_gid)
        with contextlib.suppress(OSError):
            os.utime(d, ns=(est.st_atime_ns, est.st_mtime_ns), follow_symlinks=False)


def populate(store: Any, record: Container) -> None:
    """Copy the image's content at each volume's destination into the volume when it is empty (at
    create, as dockerd does; a volume with driver options is mounted for the copy and unmounted after)."""
    wanted = [
        (dest, str(p["Name"])) for dest, p in record.mount_points.items()
        if p.get("Type") == "volume" and not _nocopy(record, dest)
    ]
    if not wanted:
        return
    with tempfile.TemporaryDirectory(prefix="skiff-copyup-") as tmp:
        try:
            root, mounted = _image_root(record.rootfs_mounts, tmp)
        except (OSError, FileNotFoundError) as err:
            log.warning("no image view for the copy-up of %s: %s", record.id, err)
            return
        try:
            for dest, name in wanted:
                src = _inside(root, dest)
                if src is None or not os.path.isdir(src):
                    continue
                own_mount = has_mount_options(store, name) and not is_mounted(store.mountpoint(name))
                if own_mount:
                    mount_driver(store, name)
                try:
                    target = Path(store.mountpoint(name))
                    if not any(target.iterdir()):
                        _copy_tree(src, str(target))
                finally:
                    if own_mount:
                        unmount_driver(store, name)
        finally:
            if mounted:
                _umount(tmp)


# ---------- --volumes-from ----------
def inherit(
    hc: dict[str, Any], lookup: Callable[[str], Container], taken: set[str]
) -> dict[str, dict[str, Any]]:
    """``VolumesFrom`` (``name[:ro|:rw]``) -> the other containers' mount points (volumes and binds) for
    destinations this container does not mount itself."""
    out: dict[str, dict[str, Any]] = {}
    for spec in hc.get("VolumesFrom") or []:
        ref, _, mode = str(spec).partition(":")
        if mode and mode not in ("ro", "rw", "z", "Z") and not set(mode.split(",")) <= {"ro", "rw", "z", "Z"}:
            raise errdefs.InvalidArgument(f"invalid mode: {mode}")
        try:
            other = lookup(ref)
        except errdefs.NotFound as err:  # dockerd answers 400 here (a 404 would make the CLI pull)
            raise errdefs.InvalidArgument(str(err)) from None
        for dest, point in _points_of(other).items():
            if dest in taken:
                continue
            p = dict(point)
            p["RW"] = bool(p.get("RW", True)) and "ro" not in mode.split(",")  # RW && ReadWrite(mode)
            p["Mode"] = ""  # dockerd does not carry the mode over
            out[dest] = p
    return out


def _points_of(other: Container) -> dict[str, dict[str, Any]]:
    points = {dest: dict(p) for dest, p in other.mount_points.items()}
    hc = other.host_config
    for bind in hc.get("Binds") or []:
        parts = str(bind).split(":")
        if len(parts) >= 2 and parts[0].startswith("/"):
            mode = parts[2] if len(parts) > 2 else ""
            points[parts[1]] = _bind_point(parts[0], parts[1], mode, "ro" not in mode.split(","))
    for m in hc.get("Mounts") or []:
        if m.get("Type") == "bind":
            target = str(m["Target"])
            points[target] = _bind_point(str(m["Source"]), target, "", not m.get("ReadOnly"))
    return points


def _bind_point(source: str, dest: str, mode: str, rw: bool) -> dict[str, Any]:
    # "Named" (internal, never shown) keeps a bind out of the anonymous-volume clean-ups
    return {"Type": "bind", "Source": source, "Destination": dest, "Mode": mode, "RW": rw,
            "Propagation": "rprivate", "Named": True}
