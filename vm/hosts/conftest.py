"""The daemons under check: the reference as configured in vm.local, Skiff as conformance.target starts it.

Skiff is started here if its socket is silent (and stopped again after), so the checks run after a
feature run that stopped its daemon; the leftovers checks are what that run left behind.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from conformance.target import target  # noqa: E402
from vm.local import LocalDockerd  # noqa: E402
from vm.ping import unix_path  # noqa: E402


@dataclass(frozen=True)
class Daemon:
    name: str
    host: str
    socket: str
    process: str  # basename of the daemon's executable or script
    data_root: str
    exec_root: str
    cgroup_parent: str  # per-container cgroups live at /sys/fs/cgroup/<ctrl>/<parent>/<id>
    shim: str  # the per-container process's comm name


@pytest.fixture(scope="session", params=["docker", "skiff"])
def daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    t = target(request.param)
    t.ensure_running()
    try:
        if request.param == "docker":
            ref = LocalDockerd(host=t.host)
            yield Daemon("docker", t.host, unix_path(t.host), "dockerd", str(ref.data_root),
                         str(ref.exec_root), "docker", "containerd-shim")
        else:
            yield Daemon("skiff", t.host, unix_path(t.host), "skiffd", "/var/lib/skiff", "/var/run/skiff",
                         "skiff", "skiff-shim")
    finally:
        t.stop_if_started()
