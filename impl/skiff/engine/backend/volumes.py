"""Local volumes, the minimum containers need: ``<data-root>/volumes/<name>/_data`` bind-mounted in.

Like dockerd's ``local`` driver without options: a volume is a directory; a container's use of one is a
mount point in its record (``MountPoints`` in config.v2.json, keyed by destination). ``-v /data`` (or an
image/config ``Volumes`` entry) makes an anonymous volume, named by 64 random hex digits, which
``docker rm -v`` removes; ``-v name:/data`` makes (or reuses) a named one, which only ``docker volume rm``
removes. Driver options, copy-up and ``--volumes-from`` are in ``volume_local``; ``create``/``destroy``
events go to ``events`` when the daemon sets it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.engine.backend import volume_local

DRIVER = "local"
DATA = "_data"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def anonymous_name() -> str:
    return secrets.token_hex(32)


def check_name(name: str) -> None:
    """dockerd's local driver name rule."""
    if len(name) == 1:
        raise errdefs.InvalidArgument(
            f"create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )
    if not _NAME.match(name):
        raise errdefs.InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
            "use absolute path"
        )


def mount_point(name: str, source: str, destination: str, named: bool, mode: str = "") -> dict[str, Any]:
    """A container's use of a volume, as dockerd records it (and shows it, less ``Named``, in Mounts)."""
    return {
        "Type": "volume",
        "Name": name,
        "Source": source,
        "Destination": destination,
        "Driver": DRIVER,
        "Mode": mode,
        "RW": "ro" not in mode.split(","),
        "Propagation": "",
        "Named": named,
    }


class VolumeStore:
    """The volumes under one root; every call is quick filesystem work."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.events: Any = None  # the daemon's EventBus (volume create/destroy)

    def _publish(self, action: str, name: str) -> None:
        if self.events is not None:
            self.events.publish("volume", action, name, {"driver": DRIVER})

    def mountpoint(self, name: str) -> Path:
        return self.root / name / DATA

    def exists(self, name: str) -> bool:
        return bool(name) and "/" not in name and self.mountpoint(name).is_dir()

    def create(self, name: str | None = None) -> str:
        """The volume ``name`` (made if missing), or a new anonymous one; returns its name."""
        name = name or anonymous_name()
        check_name(name)
        self.mountpoint(name).mkdir(parents=True, exist_ok=True)
        self._publish("create", name)
        return name

    def inspect(self, name: str) -> dict[str, Any]:
        if not self.exists(name):
            raise errdefs.NotFound(f"get {name}: no such volume")
        created = datetime.fromtimestamp(os.stat(self.root / name).st_mtime).astimezone()
        return {
            "CreatedAt": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "Driver": DRIVER,
            "Labels": None,
            "Mountpoint": str(self.mountpoint(name)),
            "Name": name,
            "Options": None,
            "Scope": "local",
        }

    def names(self) -> list[str]:
        try:
            return sorted(e.name for e in self.root.iterdir() if (e / DATA).is_dir())
        except FileNotFoundError:
            return []

    def remove(self, name: str, users: list[str], force: bool = False) -> None:
        """dockerd's errors: in use by ``users`` (container IDs) is a conflict even with force; a
        missing volume is "no such volume" unless forced."""
        if not self.exists(name):
            if force:
                return
            raise errdefs.NotFound(f"get {name}: no such volume")
        if users:
            raise errdefs.Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        data = self.mountpoint(name)
        if volume_local.is_mounted(data):  # a driver-options mount left behind: never delete through it
            volume_local.unmount_driver(self, name)
            if volume_local.is_mounted(data):
                raise errdefs.Conflict(f"remove {name}: volume is still mounted")
        shutil.rmtree(self.root / name)
        self._publish("destroy", name)
