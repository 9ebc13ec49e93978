"""The daemon's ``init-path`` (flag and daemon.json key, as dockerd's) reaches the containers backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from skiff.engine import main
from skiff.engine.backend import build_services

pytestmark = pytest.mark.unit


def test_init_path_flag_and_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    config, _ = main.load_config(["--config-file", str(empty), "--init-path", "/opt/tini"])
    assert config.init_path == "/opt/tini"
    from_file = tmp_path / "daemon.json"
    from_file.write_text(json.dumps({"init-path": "/usr/local/bin/tini"}))
    config, _ = main.load_config(["--config-file", str(from_file)])
    assert config.init_path == "/usr/local/bin/tini"
    config, _ = main.load_config(["--config-file", str(empty)])
    assert config.init_path is None


def test_build_services_passes_init_path(tmp_path: Path) -> None:
    argv = ["--config-file", "/dev/null", "--data-root", str(tmp_path), "--init-path", "/x"]
    config, _ = main.load_config(argv)
    services = build_services(object(), config)
    assert services.containers is not None and services.containers.init_path == "/x"
