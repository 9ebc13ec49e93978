"""-H parsing, daemon.json merging, binding and systemd socket activation."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest
from skiff.engine.config import DaemonConfig
from skiff.engine.listeners import (
    Address,
    ListenerError,
    bind_unix,
    open_listeners,
    parse_host,
    systemd_sockets,
)
from skiff.engine.main import ConfigError, load_config

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("value", "tls", "expected"), [
    ("unix:///var/run/skiff.sock", False, Address("unix", "/var/run/skiff.sock")),
    ("/tmp/x.sock", False, Address("unix", "/tmp/x.sock")),
    ("unix://", False, Address("unix", "/var/run/skiff.sock")),
    ("tcp://0.0.0.0:2375", False, Address("tcp", "0.0.0.0:2375")),
    ("tcp://:2380", False, Address("tcp", "127.0.0.1:2380")),
    ("tcp://", False, Address("tcp", "127.0.0.1:2375")),
    ("tcp://", True, Address("tcp", "127.0.0.1:2376")),
    ("tcp://[::1]:2375", False, Address("tcp", "[::1]:2375")),
    ("fd://", False, Address("fd", "")),
    ("fd://3", False, Address("fd", "3")),
])
def test_parse_host(value: str, tls: bool, expected: Address) -> None:
    assert parse_host(value, tls=tls) == expected


@pytest.mark.parametrize("value", ["udp://1.2.3.4:5", "tcp://h:port", "tcp://h:99999", "fd://x", "nonsense",
                                   "tcp://a/b"])
def test_parse_host_rejects(value: str) -> None:
    with pytest.raises(ListenerError, match="Invalid bind address format"):
        parse_host(value)


def test_flags_and_defaults() -> None:
    config, validate = load_config(["-H", "unix:///a.sock", "-H", "tcp://:1", "--data-root", "/d",
                                    "--tlsverify", "--config-file", os.devnull])
    assert config.hosts == ["unix:///a.sock", "tcp://:1"]
    assert config.data_root == Path("/d") and config.exec_root == Path("/var/run/skiff")
    assert config.tls and config.tlsverify and not validate
    assert config.containerd_address == "/var/run/skiff/containerd/containerd.sock"


def test_daemon_json_merges(tmp_path: Path) -> None:
    file = tmp_path / "daemon.json"
    file.write_text(json.dumps({"hosts": ["unix:///b.sock"], "data-root": "/dr", "debug": True,
                                "containerd": "/c.sock", "log-level": "warn"}))
    config, _ = load_config(["--config-file", str(file), "--exec-root", "/er"])
    assert config.hosts == ["unix:///b.sock"]
    assert (config.data_root, config.exec_root) == (Path("/dr"), Path("/er"))
    assert config.debug and config.log_level == "warn"
    assert config.containerd_address == "/c.sock"


def test_key_in_file_and_flag_is_an_error(tmp_path: Path) -> None:
    file = tmp_path / "daemon.json"
    file.write_text(json.dumps({"hosts": ["unix:///b.sock"], "debug": True}))
    with pytest.raises(ConfigError) as info:
        load_config(["--config-file", str(file), "-H", "unix:///a.sock", "-D"])
    assert str(info.value) == (
        f"unable to configure the Docker daemon with file {file}: the following directives are specified "
        "both as a flag and in the configuration file: hosts: (from flag: [unix:///a.sock], from file: "
        "[unix:///b.sock]), debug: (from flag: True, from file: True)")


def test_unknown_key_and_missing_explicit_file(tmp_path: Path) -> None:
    file = tmp_path / "daemon.json"
    file.write_text(json.dumps({"bogus": 1}))
    with pytest.raises(ConfigError, match="don't match any configuration option: bogus"):
        load_config(["--config-file", str(file)])
    with pytest.raises(ConfigError, match="No such file"):
        load_config(["--config-file", str(tmp_path / "nope.json")])


def test_bind_unix_mode_group_and_stale_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # leaves a stale socket file
    sock = bind_unix(str(path))
    try:
        st = path.stat()
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(str(path))
    finally:
        sock.close()


def test_bind_unix_refuses_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ListenerError, match="not a socket"):
        bind_unix(str(path))


def test_tcp_without_tls_is_refused_unless_insecure(tmp_path: Path) -> None:
    config = DaemonConfig(hosts=[f"unix://{tmp_path}/a.sock", "tcp://127.0.0.1:0"])
    with pytest.raises(ListenerError, match="without TLS"):
        open_listeners(config)
    assert not (tmp_path / "a.sock").exists()  # the unix listener bound first was closed again
    config.insecure_tcp = True
    listeners = open_listeners(config)
    try:
        assert [ln.address.proto for ln in listeners] == ["unix", "tcp"]
    finally:
        for ln in listeners:
            ln.close()


def test_systemd_sockets_requires_our_pid() -> None:
    with pytest.raises(ListenerError, match="no sockets found via socket activation"):
        systemd_sockets("", {"LISTEN_PID": "1", "LISTEN_FDS": "1"})
    with pytest.raises(ListenerError, match="no sockets found"):
        systemd_sockets("", {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "0"})
