"""The create<->child sync protocol, and the init's syscall sequences recorded by the Syscalls fake."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from skiff.oci.runtime import Capabilities, Namespace, Spec
from skiff.runtime import init, namespaces, rootfs, sync
from skiff.runtime.errors import ContainerError
from skiff.runtime.syscalls.recording import RecordingSyscalls

pytestmark = pytest.mark.unit

sys.path.insert(0, str(Path(__file__).parents[2] / "integration" / "runtime"))
from runc_bundle import docker_config  # noqa: E402


@pytest.mark.parametrize("msg", [sync.CgroupsReady(), sync.InitPid(1234), sync.Hooks(), sync.Resume(),
                                 sync.Ready(),
                                 sync.Error('exec: "x": not found\nsecond line')])
def test_round_trip(msg: sync.Message) -> None:
    line = sync.encode(msg)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert sync.decode(line[:-1]) == msg


@pytest.mark.parametrize("line", [b"", b"{}", b"nope", b'{"type": "init-pid"}',
                                  b'{"type": "init-pid", "pid": "1"}', b'{"type": "teleport"}', b"[1]"])
def test_bad_messages(line: bytes) -> None:
    with pytest.raises(sync.ProtocolError):
        sync.decode(line)


def test_channel_over_pipes() -> None:
    a_r, b_w = os.pipe()
    b_r, a_w = os.pipe()
    a, b = sync.Channel(a_r, a_w), sync.Channel(b_r, b_w)
    a.send(sync.InitPid(7))
    a.send(sync.Ready())
    assert b.recv() == sync.InitPid(7)
    assert b.recv() == sync.Ready()
    a.close()
    assert b.recv() is None
    b.close()


def test_channel_truncated() -> None:
    r, w = os.pipe()
    os.write(w, b'{"type": "re')
    os.close(w)
    channel = sync.Channel(r, -1)
    with pytest.raises(sync.ProtocolError, match="truncated"):
        channel.recv()
    os.close(r)


def test_namespaces_unshare_and_join(tmp_path: Path) -> None:
    rec = RecordingSyscalls()
    ns_file = tmp_path / "netns"
    ns_file.touch()
    flags = namespaces.enter([Namespace("pid"), Namespace("network", str(ns_file)), Namespace("mount"),
                              Namespace("uts"), Namespace("ipc")], rec)
    assert rec.names() == ["setns", "unshare"]
    assert rec.calls[0][2] == namespaces.CLONE_FLAGS["network"]
    expected = sum(namespaces.CLONE_FLAGS[k] for k in ("pid", "mount", "uts", "ipc"))
    assert rec.calls[1] == ("unshare", expected) and flags == expected


def test_namespace_unshare_failure_is_reported() -> None:
    with pytest.raises(ContainerError, match="unshare namespaces"):
        namespaces.enter([Namespace("pid")], RecordingSyscalls(fail={"unshare": 1}))


def test_unknown_namespace() -> None:
    with pytest.raises(ContainerError, match="not supported"):
        namespaces.enter([Namespace("bogus")], RecordingSyscalls())


def test_rootfs_prepare_mount_sequence(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    root.mkdir()
    spec = Spec.from_dict(docker_config(["true"]))
    rec = RecordingSyscalls()
    rootfs.prepare(spec, str(root), rec, {"pids": "/c1"}, {"pids": "/sys/fs/cgroup/pids"})
    mounts = [c for c in rec.calls if c[0] == "mount"]
    assert mounts[0] == ("mount", "", "/", "", rootfs.MS_SLAVE | rootfs.MS_REC, "")
    assert mounts[1] == ("mount", str(root), str(root), "bind", rootfs.MS_BIND | rootfs.MS_REC, "")
    by_target = {c[2]: c for c in mounts[2:] if c[3]}
    proc = by_target[f"{root}/proc"]
    nosuid_noexec_nodev = rootfs.MS_NOSUID | rootfs.MS_NOEXEC | rootfs.MS_NODEV
    assert proc[1:] == ("proc", f"{root}/proc", "proc", nosuid_noexec_nodev, "")
    assert by_target[f"{root}/dev"][5] == "mode=755,size=65536k"
    assert by_target[f"{root}/dev/pts"][5] == "newinstance,ptmxmode=0666,mode=0620,gid=5"
    assert by_target[f"{root}/sys"][4] & rootfs.MS_RDONLY
    cgroup_bind = [c for c in mounts if c[2] == f"{root}/sys/fs/cgroup/pids"]
    assert cgroup_bind[0][1] == "/sys/fs/cgroup/pids/c1"
    assert cgroup_bind[1][4] & rootfs.MS_RDONLY
    devices = [c[2] for c in mounts if c[1].startswith("/dev/")]
    if os.geteuid() == 0:  # mknod, as runc; binds of the host's nodes only where mknod is refused
        assert devices == []
        null = os.stat(root / "dev" / "null")
        assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
        assert stat.S_IMODE(null.st_mode) == 0o666
    else:
        assert devices == [f"{root}/dev/{d}" for d, _, _ in rootfs.DEVICES if os.path.exists(f"/dev/{d}")]
    assert os.readlink(root / "dev" / "ptmx") == "pts/ptmx"
    assert os.readlink(root / "dev" / "stdout") == "/proc/self/fd/1"
    order = [c[2] for c in mounts]
    assert order.index(f"{root}/dev") < order.index(f"{root}/dev/pts")


def test_pivot_root_sequence(tmp_path: Path) -> None:
    rec = RecordingSyscalls()
    cwd = os.getcwd()
    try:
        rootfs.pivot_root(str(tmp_path), rec)
    finally:
        os.chdir(cwd)
    assert rec.names() == ["pivot_root", "mount", "umount2"]
    assert rec.calls[0] == ("pivot_root", ".", ".")
    assert rec.calls[2] == ("umount2", ".", rootfs.MNT_DETACH)


@pytest.mark.parametrize(("options", "flags", "propagation", "data"), [
    (["nosuid", "noexec", "nodev", "ro"],
     rootfs.MS_NOSUID | rootfs.MS_NOEXEC | rootfs.MS_NODEV | rootfs.MS_RDONLY, [], ""),
    (["rbind", "rprivate"], rootfs.MS_BIND | rootfs.MS_REC, [rootfs.MS_PRIVATE | rootfs.MS_REC], ""),
    (["ro", "rw", "mode=1777", "size=1k"], 0, [], "mode=1777,size=1k"),
])
def test_parse_options(options: list[str], flags: int, propagation: list[int], data: str) -> None:
    assert rootfs.parse_options(options) == (flags, propagation, data)


def test_secure_join_stays_inside(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "escape").symlink_to("/../../etc")
    (tmp_path / "rel").symlink_to("../../../tmp")
    assert rootfs.secure_join(str(tmp_path), "/etc/escape/passwd") == f"{tmp_path}/etc/passwd"
    assert rootfs.secure_join(str(tmp_path), "../../x") == f"{tmp_path}/x"
    assert rootfs.secure_join(str(tmp_path), "/rel/y") == f"{tmp_path}/tmp/y"


def test_capabilities() -> None:
    rec = RecordingSyscalls()
    caps = Capabilities(bounding=("CAP_KILL", "CAP_CHOWN"), effective=("CAP_KILL",),
                        permitted=("CAP_KILL",), ambient=("CAP_KILL",))
    init.drop_bounding(caps, rec)
    dropped = {c[2] for c in rec.calls if c[0] == "prctl" and c[1] == init.PR_CAPBSET_DROP}
    assert init.CAP_NUMBERS["CAP_KILL"] not in dropped and init.CAP_NUMBERS["CAP_CHOWN"] not in dropped
    assert init.CAP_NUMBERS["CAP_SYS_ADMIN"] in dropped
    rec.calls.clear()
    init.apply_caps(caps, rec)
    cap_kill = init.CAP_NUMBERS["CAP_KILL"]
    assert rec.calls == [("capset", 1 << cap_kill, 1 << cap_kill, 0),
                         ("prctl", init.PR_CAP_AMBIENT, init.PR_CAP_AMBIENT_RAISE, cap_kill)]
    rec.calls.clear()  # unknown names are ignored, as runc 1.1 (create warned about them)
    init.apply_caps(Capabilities(effective=("CAP_BOGUS", "CAP_KILL")), rec)
    assert rec.calls == [("capset", 1 << cap_kill, 0, 0)]


def test_lookpath(tmp_path: Path) -> None:
    exe = tmp_path / "bin" / "tool"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    (tmp_path / "noexec").write_text("")
    assert init.lookpath("tool", f"/nonexistent:{exe.parent}") == str(exe)
    assert init.lookpath(str(exe), "") == str(exe)
    with pytest.raises(ContainerError, match=r'exec: "nosuch": executable file not found in \$PATH'):
        init.lookpath("nosuch", str(exe.parent))
    with pytest.raises(ContainerError, match="permission denied"):
        init.lookpath(str(tmp_path / "noexec"), "")
    with pytest.raises(ContainerError, match="no such file or directory"):
        init.lookpath("/nope/x", "")




def test_finalize_masks_and_readonly_paths(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("")
    spec = Spec.from_dict({**docker_config(["true"]), "root": {"path": "rootfs", "readonly": True}})
    linux = spec.linux
    assert linux is not None
    masked = (f"{tmp_path}/dir", f"{tmp_path}/file", f"{tmp_path}/gone")
    spec = spec.replace(linux=linux.replace(masked_paths=masked, readonly_paths=(f"{tmp_path}/dir",)))
    rec = RecordingSyscalls()
    rootfs.finalize(spec, rec)
    ro_bind, ro_remount, mask_dir, mask_file, root_ro = rec.calls
    assert ro_bind == ("mount", f"{tmp_path}/dir", f"{tmp_path}/dir", "", rootfs.MS_BIND | rootfs.MS_REC, "")
    assert ro_remount[4] & (rootfs.MS_BIND | rootfs.MS_REMOUNT | rootfs.MS_RDONLY) == (
        rootfs.MS_BIND | rootfs.MS_REMOUNT | rootfs.MS_RDONLY)
    assert mask_dir == ("mount", "tmpfs", f"{tmp_path}/dir", "tmpfs", rootfs.MS_RDONLY, "")
    assert mask_file == ("mount", "/dev/null", f"{tmp_path}/file", "", rootfs.MS_BIND, "")
    assert root_ro == ("mount", "/", "/", "", rootfs.MS_BIND | rootfs.MS_REMOUNT | rootfs.MS_RDONLY, "")
