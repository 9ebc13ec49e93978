"""The local volume driver's work on a real kernel: driver-option mounts that follow their users (and a
restart of skiffd), the copy-up from an overlay view of the image, and a removal that never deletes through
a mount."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from skiff.engine.backend import volume_local, volume_meta
from skiff.engine.backend.events import EventBus
from skiff.engine.backend.record import Container
from skiff.engine.backend.volumes import VolumeStore, mount_point

pytestmark = pytest.mark.root


def _record(cid: str, points: dict[str, dict[str, Any]], **kw: Any) -> Container:
    return Container(id=cid, name=f"/{cid}", created="", path="true", args=[], config={},
                     host_config=kw.pop("host_config", {}), image="sha256:x", mount_points=points, **kw)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = VolumeStore(tmp_path / "volumes")
    yield s
    for name in s.names():
        volume_local.unmount_driver(s, name)


def test_tmpfs_volume_is_mounted_while_used_and_unmounted_after(store: VolumeStore) -> None:
    name = store.create("tmpv")
    volume_meta.save(store, name, None, {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    events = EventBus()
    mounts = volume_local.LocalMounts(store, events)
    point = mount_point(name, str(store.mountpoint(name)), "/data", True)
    a, b = _record("a" * 64, {"/data": point}), _record("b" * 64, {"/data": dict(point)})
    mounts.mount(a)
    mounts.mount(b)
    assert volume_local.is_mounted(store.mountpoint(name))
    mounts.release(a.id)
    assert volume_local.is_mounted(store.mountpoint(name))  # b still uses it
    mounts.release(b.id)
    mounts.release(b.id)  # idempotent
    assert not volume_local.is_mounted(store.mountpoint(name))
    assert [e["Action"] for e in events.history] == ["mount", "mount", "unmount", "unmount"]


def test_adopt_after_a_restart_keeps_running_users_and_drops_orphan_mounts(store: VolumeStore) -> None:
    kept, orphan = store.create("keptv"), store.create("orphanv")
    for name in (kept, orphan):
        volume_meta.save(store, name, None, {"type": "tmpfs", "device": "tmpfs"})
        volume_local.mount_driver(store, name)
    mounts = volume_local.LocalMounts(store, EventBus())  # a fresh skiffd
    running = _record("c" * 64, {"/d": mount_point(kept, "", "/d", True)})
    mounts.adopt([running])
    assert volume_local.is_mounted(store.mountpoint(kept))
    assert not volume_local.is_mounted(store.mountpoint(orphan))
    mounts.release(running.id)
    assert not volume_local.is_mounted(store.mountpoint(kept))


def test_remove_of_a_bind_volume_never_deletes_the_host_directory(store: VolumeStore, tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "precious").write_text("keep me\n")
    name = store.create("bindv")
    volume_meta.save(store, name, None, {"type": "none", "device": str(host), "o": "bind"})
    volume_local.mount_driver(store, name)
    assert (store.mountpoint(name) / "precious").exists()
    store.remove(name, [])
    assert (host / "precious").read_text() == "keep me\n"
    assert not (store.root / name).exists()


def test_copy_up_from_the_image_layers_into_an_empty_volume(store: VolumeStore, tmp_path: Path) -> None:
    lower1, lower2, upper = tmp_path / "l1", tmp_path / "l2", tmp_path / "up"
    for d in (lower1 / "etc", lower2 / "etc", upper):
        d.mkdir(parents=True)
    (lower2 / "etc" / "old").write_text("below\n")
    (lower1 / "etc" / "new").write_text("above\n")
    os.chmod(lower1 / "etc", 0o750)
    os.symlink("new", lower1 / "etc" / "link")
    name = store.create("copyv")
    rec = _record("d" * 64, {"/etc": mount_point(name, str(store.mountpoint(name)), "/etc", True)},
                  rootfs_mounts=[{"type": "overlay", "source": "overlay", "target": "",
                                  "options": [f"upperdir={upper}", f"lowerdir={lower1}:{lower2}",
                                              f"workdir={tmp_path / 'work'}"]}])
    volume_local.populate(store, rec)
    data = store.mountpoint(name)
    assert (data / "old").read_text() == "below\n" and (data / "new").read_text() == "above\n"
    assert os.readlink(data / "link") == "new"
    assert os.stat(data).st_mode & 0o777 == 0o750
    assert "skiff-copyup" not in Path("/proc/self/mountinfo").read_text()  # the overlay view is gone
    (data / "new").write_text("mine\n")
    volume_local.populate(store, rec)  # not empty any more: left alone
    assert (data / "new").read_text() == "mine\n"
