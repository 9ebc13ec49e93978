"""From a ``POST /containers/create`` body and an image config to the stored Config and HostConfig.

Docker decodes the body into Go structs and re-encodes them, so every field appears in inspect with
its zero value; the templates below play the part of those structs. The image merge follows Docker's
rules (env by key, Cmd only without a user Entrypoint, labels and exposed ports unioned).
"""

from __future__ import annotations

import copy
from typing import Any

from skiff import errdefs
from skiff.core import specgen
from skiff.engine.backend import health

CONFIG_TEMPLATE: dict[str, Any] = {
    "Hostname": "",
    "Domainname": "",
    "User": "",
    "AttachStdin": False,
    "AttachStdout": False,
    "AttachStderr": False,
    "Tty": False,
    "OpenStdin": False,
    "StdinOnce": False,
    "Env": None,
    "Cmd": None,
    "Image": "",
    "Volumes": None,
    "WorkingDir": "",
    "Entrypoint": None,
    "OnBuild": None,
    "Labels": None,
}
# Present only when set (Go's omitempty).
CONFIG_OPTIONAL = (
    "ExposedPorts",
    "Healthcheck",
    "ArgsEscaped",
    "NetworkDisabled",
    "MacAddress",
    "StopSignal",
    "StopTimeout",
    "Shell",
)

HOST_CONFIG_TEMPLATE: dict[str, Any] = {
    "Binds": None,
    "ContainerIDFile": "",
    "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "default",
    "PortBindings": {},
    "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False,
    "VolumeDriver": "",
    "VolumesFrom": None,
    "CapAdd": None,
    "CapDrop": None,
    "CgroupnsMode": "host",
    "Dns": [],
    "DnsOptions": [],
    "DnsSearch": [],
    "ExtraHosts": None,
    "GroupAdd": None,
    "IpcMode": "private",
    "Cgroup": "",
    "Links": None,
    "OomScoreAdj": 0,
    "PidMode": "",
    "Privileged": False,
    "PublishAllPorts": False,
    "ReadonlyRootfs": False,
    "SecurityOpt": None,
    "UTSMode": "",
    "UsernsMode": "",
    "ShmSize": specgen.DEFAULT_SHM_SIZE,
    "Runtime": "runc",
    "ConsoleSize": [0, 0],
    "Isolation": "",
    "CpuShares": 0,
    "Memory": 0,
    "NanoCpus": 0,
    "CgroupParent": "",
    "BlkioWeight": 0,
    "BlkioWeightDevice": [],
    "BlkioDeviceReadBps": [],
    "BlkioDeviceWriteBps": [],
    "BlkioDeviceReadIOps": [],
    "BlkioDeviceWriteIOps": [],
    "CpuPeriod": 0,
    "CpuQuota": 0,
    "CpuRealtimePeriod": 0,
    "CpuRealtimeRuntime": 0,
    "CpusetCpus": "",
    "CpusetMems": "",
    "Devices": [],
    "DeviceCgroupRules": None,
    "DeviceRequests": None,
    "KernelMemory": 0,
    "KernelMemoryTCP": 0,
    "MemoryReservation": 0,
    "MemorySwap": 0,
    "MemorySwappiness": None,
    "OomKillDisable": False,
    "PidsLimit": None,
    "Ulimits": [],
    "CpuCount": 0,
    "CpuPercent": 0,
    "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0,
    "MaskedPaths": list(specgen.MASKED_PATHS),
    "ReadonlyPaths": list(specgen.READONLY_PATHS),
}
HOST_CONFIG_OPTIONAL = ("Mounts", "Tmpfs", "Sysctls", "StorageOpt", "Init")
# Zero values Docker replaces with its defaults.
_HOST_DEFAULTS_WHEN_EMPTY = {
    "NetworkMode": "default",
    "IpcMode": "private",
    "CgroupnsMode": "host",
    "ShmSize": specgen.DEFAULT_SHM_SIZE,
    "Runtime": "runc",
}
_LIST_DEFAULTS = (
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "Devices",
    "Ulimits",
)


def image_config_template() -> dict[str, Any]:
    return copy.deepcopy(CONFIG_TEMPLATE)


def fill_config(partial: dict[str, Any] | None, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Config with every field, as Go would encode it."""
    out = copy.deepcopy(template if template is not None else CONFIG_TEMPLATE)
    for key, value in (partial or {}).items():
        if key in out or key in CONFIG_OPTIONAL:
            out[key] = copy.deepcopy(value)
    for key in CONFIG_OPTIONAL:
        if key in out and out[key] in (None, "", {}, False, []):
            del out[key]
    # Keep Docker's key order: optional keys after their neighbours is cosmetic; JSON order is not API.
    return out


def merge_image(user: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """daemon.merge: the image config fills what the user left empty."""
    out = dict(user)
    if not out.get("User"):
        out["User"] = image.get("User") or ""
    ports = dict(image.get("ExposedPorts") or {})
    ports.update(out.get("ExposedPorts") or {})
    if ports:
        out["ExposedPorts"] = ports
    user_env = list(out.get("Env") or [])
    if not user_env:
        out["Env"] = list(image.get("Env") or []) or None
    else:
        keys = {e.split("=", 1)[0] for e in user_env}
        out["Env"] = user_env + [e for e in (image.get("Env") or []) if e.split("=", 1)[0] not in keys]
    labels = dict(image.get("Labels") or {})
    labels.update(out.get("Labels") or {})
    out["Labels"] = labels
    if not out.get("Entrypoint"):
        if not out.get("Cmd"):
            out["Cmd"] = image.get("Cmd")
            if image.get("ArgsEscaped"):
                out["ArgsEscaped"] = True
        if out.get("Entrypoint") is None:
            out["Entrypoint"] = image.get("Entrypoint")
    if not out.get("WorkingDir"):
        out["WorkingDir"] = image.get("WorkingDir") or ""
    volumes = dict(image.get("Volumes") or {})
    volumes.update(out.get("Volumes") or {})
    out["Volumes"] = volumes or None
    if not out.get("StopSignal") and image.get("StopSignal"):
        out["StopSignal"] = image["StopSignal"]
    if image.get("Healthcheck"):
        out["Healthcheck"] = health.merge_image(out.get("Healthcheck"), image["Healthcheck"])
    if not out.get("OnBuild") and image.get("OnBuild"):
        out["OnBuild"] = image["OnBuild"]
    return out


def command(config: dict[str, Any]) -> tuple[str, list[str]]:
    """Path and Args: the entrypoint followed by the command."""
    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if not argv:
        raise errdefs.InvalidArgument("No command specified")
    return argv[0], argv[1:]


def host_config(partial: dict[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(HOST_CONFIG_TEMPLATE)
    for key, value in (partial or {}).items():
        out[key] = copy.deepcopy(value)
    for key, default in _HOST_DEFAULTS_WHEN_EMPTY.items():
        if not out.get(key):
            out[key] = default
    for key in _LIST_DEFAULTS:
        if out.get(key) is None:
            out[key] = []
    log_config = out.get("LogConfig") or {}
    out["LogConfig"] = {
        "Type": log_config.get("Type") or "json-file",
        "Config": log_config.get("Config") or {},
    }
    restart = out.get("RestartPolicy") or {}
    out["RestartPolicy"] = {
        "Name": restart.get("Name") or "no",
        "MaximumRetryCount": int(restart.get("MaximumRetryCount") or 0),
    }
    # Docker stores "unlimited"/"default" as nil, whatever the client sent for them.
    if out.get("PidsLimit") is not None and int(out["PidsLimit"]) <= 0:
        out["PidsLimit"] = None
    if out.get("MemorySwappiness") is not None and int(out["MemorySwappiness"]) == -1:
        out["MemorySwappiness"] = None
    if int(out.get("Memory") or 0) > 0 and not out.get("MemorySwap"):
        out["MemorySwap"] = int(out["Memory"]) * 2
    if out.get("PortBindings") is None:
        out["PortBindings"] = {}
    if out.get("ConsoleSize") is None:
        out["ConsoleSize"] = [0, 0]
    if out.get("Privileged"):
        out["MaskedPaths"] = None
        out["ReadonlyPaths"] = None
    else:
        if not out.get("MaskedPaths"):
            out["MaskedPaths"] = list(specgen.MASKED_PATHS)
        if not out.get("ReadonlyPaths"):
            out["ReadonlyPaths"] = list(specgen.READONLY_PATHS)
    if out["LogConfig"]["Type"] not in ("json-file",):
        raise errdefs.InvalidArgument(
            f"logger: no log driver named '{out['LogConfig']['Type']}' is registered"
        )
    if out["RestartPolicy"]["Name"] not in ("no", "always", "unless-stopped", "on-failure"):
        raise errdefs.InvalidArgument(f"invalid restart policy '{out['RestartPolicy']['Name']}'")
    if out.get("AutoRemove") and out["RestartPolicy"]["Name"] != "no":
        raise errdefs.InvalidArgument("can't create 'AutoRemove' container with restart policy")
    return out
