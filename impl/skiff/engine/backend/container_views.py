"""Read views of containers: inspect and list (with their filters), as dockerd renders them.

Functions of the ContainerService whose records they read; the service delegates to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from skiff import errdefs
from skiff.engine import gostrconv
from skiff.engine.backend import filters as filters_mod
from skiff.engine.backend import health as health_mod
from skiff.engine.backend import networks as networks_mod
from skiff.engine.backend import timefmt
from skiff.engine.backend.record import Container

if TYPE_CHECKING:
    from skiff.engine.backend.containers import ContainerService

LIST_FILTERS = (
    "ancestor",
    "before",
    "exited",
    "id",
    "label",
    "name",
    "since",
    "status",
    "volume",
    "network",
    "health",
    "isolation",
    "is-task",
    "publish",
    "expose",
)
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH_VALUES = ("starting", "healthy", "unhealthy", "none")


def match_extra(wanted: dict[str, list[str]], record: Container, mounts: list[dict[str, Any]]) -> bool:
    """volume, is-task and expose filters (skiff has no swarm tasks; list_ applies health)."""
    if wanted.get("volume") and not any(
        v in (m["Source"], m["Destination"]) for v in wanted["volume"] for m in mounts
    ):
        return False
    if wanted.get("is-task") and "true" in [v.lower() for v in wanted["is-task"]]:
        return False
    if wanted.get("expose"):
        ports = set(record.config.get("ExposedPorts") or {})
        wanted_ports = {p if "/" in p else f"{p}/tcp" for p in wanted["expose"]}
        if not ports & wanted_ports:
            return False
    return True


def graph_driver(svc: ContainerService, record: Container) -> dict[str, Any]:
    data: dict[str, str] = {}
    for m in record.rootfs_mounts:
        for opt in m.get("options") or []:
            key, _, value = str(opt).partition("=")
            if key == "lowerdir":
                data["LowerDir"] = value
            elif key == "upperdir":
                data["UpperDir"] = value
            elif key == "workdir":
                data["WorkDir"] = value
    if data:
        if svc.containerd_state is not None:
            data["MergedDir"] = str(svc.containerd_state / "tasks" / record.id / "rootfs")
        elif "UpperDir" in data:
            data["MergedDir"] = str(Path(data["UpperDir"]).parent / "merged")
    return {"Data": dict(sorted(data.items())) or None, "Name": record.driver}


def mounts(record: Container) -> list[dict[str, Any]]:
    out = [
        {k: v for k, v in point.items() if k != "Named"} for point in record.mount_points.values()
    ]
    for bind in record.host_config.get("Binds") or []:
        parts = str(bind).split(":")
        if len(parts) >= 2 and parts[0].startswith("/"):
            mode = parts[2] if len(parts) > 2 else ""
            out.append(
                {
                    "Type": "bind",
                    "Source": parts[0],
                    "Destination": parts[1],
                    "Mode": mode,
                    "RW": "ro" not in mode.split(","),
                    "Propagation": "rprivate",
                }
            )
    for m in record.host_config.get("Mounts") or []:
        if m.get("Type") == "volume":
            continue
        out.append(
            {
                "Type": m.get("Type", ""),
                "Source": m.get("Source", ""),
                "Destination": m.get("Target", ""),
                "Mode": "",
                "RW": not m.get("ReadOnly"),
                "Propagation": "rprivate" if m.get("Type") == "bind" else "",
            }
        )
    return out


async def inspect(svc: ContainerService, ref: str, size: bool = False) -> dict[str, Any]:
    record = svc.store.get(ref)
    st = record.state
    state = {
        "Status": st.state_string(),
        "Running": st.running,
        "Paused": st.paused,
        "Restarting": st.restarting,
        "OOMKilled": st.oom_killed,
        "Dead": st.dead,
        "Pid": st.pid,
        "ExitCode": st.exit_code,
        "Error": st.error,
        "StartedAt": st.started_at,
        "FinishedAt": st.finished_at,
    }
    if (health := health_mod.monitor_for(svc).state(record.id)) is not None:
        state["Health"] = health
    out: dict[str, Any] = {
        "Id": record.id,
        "Created": record.created,
        "Path": record.path,
        "Args": record.args,
        "State": state,
        "Image": record.image,
        "ResolvConfPath": record.resolv_conf_path,
        "HostnamePath": record.hostname_path,
        "HostsPath": record.hosts_path,
        "LogPath": record.log_path,
        "Name": record.name,
        "RestartCount": record.restart_count,
        "Driver": record.driver,
        "Platform": record.platform,
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": record.host_config,
        "GraphDriver": graph_driver(svc, record),
    }
    if size:
        rw = await usage(svc, record)
        out["SizeRw"] = rw
        out["SizeRootFs"] = rw + await image_size(svc, record)
    out["Mounts"] = mounts(record)
    out["Config"] = record.config
    out["NetworkSettings"] = (
        svc.network.settings(record) if svc.network is not None else networks_mod.empty_settings()
    )
    return out


async def usage(svc: ContainerService, record: Container) -> int:
    try:
        return int(await svc.core.containers_usage(record.id))
    except errdefs.SkiffError:
        return 0


async def image_size(svc: ContainerService, record: Container) -> int:
    try:
        return int((await svc.images.core.images_get(record.image)).size)
    except errdefs.SkiffError:
        return 0


async def list_(
    svc: ContainerService,
    all_: bool = False,
    limit: int | None = None,
    size: bool = False,
    filters: str | None = None,
) -> list[dict[str, Any]]:
    wanted = filters_mod.parse(filters)
    filters_mod.validate(wanted, LIST_FILTERS)
    for value in wanted.get("health", []):
        if value not in HEALTH_VALUES:
            raise errdefs.InvalidArgument(f"Unrecognised filter value for health: {value}")
    for value in wanted.get("status", []):
        if value not in STATUSES:
            raise errdefs.InvalidArgument(f"Invalid filter 'status={value}'")
        all_ = True
    exited: list[int] = []
    for value in wanted.get("exited", []):
        try:
            exited.append(gostrconv.atoi(value))
        except ValueError as err:
            raise errdefs.InvalidArgument(str(err)) from None
    ancestors: set[str] = set()
    for value in wanted.get("ancestor", []):
        try:
            ancestors.add((await svc.images.resolve(value)).id)
        except errdefs.NotFound:
            ancestors.add(value)
    before_ns = since_ns = 0
    for key in ("before", "since"):
        for value in wanted.get(key, []):
            other = svc.store.get(value)
            if key == "before":
                before_ns = timefmt.parse_ns(other.created)
            else:
                since_ns = timefmt.parse_ns(other.created)
    records = sorted(svc.store, key=lambda r: timefmt.parse_ns(r.created), reverse=True)
    now_ns = timefmt.now_ns()
    out: list[dict[str, Any]] = []
    for record in records:
        st = record.state
        if not st.running and not all_ and not (limit and limit > 0) and not before_ns and not since_ns:
            continue
        created_ns = timefmt.parse_ns(record.created)
        if before_ns and created_ns >= before_ns:
            continue
        if since_ns and created_ns <= since_ns:
            continue
        if not filters_mod.match_regex(wanted.get("id", []), record.id):
            continue
        if not filters_mod.match_regex(wanted.get("name", []), record.name):
            continue
        if wanted.get("status") and st.state_string() not in wanted["status"]:
            continue
        if not filters_mod.match_labels(wanted.get("label", []), record.config.get("Labels")):
            continue
        if ancestors and record.image not in ancestors and record.config.get("Image") not in ancestors:
            continue
        if exited and not (
            not st.running and not timefmt.is_zero(st.started_at) and st.exit_code in exited
        ):
            continue
        if not match_extra(wanted, record, mounts(record)):
            continue
        health = health_mod.monitor_for(svc).status(record.id)
        if wanted.get("health") and health not in wanted["health"]:
            continue
        command = record.path + (" " + " ".join(record.args) if record.args else "")
        summary: dict[str, Any] = {
            "Id": record.id,
            "Names": [record.name],
            "Image": record.config.get("Image") or record.image,
            "ImageID": record.image,
            "Command": command,
            "Created": created_ns // 1_000_000_000,
            "Ports": [],
            "Labels": record.config.get("Labels") or {},
            "State": st.state_string(),
            "Status": health_mod.monitor_for(svc).decorate(record, st.human(now_ns)),
            "HostConfig": {"NetworkMode": record.host_config.get("NetworkMode", "default")},
            "NetworkSettings": {"Networks": {}},
            "Mounts": mounts(record),
        }
        if svc.network is not None:
            svc.network.summarize(record, summary)
        if size:
            rw = await usage(svc, record)
            if rw:  # omitempty in the list, unlike inspect
                summary["SizeRw"] = rw
            summary["SizeRootFs"] = rw + await image_size(svc, record)
        out.append(summary)
        if limit and limit > 0 and len(out) >= limit:
            break
    return out
