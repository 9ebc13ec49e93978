"""A container as skiffd records it: Docker's config.v2.json + hostconfig.json, PascalCase on disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skiff.engine.backend import timefmt

ZERO = timefmt.ZERO_TIME


@dataclass
class State:
    """Docker's container.State; ``status`` is Docker's StateString source of truth."""

    status: str = "created"  # created running paused restarting removing exited dead
    running: bool = False
    paused: bool = False
    restarting: bool = False
    oom_killed: bool = False
    dead: bool = False
    removing: bool = False
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: str = ZERO
    finished_at: str = ZERO

    def to_json(self) -> dict[str, Any]:
        return {
            "Status": self.status,
            "Running": self.running,
            "Paused": self.paused,
            "Restarting": self.restarting,
            "OOMKilled": self.oom_killed,
            "Dead": self.dead,
            "RemovalInProgress": self.removing,
            "Pid": self.pid,
            "ExitCode": self.exit_code,
            "Error": self.error,
            "StartedAt": self.started_at,
            "FinishedAt": self.finished_at,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> State:
        return cls(
            status=str(d.get("Status", "created")),
            running=bool(d.get("Running")),
            paused=bool(d.get("Paused")),
            restarting=bool(d.get("Restarting")),
            oom_killed=bool(d.get("OOMKilled")),
            dead=bool(d.get("Dead")),
            removing=bool(d.get("RemovalInProgress")),
            pid=int(d.get("Pid", 0)),
            exit_code=int(d.get("ExitCode", 0)),
            error=str(d.get("Error", "")),
            started_at=str(d.get("StartedAt", ZERO)),
            finished_at=str(d.get("FinishedAt", ZERO)),
        )

    def state_string(self) -> str:
        """What ``docker ps`` shows in State and the status filter matches."""
        if self.running:
            if self.paused:
                return "paused"
            if self.restarting:
                return "restarting"
            return "running"
        if self.removing:
            return "removing"
        if self.dead:
            return "dead"
        if timefmt.is_zero(self.started_at):
            return "created"
        return "exited"

    def human(self, now_ns: int) -> str:
        """Docker's State.String(): "Up 2 seconds", "Exited (0) 3 seconds ago", "Created"."""
        if self.running:
            if self.paused:
                return f"Up {timefmt.human_duration(_ago(now_ns, self.started_at))} (Paused)"
            if self.restarting:
                ago = timefmt.human_duration(_ago(now_ns, self.finished_at))
                return f"Restarting ({self.exit_code}) {ago} ago"
            return f"Up {timefmt.human_duration(_ago(now_ns, self.started_at))}"
        if self.removing:
            return "Removal In Progress"
        if self.dead:
            return "Dead"
        if timefmt.is_zero(self.started_at):
            return "Created"
        if timefmt.is_zero(self.finished_at):
            return ""
        return f"Exited ({self.exit_code}) {timefmt.human_duration(_ago(now_ns, self.finished_at))} ago"


def _ago(now_ns: int, when: str) -> float:
    return max(0, now_ns - timefmt.parse_ns(when)) / 1e9


@dataclass
class Container:
    """One container's Docker-level record."""

    id: str
    name: str  # with the leading "/"
    created: str
    path: str
    args: list[str]
    config: dict[str, Any]
    host_config: dict[str, Any]
    image: str  # the image ID, sha256:...
    state: State = field(default_factory=State)
    restart_count: int = 0
    has_been_started_before: bool = False
    has_been_manually_stopped: bool = False
    log_path: str = ""
    resolv_conf_path: str = ""
    hostname_path: str = ""
    hosts_path: str = ""
    rootfs_mounts: list[dict[str, Any]] = field(default_factory=list)  # core's snapshot mounts
    mount_points: dict[str, dict[str, Any]] = field(default_factory=dict)  # volumes by destination
    driver: str = "overlay2"
    platform: str = "linux"

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def to_json(self) -> dict[str, Any]:
        """config.v2.json (without HostConfig, which lives in hostconfig.json)."""
        return {
            "ID": self.id,
            "Name": self.name,
            "Created": self.created,
            "Path": self.path,
            "Args": self.args,
            "Config": self.config,
            "Image": self.image,
            "State": self.state.to_json(),
            "RestartCount": self.restart_count,
            "HasBeenStartedBefore": self.has_been_started_before,
            "HasBeenManuallyStopped": self.has_been_manually_stopped,
            "LogPath": self.log_path,
            "ResolvConfPath": self.resolv_conf_path,
            "HostnamePath": self.hostname_path,
            "HostsPath": self.hosts_path,
            "RootfsMounts": self.rootfs_mounts,
            "MountPoints": self.mount_points,
            "Driver": self.driver,
            "OS": self.platform,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], host_config: dict[str, Any]) -> Container:
        return cls(
            id=str(d["ID"]),
            name=str(d["Name"]),
            created=str(d["Created"]),
            path=str(d.get("Path", "")),
            args=list(d.get("Args") or []),
            config=dict(d.get("Config") or {}),
            host_config=host_config,
            image=str(d.get("Image", "")),
            state=State.from_json(d.get("State") or {}),
            restart_count=int(d.get("RestartCount", 0)),
            has_been_started_before=bool(d.get("HasBeenStartedBefore")),
            has_been_manually_stopped=bool(d.get("HasBeenManuallyStopped")),
            log_path=str(d.get("LogPath", "")),
            resolv_conf_path=str(d.get("ResolvConfPath", "")),
            hostname_path=str(d.get("HostnamePath", "")),
            hosts_path=str(d.get("HostsPath", "")),
            rootfs_mounts=list(d.get("RootfsMounts") or []),
            mount_points=dict(d.get("MountPoints") or {}),
            driver=str(d.get("Driver", "overlay2")),
            platform=str(d.get("OS", "linux")),
        )
