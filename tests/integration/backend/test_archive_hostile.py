"""Hostile tars through ``PUT /containers/{id}/archive`` on a real stack: whatever the tar holds (``../``,
absolute names, symlinks and hardlinks to host paths, writes through them, devices), no file appears on the
host outside the container's own layer, and no host file gains a link. Counted by a marker in every name."""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_support import Skiffd, child_count

pytestmark = pytest.mark.root


# host directories these tars aim at (listed for the marker after the PUTs; the test's own directory and
# the daemon's root are walked whole)
WATCHED = ["/", "/tmp", "/etc", "/root", "/var/tmp", "/usr/local", "/srv", "/opt"]


def _tar(members: list[tuple[str, str, str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o644
            if kind == "file":
                info.size = len(target)
                tar.addfile(info, io.BytesIO(target.encode()))
                continue
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, target
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, target
            elif kind == "chardev":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            tar.addfile(info)
    return buf.getvalue()


def _hostile(mark: str, outside: Path) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(destination, members): every name carries ``mark``; ``outside`` is a real host directory."""
    up = "../" * 12
    return [
        ("/tmp", [(f"{up}tmp/{mark}-dotdot", "file", "x")]),
        ("/tmp", [(f"a/{up}{outside.relative_to('/')}/{mark}-dotdot-mid", "file", "x")]),
        ("/", [(f"{up}etc/{mark}-etc", "file", "x")]),
        ("/tmp", [(f"{outside}/{mark}-abs", "file", "x")]),
        ("/tmp", [(f"{mark}-esc", "symlink", str(outside)), (f"{mark}-esc/{mark}-through", "file", "x")]),
        ("/tmp", [(f"{mark}-rel", "symlink", f"{up}{outside.relative_to('/')}"),
                  (f"{mark}-rel/{mark}-through-rel", "file", "x")]),
        ("/tmp", [(f"{mark}-etcdir", "symlink", "/etc"), (f"{mark}-etcdir/{mark}-via-etc", "file", "x")]),
        ("/", [(f"{mark}-hl", "hardlink", f"{outside}/secret")]),
        ("/tmp", [(f"{mark}-hl-up", "hardlink", f"{up}{outside.relative_to('/')}/secret")]),
        ("/tmp", [(f"{mark}-dir", "dir", ""), (f"{mark}-dir/{up}{mark}-dir-escape", "file", "x")]),
        ("/tmp", [(f"{mark}-null", "chardev", ""), (f"{mark}-fifo", "fifo", "")]),
        ("/tmp", [(f"{mark}-lnk", "symlink", f"{outside}/secret"), (f"{mark}-lnk", "file", "overwrite")]),
        (f"/tmp/{mark}-esc", [(f"{mark}-into-link", "file", "x")]),
    ]


def _listed(mark: str) -> list[str]:
    return [os.path.join(d, n) for d in WATCHED for n in os.listdir(d) if mark in n]


def _marked(mark: str, roots: list[str], inside: list[str]) -> list[str]:
    found: list[str] = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if any(dirpath == p or dirpath.startswith(p + "/") for p in inside):
                dirnames[:] = []
                continue
            found += [os.path.join(dirpath, n) for n in dirnames + filenames if mark in n]
    return found


@pytest.fixture
def api(skiffd: Skiffd) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(skiffd.sock)), base_url="http://skiff/v1.39",
                      timeout=60) as client:
        yield client


@pytest.mark.parametrize("running", [True, False], ids=["running", "created"])
def test_hostile_tars_write_nothing_outside(skiffd: Skiffd, api: httpx.Client, tmp_path: Path,
                                            running: bool) -> None:
    mark = f"h3b{uuid.uuid4().hex[:8]}"
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret"
    secret.write_text("host only\n")
    answer = api.post("/containers/create", json={"Image": "busybox", "Cmd": ["sleep", "300"],
                                                  "HostConfig": {"NetworkMode": "none"}})
    assert answer.status_code == 201, answer.text
    cid = answer.json()["Id"]
    try:
        if running:
            assert api.post(f"/containers/{cid}/start").status_code == 204
        graph: dict[str, Any] = api.get(f"/containers/{cid}/json").json()["GraphDriver"]["Data"]
        inside = [graph["UpperDir"], graph["WorkDir"], graph["MergedDir"]]
        statuses = []
        for dest, members in _hostile(mark, outside):
            resp = api.put(f"/containers/{cid}/archive", params={"path": dest}, content=_tar(members))
            statuses.append((dest, members[0][0], resp.status_code, resp.text))
        assert all(code in (200, 404, 500) for _d, _n, code, _t in statuses), statuses
        leaked = _listed(mark) + _marked(mark, [str(tmp_path), str(skiffd.root)], inside)
        assert leaked == [], f"files outside the container: {leaked}\n{statuses}"
        assert sorted(p.name for p in outside.iterdir()) == ["secret"]
        assert secret.read_text() == "host only\n" and secret.stat().st_nlink == 1
        assert not any(mark in line for line in Path("/proc/mounts").read_text().splitlines())
        # what did land, landed inside the container's own layer
        assert _marked(mark, [graph["UpperDir"]], []), "nothing was written into the container at all"
    finally:
        api.delete(f"/containers/{cid}", params={"force": "1"})
    assert not [p for p in Path("/tmp").iterdir() if p.name.startswith("skiff-untar-")]


def test_many_puts_leak_nothing(skiffd: Skiffd, api: httpx.Client) -> None:
    """100 PUTs (half into a stopped container, which mounts its layers privately) leave skiffd's fds,
    threads and children, the host's mounts and /tmp as they were."""
    assert skiffd.process is not None
    pid = skiffd.process.pid
    running = api.post("/containers/create", json={"Image": "busybox", "Cmd": ["sleep", "300"],
                                                   "HostConfig": {"NetworkMode": "none"}}).json()["Id"]
    stopped = api.post("/containers/create", json={"Image": "busybox", "Cmd": ["true"],
                                                   "HostConfig": {"NetworkMode": "none"}}).json()["Id"]
    try:
        assert api.post(f"/containers/{running}/start").status_code == 204
        body = _tar([("f", "file", "x"), ("up", "symlink", "../../etc"), ("g", "file", "never")])

        def snapshot() -> tuple[int, int, int, int, int]:
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            threads = len(os.listdir(f"/proc/{pid}/task"))
            children = child_count(pid)
            mounts = sum("skiff-untar" in line for line in Path("/proc/mounts").read_text().splitlines())
            scratch = len([p for p in Path("/tmp").iterdir() if p.name.startswith("skiff-untar-")])
            return fds, threads, children, mounts, scratch

        for cid in (running, stopped):  # warm up (thread pools, connections)
            api.put(f"/containers/{cid}/archive", params={"path": "/tmp"}, content=body)
        before = snapshot()
        for i in range(100):
            cid = running if i % 2 else stopped
            resp = api.put(f"/containers/{cid}/archive", params={"path": "/tmp"}, content=body)
            assert resp.status_code == 500 and "invalid symlink" in resp.text, resp.text
        after = snapshot()
        assert after[0] <= before[0] + 3 and after[1] <= before[1] + 3, (before, after)
        assert after[2:] == before[2:], (before, after)
    finally:
        for cid in (running, stopped):
            api.delete(f"/containers/{cid}", params={"force": "1"})
