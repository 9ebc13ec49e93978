"""The init's state machine and its exit record."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from skiff import errdefs
from skiff.shim import main, process

pytestmark = pytest.mark.unit


def test_exit_code_is_dockers() -> None:
    assert process.exit_code(3 << 8) == 3
    assert process.exit_code(9) == 137  # killed by SIGKILL
    assert process.exit_code(15) == 143


def test_lifecycle_and_exit_json(tmp_path: Path) -> None:
    init = process.Init("c1", str(tmp_path))
    with pytest.raises(errdefs.FailedPrecondition):
        init.check("start")
    init.check("create")
    init.created(42)
    with pytest.raises(errdefs.AlreadyExists):
        init.check("create")
    init.check("start")
    init.started()
    assert init.state()["status"] == "running"
    with pytest.raises(errdefs.FailedPrecondition):
        init.check("delete")
    init.exited(9, when_ns=1_795_784_254_216_258_281)
    assert json.loads((tmp_path / "exit.json").read_text()) == {
        "exit_status": 137, "exited_at": "2026-11-27T12:57:34.216258281Z", "pid": 42}
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(errdefs.NotFound):
        init.check("kill")
    init.check("delete")
    init.deleted()
    assert init.state()["status"] == "stopped" and init.state()["deleted"] is True
    init.check("wait")
    with pytest.raises(errdefs.NotFound):
        init.check("delete")


def test_write_atomic_replaces(tmp_path: Path) -> None:
    target = tmp_path / "f"
    process.write_atomic(str(target), b"one")
    process.write_atomic(str(target), b"two")
    assert target.read_bytes() == b"two" and os.listdir(tmp_path) == ["f"]


def test_parse_command_line() -> None:
    opts, cmd = main.parse(["--id", "c", "--bundle=/b", "--runtime", "/r", "--log-path", "/l/x.log",
                            "--runtime-root", "/rr", "start"])
    assert cmd == "start"
    assert opts == {"id": "c", "bundle": "/b", "runtime": "/r", "log_path": "/l/x.log", "runtime_root": "/rr"}
    with pytest.raises(main.UsageError):
        main.parse(["--id", "c", "--bundle", "/b", "--runtime", "/r", "start"])
    with pytest.raises(main.UsageError):
        main.parse(["--id", "c", "--bundle", "/b", "--runtime", "/r", "--log-path", "/l", "bogus"])
    with pytest.raises(main.UsageError):
        main.parse(["--nope", "x"])


@pytest.mark.parametrize(("message", "kind"), [
    ("container does not exist", errdefs.NotFound),
    ('container "abc" not found', errdefs.NotFound),
    ('runc create failed: unable to start container process: exec: "x": executable file not found in $PATH',
     errdefs.Unknown),
    ("container with id exists: abc already exists", errdefs.AlreadyExists),
    ("container not running", errdefs.FailedPrecondition),
])
def test_runtime_messages_map_to_kinds(message: str, kind: type[errdefs.SkiffError]) -> None:
    from skiff.shim.runc import _kind_for

    assert _kind_for(message) is kind


def test_runtime_path_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exe = tmp_path / "myruntime"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"/nonexistent:{tmp_path}")
    assert main._resolve("myruntime") == str(exe)
    monkeypatch.chdir(tmp_path)
    assert main._resolve("./myruntime") == str(exe)
    assert main._resolve("missing-runtime") == "missing-runtime"
