"""skiffd's configuration: flags and daemon.json merged into one typed value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "unix:///var/run/skiff.sock"


@dataclass
class DaemonConfig:
    """The daemon's settings; names follow dockerd's flags (``data_root`` is ``--data-root``)."""

    hosts: list[str] = field(default_factory=list)
    data_root: Path = Path("/var/lib/skiff")
    exec_root: Path = Path("/var/run/skiff")
    config_file: Path = Path("/etc/skiff/daemon.json")
    containerd: str | None = None  # None: skiffd starts and supervises skiff-containerd itself
    insecure_tcp: bool = False
    tls: bool = False
    tlsverify: bool = False
    tlscacert: str | None = None
    tlscert: str | None = None
    tlskey: str | None = None
    debug: bool = False
    log_level: str = "info"
    init_path: str | None = None  # --init-path: the init for --init; None looks up docker-init on PATH
    insecure_registries: list[str] = field(default_factory=list)  # besides 127.0.0.0/8, as dockerd
    # OCI runtimes by name (--add-runtime / daemon.json "runtimes"); "runc" is Skiff's own skiff-runc
    runtimes: dict[str, str] = field(default_factory=dict)
    default_runtime: str = "runc"

    @property
    def runtime_paths(self) -> dict[str, str]:
        return {"runc": "skiff-runc", **self.runtimes}

    @property
    def default_runtime_path(self) -> str | None:
        """The binary skiff-containerd's shims run; None keeps the core's default (skiff-runc)."""
        if self.default_runtime == "runc" and "runc" not in self.runtimes:
            return None
        return self.runtime_paths[self.default_runtime]

    @property
    def effective_hosts(self) -> list[str]:
        return self.hosts or [DEFAULT_HOST]

    @property
    def containerd_root(self) -> Path:
        return self.data_root / "containerd"

    @property
    def containerd_state(self) -> Path:
        return self.exec_root / "containerd"

    @property
    def containerd_address(self) -> str:
        """The socket skiffd talks to: the flag, or the one of the skiff-containerd it supervises."""
        return self.containerd or str(self.containerd_state / "containerd.sock")
