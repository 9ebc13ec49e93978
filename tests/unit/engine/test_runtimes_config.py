"""skiffd's OCI runtimes: --add-runtime/--default-runtime and daemon.json runtimes/default-runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from skiff.engine.main import ConfigError, load_config
from skiff.engine.supervisor import containerd_command

pytestmark = pytest.mark.unit


def test_default_is_skiff_runc(tmp_path: Path) -> None:
    config, _ = load_config(["--config-file", str(_file(tmp_path, {}))])
    assert config.runtime_paths == {"runc": "skiff-runc"} and config.default_runtime == "runc"
    assert "--runtime" not in containerd_command(config)


def test_flags_select_the_real_runc(tmp_path: Path) -> None:
    config, _ = load_config(
        [
            "--config-file",
            str(_file(tmp_path, {})),
            "--add-runtime",
            "real=/usr/sbin/runc",
            "--default-runtime",
            "real",
        ]
    )
    cmd = containerd_command(config)
    assert cmd[cmd.index("--runtime") + 1] == "/usr/sbin/runc"


def test_daemon_json_runtimes(tmp_path: Path) -> None:
    path = _file(tmp_path, {"runtimes": {"crun": {"path": "/usr/bin/crun"}}, "default-runtime": "crun"})
    config, _ = load_config(["--config-file", str(path)])
    assert config.default_runtime_path == "/usr/bin/crun"


def test_unknown_default_runtime(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="default runtime nope does not exist"):
        load_config(["--config-file", str(_file(tmp_path, {})), "--default-runtime", "nope"])


def _file(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(data))
    return path
