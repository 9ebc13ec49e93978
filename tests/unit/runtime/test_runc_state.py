"""Lifecycle transitions (legal and illegal) and status derivation from /proc and exec.fifo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from skiff.runtime import state
from skiff.runtime.errors import ContainerError
from skiff.runtime.state import ContainerRecord, Status

pytestmark = pytest.mark.unit


def test_start_only_from_created() -> None:
    state.can_start(Status.CREATED)
    with pytest.raises(ContainerError, match="cannot start an already running container"):
        state.can_start(Status.RUNNING)
    with pytest.raises(ContainerError, match="cannot start a container that has stopped"):
        state.can_start(Status.STOPPED)
    with pytest.raises(ContainerError, match="creating"):
        state.can_start(Status.CREATING)


@pytest.mark.parametrize("status", [Status.CREATED, Status.RUNNING])
def test_kill_allowed(status: str) -> None:
    state.can_kill(status)


@pytest.mark.parametrize("status", [Status.STOPPED, Status.CREATING])
def test_kill_refused(status: str) -> None:
    with pytest.raises(ContainerError, match="container not running"):
        state.can_kill(status)


@pytest.mark.parametrize("status", [Status.CREATED, Status.STOPPED])
def test_delete_allowed_without_force(status: str) -> None:
    state.can_delete("c1", status, force=False)


def test_delete_running_needs_force() -> None:
    with pytest.raises(ContainerError, match="cannot delete container c1 that is not stopped: running"):
        state.can_delete("c1", Status.RUNNING, force=False)
    state.can_delete("c1", Status.RUNNING, force=True)


def _record(pid: int, start_time: int) -> ContainerRecord:
    return ContainerRecord(id="c1", pid=pid, start_time=start_time, bundle="/b", rootfs="/b/rootfs",
                           created="2020-01-01T00:00:00Z", annotations={}, cgroup_paths={})


def test_status_from_pid_and_fifo(tmp_path: Path) -> None:
    me = os.getpid()
    start_time = state.pid_start_time(me)
    assert start_time is not None
    record = _record(me, start_time)
    (tmp_path / "c1").mkdir()
    state.save(str(tmp_path), record)
    os.mkfifo(tmp_path / "c1" / state.FIFO)
    assert state.status(str(tmp_path), record) == Status.CREATED
    (tmp_path / "c1" / state.FIFO).unlink()
    assert state.status(str(tmp_path), record) == Status.RUNNING


def test_reused_pid_is_stopped(tmp_path: Path) -> None:
    me = os.getpid()
    start_time = state.pid_start_time(me)
    assert start_time is not None
    assert state.status(str(tmp_path), _record(me, start_time + 1)) == Status.STOPPED


def test_missing_pid_is_stopped(tmp_path: Path) -> None:
    assert state.status(str(tmp_path), _record(2**22 + 7, 1)) == Status.STOPPED


def test_state_file_round_trip(tmp_path: Path) -> None:
    record = _record(42, 99)
    record.cgroup_paths = {"pids": "/sys/fs/cgroup/pids/x"}
    (tmp_path / "c1").mkdir()
    state.save(str(tmp_path), record)
    loaded = state.load(str(tmp_path), "c1")
    assert loaded.to_json() == record.to_json()
    assert [p.name for p in (tmp_path / "c1").iterdir()] == ["state.json"]


def test_load_missing() -> None:
    with pytest.raises(ContainerError, match="container does not exist"):
        state.load("/nonexistent-root", "c1")
