"""The Go types dockerd 20.10 decodes request bodies into, as ``gojson`` models (names as Go prints them).

Only what a Go error message or Go's decoding can show is modelled: field JSON names in declaration
order (embedded structs flattened), kinds, and the type names ``reflect.Type.String()`` gives. Every
mismatch message this table produces (a wrong type at every field of every body below) was compared with
dockerd 20.10 (go1.19); recorded rows are in tests/unit/engine/test_gojson*.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skiff import errdefs
from skiff.engine.gojson import (
    BOOL,
    EMPTY_STRUCT,
    INT,
    INT64,
    STRING,
    UINT,
    UINT16,
    UINT64,
    Array,
    GoType,
    Map,
    Ptr,
    Scalar,
    Slice,
    StrSlice,
    Struct,
)

STRINGS = Slice(STRING)
STRING_MAP = Map(STRING)
DURATION = Scalar("time.Duration", "int")


def _named(name: str) -> Scalar:
    return Scalar(name, "string")


HEALTH_CONFIG = Struct("container.HealthConfig", (
    ("Test", STRINGS), ("Interval", DURATION), ("Timeout", DURATION), ("StartPeriod", DURATION),
    ("Retries", INT),
))

CONFIG_FIELDS: tuple[tuple[str, GoType], ...] = (
    ("Hostname", STRING), ("Domainname", STRING), ("User", STRING), ("AttachStdin", BOOL),
    ("AttachStdout", BOOL), ("AttachStderr", BOOL), ("ExposedPorts", Map(EMPTY_STRUCT, "nat.PortSet")),
    ("Tty", BOOL), ("OpenStdin", BOOL), ("StdinOnce", BOOL), ("Env", STRINGS), ("Cmd", StrSlice()),
    ("Healthcheck", Ptr(HEALTH_CONFIG)), ("ArgsEscaped", BOOL), ("Image", STRING),
    ("Volumes", Map(EMPTY_STRUCT)), ("WorkingDir", STRING), ("Entrypoint", StrSlice()),
    ("NetworkDisabled", BOOL), ("MacAddress", STRING), ("OnBuild", STRINGS), ("Labels", STRING_MAP),
    ("StopSignal", STRING), ("StopTimeout", Ptr(INT)), ("Shell", StrSlice()),
)

WEIGHT_DEVICE = Struct("blkiodev.WeightDevice", (("Path", STRING), ("Weight", UINT16)))
THROTTLE_DEVICE = Struct("blkiodev.ThrottleDevice", (("Path", STRING), ("Rate", UINT64)))
DEVICE_MAPPING = Struct("container.DeviceMapping", (
    ("PathOnHost", STRING), ("PathInContainer", STRING), ("CgroupPermissions", STRING),
))
DEVICE_REQUEST = Struct("container.DeviceRequest", (
    ("Driver", STRING), ("Count", INT), ("DeviceIDs", STRINGS), ("Capabilities", Slice(STRINGS)),
    ("Options", STRING_MAP),
))
ULIMIT = Struct("units.Ulimit", (("Name", STRING), ("Hard", INT64), ("Soft", INT64)))

RESOURCES_FIELDS: tuple[tuple[str, GoType], ...] = (
    ("CpuShares", INT64), ("Memory", INT64), ("NanoCpus", INT64), ("CgroupParent", STRING),
    ("BlkioWeight", UINT16), ("BlkioWeightDevice", Slice(Ptr(WEIGHT_DEVICE))),
    ("BlkioDeviceReadBps", Slice(Ptr(THROTTLE_DEVICE))),
    ("BlkioDeviceWriteBps", Slice(Ptr(THROTTLE_DEVICE))),
    ("BlkioDeviceReadIOps", Slice(Ptr(THROTTLE_DEVICE))),
    ("BlkioDeviceWriteIOps", Slice(Ptr(THROTTLE_DEVICE))),
    ("CpuPeriod", INT64), ("CpuQuota", INT64), ("CpuRealtimePeriod", INT64), ("CpuRealtimeRuntime", INT64),
    ("CpusetCpus", STRING), ("CpusetMems", STRING), ("Devices", Slice(DEVICE_MAPPING)),
    ("DeviceCgroupRules", STRINGS), ("DeviceRequests", Slice(DEVICE_REQUEST)), ("KernelMemory", INT64),
    ("KernelMemoryTCP", INT64), ("MemoryReservation", INT64), ("MemorySwap", INT64),
    ("MemorySwappiness", Ptr(INT64)), ("OomKillDisable", Ptr(BOOL)), ("PidsLimit", Ptr(INT64)),
    ("Ulimits", Slice(Ptr(ULIMIT))), ("CpuCount", INT64), ("CpuPercent", INT64),
    ("IOMaximumIOps", UINT64), ("IOMaximumBandwidth", UINT64),
)

PORT_BINDING = Struct("nat.PortBinding", (("HostIp", STRING), ("HostPort", STRING)))
MOUNT = Struct("mount.Mount", (
    ("Type", _named("mount.Type")), ("Source", STRING), ("Target", STRING), ("ReadOnly", BOOL),
    ("Consistency", _named("mount.Consistency")),
    ("BindOptions", Ptr(Struct("mount.BindOptions", (
        ("Propagation", _named("mount.Propagation")), ("NonRecursive", BOOL))))),
    ("VolumeOptions", Ptr(Struct("mount.VolumeOptions", (
        ("NoCopy", BOOL), ("Labels", STRING_MAP),
        ("DriverConfig", Ptr(Struct("mount.Driver", (("Name", STRING), ("Options", STRING_MAP))))))))),
    ("TmpfsOptions", Ptr(Struct("mount.TmpfsOptions", (
        ("SizeBytes", INT64), ("Mode", Scalar("fs.FileMode", "uint", 32)))))),
))

HOST_CONFIG_FIELDS: tuple[tuple[str, GoType], ...] = (
    ("Binds", STRINGS), ("ContainerIDFile", STRING),
    ("LogConfig", Struct("container.LogConfig", (("Type", STRING), ("Config", STRING_MAP)))),
    ("NetworkMode", _named("container.NetworkMode")),
    ("PortBindings", Map(Slice(PORT_BINDING), "nat.PortMap")),
    ("RestartPolicy", Struct("container.RestartPolicy", (("Name", STRING), ("MaximumRetryCount", INT)))),
    ("AutoRemove", BOOL), ("VolumeDriver", STRING), ("VolumesFrom", STRINGS),
    ("CapAdd", StrSlice()), ("CapDrop", StrSlice()), ("CgroupnsMode", _named("container.CgroupnsMode")),
    ("Dns", STRINGS), ("DnsOptions", STRINGS), ("DnsSearch", STRINGS), ("ExtraHosts", STRINGS),
    ("GroupAdd", STRINGS), ("IpcMode", _named("container.IpcMode")),
    ("Cgroup", _named("container.CgroupSpec")),
    ("Links", STRINGS), ("OomScoreAdj", INT), ("PidMode", _named("container.PidMode")), ("Privileged", BOOL),
    ("PublishAllPorts", BOOL), ("ReadonlyRootfs", BOOL), ("SecurityOpt", STRINGS), ("StorageOpt", STRING_MAP),
    ("Tmpfs", STRING_MAP), ("UTSMode", _named("container.UTSMode")),
    ("UsernsMode", _named("container.UsernsMode")),
    ("ShmSize", INT64), ("Sysctls", STRING_MAP), ("Runtime", STRING), ("ConsoleSize", Array(UINT, 2)),
    ("Isolation", _named("container.Isolation")),
    *RESOURCES_FIELDS,
    ("Mounts", Slice(MOUNT)), ("MaskedPaths", STRINGS), ("ReadonlyPaths", STRINGS), ("Init", Ptr(BOOL)),
)
HOST_CONFIG = Struct("container.HostConfig", HOST_CONFIG_FIELDS)

ENDPOINT_SETTINGS = Struct("network.EndpointSettings", (
    ("IPAMConfig", Ptr(Struct("network.EndpointIPAMConfig", (
        ("IPv4Address", STRING), ("IPv6Address", STRING), ("LinkLocalIPs", STRINGS))))),
    ("Links", STRINGS), ("Aliases", STRINGS), ("NetworkID", STRING), ("EndpointID", STRING),
    ("Gateway", STRING), ("IPAddress", STRING), ("IPPrefixLen", INT), ("IPv6Gateway", STRING),
    ("GlobalIPv6Address", STRING), ("GlobalIPv6PrefixLen", INT), ("MacAddress", STRING),
    ("DriverOpts", STRING_MAP),
))
NETWORKING_CONFIG = Struct("network.NetworkingConfig", (
    ("EndpointsConfig", Map(Ptr(ENDPOINT_SETTINGS))),
))

# runconfig.ContainerConfigWrapper (config_unix.go): *container.Config embedded, the inner HostConfig,
# the deprecated Cpuset, NetworkingConfig, and a second, deprecated, embedded *container.HostConfig
# whose fields may appear at the top level.
CONTAINER_CONFIG_WRAPPER = Struct("runconfig.ContainerConfigWrapper", (
    *CONFIG_FIELDS,
    ("HostConfig", Ptr(HOST_CONFIG)), ("Cpuset", STRING), ("NetworkingConfig", Ptr(NETWORKING_CONFIG)),
    *HOST_CONFIG_FIELDS,
))

_CONFIG_NAMES = frozenset(name for name, _t in CONFIG_FIELDS)
_HOST_NAMES = frozenset(name for name, _t in HOST_CONFIG_FIELDS)
_LEGACY_COPIED = ("Memory", "MemorySwap", "CpuShares", "CpusetCpus")


def container_create_body(wrapper: Any) -> dict[str, Any]:
    """The decoded wrapper as the API body dockerd goes on with (runconfig's ``getHostConfig``).

    Raises dockerd's 400 when no field of ``container.Config`` was given (its embedded pointer stays nil).
    """
    wrapper = wrapper if isinstance(wrapper, dict) else {}
    body = {k: v for k, v in wrapper.items() if k in _CONFIG_NAMES}
    if not body:
        raise errdefs.InvalidArgument("Config cannot be empty in order to create a container")
    legacy = {k: v for k, v in wrapper.items() if k in _HOST_NAMES}
    inner = wrapper.get("HostConfig")
    host: dict[str, Any] | None
    if isinstance(inner, dict):
        host = dict(inner)
        for key in _LEGACY_COPIED:
            if legacy.get(key) and not host.get(key):
                host[key] = legacy[key]
    else:
        host = legacy or None
    if host is not None and wrapper.get("Cpuset") and not host.get("CpusetCpus"):
        host["CpusetCpus"] = wrapper["Cpuset"]
    if host is not None:
        body["HostConfig"] = host
    if wrapper.get("NetworkingConfig") is not None:
        body["NetworkingConfig"] = wrapper["NetworkingConfig"]
    return body


def commit_body(wrapper: Any) -> dict[str, Any] | None:
    """POST /commit decodes a ContainerConfigWrapper too, and keeps only its container.Config (nil, here
    None, when the body sets none of its fields)."""
    wrapper = wrapper if isinstance(wrapper, dict) else {}
    return {k: v for k, v in wrapper.items() if k in _CONFIG_NAMES} or None


def exec_create_body(config: Any) -> Any:
    """postContainerExecCreate refuses an exec without a command before looking up the container."""
    if not isinstance(config, dict) or not config.get("Cmd"):
        raise errdefs.InvalidArgument("No exec command specified")
    return config


def _same(value: Any) -> Any:
    return value


RESTART_POLICY = Struct("container.RestartPolicy", (("Name", STRING), ("MaximumRetryCount", INT)))
UPDATE_CONFIG = Struct("container.UpdateConfig", (*RESOURCES_FIELDS, ("RestartPolicy", RESTART_POLICY)))
EXEC_CONFIG = Struct("types.ExecConfig", (
    ("User", STRING), ("Privileged", BOOL), ("Tty", BOOL), ("AttachStdin", BOOL), ("AttachStderr", BOOL),
    ("AttachStdout", BOOL), ("Detach", BOOL), ("DetachKeys", STRING), ("Env", STRINGS),
    ("WorkingDir", STRING),
    ("Cmd", STRINGS),
))
EXEC_START_CHECK = Struct("types.ExecStartCheck", (("Detach", BOOL), ("Tty", BOOL)))

GOT_EOF = "got EOF while reading request body"


@dataclass(frozen=True)
class GoBody:
    """How dockerd reads one operation's JSON body.

    ``status``: how a decode error is answered (a plain error is 500; some routers wrap it as
    InvalidParameter, 400). ``eof``: the message for an empty body, or None when an empty body is fine.
    """

    go_type: GoType
    finish: Callable[[Any], Any] = _same
    status: int = 500
    eof: str | None = "EOF"


BODIES: dict[str, GoBody] = {
    "ContainerCreate": GoBody(CONTAINER_CONFIG_WRAPPER, container_create_body),
    "ContainerUpdate": GoBody(UPDATE_CONFIG),
    "ContainerExec": GoBody(EXEC_CONFIG, exec_create_body, status=400, eof=GOT_EOF),
    "ExecStart": GoBody(EXEC_START_CHECK, status=400, eof=GOT_EOF),
    "ImageCommit": GoBody(CONTAINER_CONFIG_WRAPPER, commit_body, eof=None),
}
