"""Helpers for the skiff-runc integration tests: a runtime driver, reaping, polling, error messages."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runc_bundle import docker_config, write_config


def reap(pid: int, timeout: float = 10.0) -> int | None:
    """waitpid(pid) polled until the deadline; returns the exit code (128+signal), None if not our child."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if got == pid:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code
        if time.monotonic() > deadline:
            raise TimeoutError(f"pid {pid} did not exit")
        time.sleep(0.01)


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.01)


@dataclass
class Runtime:
    """One OCI runtime binary with its own --root; remembers what to clean up."""

    name: str
    binary: str
    root: Path
    bundles: Path
    rootfs: Path
    created: dict[str, str] = field(default_factory=dict)  # id -> cgroupsPath
    pids: list[int] = field(default_factory=list)

    def __call__(self, *args: str, timeout: float = 30.0,
                 pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess[str]:
        """Run the runtime with stdout/stderr in files: a container init inherits them and may outlive us."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            res = subprocess.run([self.binary, "--root", str(self.root), *args], stdout=out, stderr=err,
                                 timeout=timeout, stdin=subprocess.DEVNULL, check=False, pass_fds=pass_fds)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(res.args, res.returncode, out.read().decode(),
                                               err.read().decode())

    def bundle(self, container_id: str, args: list[str], **kw: Any) -> Path:
        """A bundle on the shared busybox rootfs, in cgroup /skiff-runc-test-<runtime>-<id>-<random>."""
        path = self.bundles / container_id
        path.mkdir(parents=True)
        unique = uuid.uuid4().hex[:8]  # parallel workers may use the same container id
        cgroups_path = f"/skiff-runc-test-{self.name}-{container_id}-{unique}"
        config = docker_config(args, cgroups_path=cgroups_path, **kw)
        config["root"]["path"] = str(self.rootfs)
        write_config(path, config)
        self.created[container_id] = config["linux"]["cgroupsPath"]
        return path

    def state(self, container_id: str) -> dict[str, Any]:
        res = self("state", container_id)
        assert res.returncode == 0, res.stderr
        result: dict[str, Any] = json.loads(res.stdout)
        return result

    def cleanup(self) -> None:
        for cid in self.created:
            st = self("state", cid)
            if st.returncode == 0:
                pid = json.loads(st.stdout)["pid"]
                if pid:
                    self.pids.append(pid)
            self("delete", "--force", cid)
        for pid in self.pids:
            with contextlib.suppress(TimeoutError):
                reap(pid, timeout=5)
        for cgroup in self.created.values():
            for path in cgroup_dirs(cgroup):
                if path.exists():
                    path.rmdir()
        shutil.rmtree(self.root, ignore_errors=True)


def message(res: subprocess.CompletedProcess[str]) -> str:
    """The error message of a runtime run, unwrapped from logrus' ``time=.. level=error msg="..."`` line."""
    lines = res.stderr.strip().splitlines()
    if not lines:
        return ""
    last = lines[-1]
    if " msg=" in last:
        return str(json.loads(last.split(" msg=", 1)[1]))
    return last


def cgroup_dirs(cgroups_path: str) -> list[Path]:
    out = []
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] in ("cgroup", "cgroup2"):
                out.append(Path(fields[1]) / cgroups_path.lstrip("/"))
    return out
