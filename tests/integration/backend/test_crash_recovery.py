"""Nothing is lost when both daemons die: kill -9 skiffd and skiff-containerd, the container keeps running
under its shim; a new skiffd lists it, shows its logs and stops it with the right exit code, and the
container that exited while no daemon ran is reported as exited with its status."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from backend_support import Skiffd

pytestmark = pytest.mark.root


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def mounts_under(root: Path) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(root) in line]


def test_containers_outlive_both_daemons(skiffd: Skiffd) -> None:
    assert skiffd.process is not None
    script = 'echo started; trap "echo got term; exit 7" TERM; while true; do sleep 0.1; done'
    cid = skiffd.docker("run", "-d", "busybox", "sh", "-c", script).stdout.decode().strip()
    loop = 'trap "exit 5" TERM; echo ready; while true; do sleep 0.1; done'
    orphan = skiffd.docker("run", "-d", "busybox", "sh", "-c", loop).stdout.decode().strip()
    wait_until(lambda: b"started" in skiffd.docker("logs", cid).stdout)
    wait_until(lambda: b"ready" in skiffd.docker("logs", orphan).stdout)
    container_pid = json.loads(skiffd.docker("inspect", cid).stdout)[0]["State"]["Pid"]
    orphan_pid = json.loads(skiffd.docker("inspect", orphan).stdout)[0]["State"]["Pid"]
    assert container_pid > 0 and orphan_pid > 0

    daemons = [skiffd.process.pid, *children(skiffd.process.pid)]
    for pid in daemons:
        os.kill(pid, signal.SIGKILL)
    skiffd.process.wait(10)
    wait_until(lambda: not any(alive(p) for p in daemons))
    assert alive(container_pid), "the container died with its daemons"
    os.kill(orphan_pid, signal.SIGTERM)  # this one exits while no daemon runs: only its shim sees it
    wait_until(lambda: not alive(orphan_pid))

    skiffd.start()
    listed = skiffd.docker("ps", "--format", "{{.ID}} {{.State}}").stdout.decode().splitlines()
    assert f"{cid[:12]} running" in listed
    assert skiffd.docker("logs", cid).stdout == b"started\n"
    state = json.loads(skiffd.docker("inspect", orphan).stdout)[0]["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 5)

    skiffd.docker("stop", cid)
    state = json.loads(skiffd.docker("inspect", cid).stdout)[0]["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 7)
    assert skiffd.docker("logs", cid).stdout == b"started\ngot term\n"
    assert not alive(container_pid)
    skiffd.docker("rm", cid, orphan)
    rootfs_mounts = [m for m in mounts_under(skiffd.root) if cid in m]
    assert rootfs_mounts == []
