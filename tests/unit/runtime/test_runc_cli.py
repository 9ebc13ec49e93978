"""Argument parsing, signal names and error reporting of the skiff-runc command line."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from skiff.runtime import cli, container
from skiff.runtime.errors import ContainerError

pytestmark = pytest.mark.unit


def parse(*argv: str) -> cli.Args:
    return cli.parse(list(argv))


def test_global_options_and_create() -> None:
    a = parse("--root", "/r", "--log", "/l", "--log-format", "json", "create", "--bundle", "/b",
              "--pid-file", "/p", "--console-socket", "/s", "c1")
    assert (a.root, a.log, a.log_format, a.command, a.bundle, a.pid_file, a.console_socket, a.id) == (
        "/r", "/l", "json", "create", "/b", "/p", "/s", "c1")


def test_single_dash_and_equals_forms() -> None:
    a = parse("-root=/r", "--debug", "run", "-bundle", "/b", "-d", "--pid-file=/p", "c1")
    assert (a.root, a.debug, a.command, a.bundle, a.detach, a.pid_file, a.id) == (
        "/r", True, "run", "/b", True, "/p", "c1")
    a = parse("create", "--no-pivot", "--no-new-keyring", "--preserve-fds", "0", "c1")
    assert a.id == "c1"


def test_defaults() -> None:
    a = parse("kill", "c1")
    assert (a.root, a.signal, a.all) == ("/run/skiff-runc", "SIGTERM", False)
    a = parse("run", "-d", "c1")
    assert (a.detach, a.bundle) == (True, ".")
    assert parse("delete", "-f", "c1").force is True
    a = parse("list", "-f", "json", "-q")
    assert (a.format, a.quiet) == ("json", True)
    a = parse("kill", "--all", "c1", "9")
    assert (a.all, a.signal) == (True, "9")


@pytest.mark.parametrize(("argv", "message"), [
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["start"], '"start" requires exactly 1 argument(s)'),
    (["start", "a", "b"], '"start" requires exactly 1 argument(s)'),
    (["kill", "a", "b", "c"], '"kill" requires between 1 and 2 argument(s)'),
    (["create", "--bogus", "c1"], "flag provided but not defined: --bogus"),
    (["create", "c1", "--bundle"], "flag needs an argument: --bundle"),
    (["--log-format", "xml", "list"], "invalid value 'xml' for flag --log-format"),
    (["list", "--format", "yaml"], "invalid value 'yaml' for flag --format"),
])
def test_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ContainerError) as info:
        cli.parse(argv)
    assert str(info.value).endswith(message)


@pytest.mark.parametrize(("raw", "expected"), [
    ("KILL", signal.SIGKILL), ("SIGKILL", signal.SIGKILL), ("kill", signal.SIGKILL), ("9", 9),
    ("TERM", signal.SIGTERM), ("sigusr1", signal.SIGUSR1), ("SIGRTMIN", signal.SIGRTMIN),
])
def test_parse_signal(raw: str, expected: int) -> None:
    assert container.parse_signal(raw) == expected


def test_unknown_signal() -> None:
    with pytest.raises(ContainerError, match='unknown signal "FOO"'):
        container.parse_signal("FOO")


@pytest.mark.parametrize("bad", ["", "a/b", "..", "x y", "é"])
def test_invalid_ids(bad: str) -> None:
    with pytest.raises(ContainerError, match="invalid container ID format"):
        container.validate_id(bad)


def test_valid_ids() -> None:
    for good in ("abc", "a.b-c_d+e", "0123456789abcdef" * 4):
        container.validate_id(good)


def test_json_log_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "log.json"
    rc = cli.main(["--root", str(tmp_path), "--log", str(log), "--log-format", "json", "state", "nope"])
    assert rc == 1
    entry = json.loads(log.read_text())
    assert entry["level"] == "error" and entry["msg"] == "container does not exist" and entry["time"]
    assert capsys.readouterr().err == "container does not exist\n"


def test_text_error_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "delete", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith('time="') and err.endswith('level=error msg="container does not exist"\n')


def test_delete_force_missing_is_ok(tmp_path: Path) -> None:
    assert cli.main(["--root", str(tmp_path), "delete", "--force", "nope"]) == 0


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("skiff-runc version")
    assert cli.main([]) == 0
    assert "usage: skiff-runc" in capsys.readouterr().out


def test_list_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path / "none"), "list", "--format", "json"]) == 0
    assert capsys.readouterr().out == "null\n"


def test_create_prefixes_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "create", "--bundle", str(tmp_path / "nob"), "c1"]) == 1
    assert f'msg="skiff-runc create failed: chdir {tmp_path}/nob: no such file or directory"' in \
        capsys.readouterr().err


def test_rfc3339nano() -> None:
    assert container.rfc3339nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert container.rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
