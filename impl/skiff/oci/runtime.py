"""Typed, frozen models of the parts of the OCI runtime spec (v1.3.0) that Skiff uses.

The OCI config is the data model (no second config model beside it): ``Spec.from_dict`` reads a
config that already passed ``skiff.oci.validate.validate_config``; ``to_dict`` writes the JSON shape.
Frozen value classes (``skiff.oci.model.Model``: dataclass semantics without the import cost).
Pure: no I/O.
"""

from __future__ import annotations

from skiff.oci.model import Model, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

OCI_VERSION = "1.0.2-dev"  # what Docker 20.10 / runc 1.1 write; the schema accepts any string


class User(Model):
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: tuple[int, ...] = ()
    username: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> User:
        return cls(uid=d.get("uid", 0), gid=d.get("gid", 0), umask=d.get("umask"),
                   additional_gids=tuple(d.get("additionalGids", ())), username=d.get("username", ""))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uid": self.uid, "gid": self.gid}
        if self.umask is not None:
            out["umask"] = self.umask
        if self.additional_gids:
            out["additionalGids"] = list(self.additional_gids)
        if self.username:
            out["username"] = self.username
        return out


class Rlimit(Model):
    type: str
    soft: int
    hard: int


class Capabilities(Model):
    bounding: tuple[str, ...] = ()
    effective: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    inheritable: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Capabilities:
        return cls(**{k: tuple(d.get(k, ())) for k in
                      ("bounding", "effective", "permitted", "inheritable", "ambient")})


class Process(Model):
    cwd: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    terminal: bool = False
    user: User = field(default_factory=User)
    rlimits: tuple[Rlimit, ...] = ()
    capabilities: Capabilities | None = None
    no_new_privileges: bool = False
    oom_score_adj: int | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Process:
        caps = d.get("capabilities")
        return cls(
            cwd=d["cwd"], args=tuple(d.get("args", ())), env=tuple(d.get("env", ())),
            terminal=bool(d.get("terminal", False)), user=User.from_dict(d.get("user", {})),
            rlimits=tuple(Rlimit(r["type"], r["soft"], r["hard"]) for r in d.get("rlimits", ())),
            capabilities=None if caps is None else Capabilities.from_dict(caps),
            no_new_privileges=bool(d.get("noNewPrivileges", False)), oom_score_adj=d.get("oomScoreAdj"),
        )

    def env_map(self) -> dict[str, str]:
        """``KEY=VALUE`` entries as a dict; later entries win, as with execve's environ."""
        out: dict[str, str] = {}
        for item in self.env:
            key, _, value = item.partition("=")
            out[key] = value
        return out


class Root(Model):
    path: str
    readonly: bool = False


class Mount(Model):
    destination: str
    type: str = ""
    source: str = ""
    options: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Mount:
        return cls(destination=d["destination"], type=d.get("type", ""), source=d.get("source", ""),
                   options=tuple(d.get("options", ())))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"destination": self.destination}
        if self.type:
            out["type"] = self.type
        if self.source:
            out["source"] = self.source
        if self.options:
            out["options"] = list(self.options)
        return out


class Namespace(Model):
    type: str  # pid network mount ipc uts user cgroup time
    path: str = ""


class Resources(Model):
    """``linux.resources``: the common limits as fields, the whole OCI object as ``raw`` (the cgroup writer's
    input; a mapping, so a Resources does not hash)."""

    memory_limit: int | None = None
    pids_limit: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Resources:
        return cls(memory_limit=d.get("memory", {}).get("limit"), pids_limit=d.get("pids", {}).get("limit"),
                   raw=dict(d))


class SyscallArg(Model):
    index: int
    value: int
    op: str
    value_two: int = 0


class SyscallRule(Model):
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[SyscallArg, ...] = ()


class Seccomp(Model):
    default_action: str
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    syscalls: tuple[SyscallRule, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Seccomp:
        return cls(
            default_action=d["defaultAction"], default_errno_ret=d.get("defaultErrnoRet"),
            architectures=tuple(d.get("architectures", ())), flags=tuple(d.get("flags", ())),
            syscalls=tuple(
                SyscallRule(names=tuple(r["names"]), action=r["action"], errno_ret=r.get("errnoRet"),
                            args=tuple(SyscallArg(index=a["index"], value=a["value"], op=a["op"],
                                                  value_two=a.get("valueTwo", 0)) for a in r.get("args", ())))
                for r in d.get("syscalls", ())),
        )


def _mappings(raw: Any) -> tuple[tuple[int, int, int], ...]:
    return tuple((int(m["containerID"]), int(m["hostID"]), int(m["size"])) for m in raw or ())


class Linux(Model):
    namespaces: tuple[Namespace, ...] = ()
    cgroups_path: str = ""
    resources: Resources = field(default_factory=Resources)
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    sysctl: tuple[tuple[str, str], ...] = ()
    rootfs_propagation: str = ""
    has_user_mappings: bool = False
    seccomp: Seccomp | None = None
    devices: tuple[Mapping[str, Any], ...] = ()  # linux.devices as OCI JSON (path, type, major, minor, ...)
    # linux.uidMappings/gidMappings as (containerID, hostID, size)
    uid_mappings: tuple[tuple[int, int, int], ...] = ()
    gid_mappings: tuple[tuple[int, int, int], ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Linux:
        return cls(
            namespaces=tuple(Namespace(n["type"], n.get("path", "")) for n in d.get("namespaces", ())),
            cgroups_path=d.get("cgroupsPath", ""),
            resources=Resources.from_dict(d.get("resources", {})),
            masked_paths=tuple(d.get("maskedPaths", ())), readonly_paths=tuple(d.get("readonlyPaths", ())),
            sysctl=tuple(sorted(d.get("sysctl", {}).items())),
            rootfs_propagation=d.get("rootfsPropagation", ""),
            has_user_mappings=bool(d.get("uidMappings") or d.get("gidMappings")),
            seccomp=Seccomp.from_dict(d["seccomp"]) if d.get("seccomp") else None,
            devices=tuple(dict(dev) for dev in d.get("devices", ())),
            uid_mappings=_mappings(d.get("uidMappings")),
            gid_mappings=_mappings(d.get("gidMappings")),
        )

    def namespace(self, kind: str) -> Namespace | None:
        return next((ns for ns in self.namespaces if ns.type == kind), None)


class Hook(Model):
    path: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    timeout: int | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Hook:
        return cls(path=d["path"], args=tuple(d.get("args", ())), env=tuple(d.get("env", ())),
                   timeout=d.get("timeout"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.args:
            out["args"] = list(self.args)
        if self.env:
            out["env"] = list(self.env)
        if self.timeout is not None:
            out["timeout"] = self.timeout
        return out


HOOK_PHASES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


class Hooks(Model):
    """Lifecycle hooks by phase, with the spec's phase names as keys."""

    by_phase: tuple[tuple[str, tuple[Hook, ...]], ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Hooks:
        return cls(tuple((phase, tuple(Hook.from_dict(h) for h in d[phase]))
                         for phase in HOOK_PHASES if d.get(phase)))

    def get(self, phase: str) -> tuple[Hook, ...]:
        return next((hooks for name, hooks in self.by_phase if name == phase), ())


class Spec(Model):
    oci_version: str
    process: Process | None = None
    root: Root | None = None
    hostname: str = ""
    domainname: str = ""
    mounts: tuple[Mount, ...] = ()
    linux: Linux | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    hooks: Hooks = field(default_factory=Hooks)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Spec:
        proc, root, linux = d.get("process"), d.get("root"), d.get("linux")
        return cls(
            oci_version=d["ociVersion"],
            process=None if proc is None else Process.from_dict(proc),
            root=None if root is None else Root(root["path"], bool(root.get("readonly", False))),
            hostname=d.get("hostname", ""), domainname=d.get("domainname", ""),
            mounts=tuple(Mount.from_dict(m) for m in d.get("mounts", ())),
            linux=None if linux is None else Linux.from_dict(linux),
            annotations=tuple(sorted(d.get("annotations", {}).items())),
            hooks=Hooks.from_dict(d.get("hooks", {})),
        )


STATUSES = ("creating", "created", "running", "stopped")


class State(Model):
    """The OCI state of a container (state-schema.json); runc adds rootfs, created and owner."""

    id: str
    status: str
    pid: int
    bundle: str
    annotations: tuple[tuple[str, str], ...] = ()
    oci_version: str = OCI_VERSION
    extra: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ociVersion": self.oci_version, "id": self.id, "pid": self.pid,
                               "status": self.status, "bundle": self.bundle}
        out.update(self.extra)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out
