"""A container's files and processes as the API shows them: changes, export, archive stat/get/put,
stats, top and logs.

Functions of the ContainerService whose records they read; the service delegates to them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from skiff import errdefs
from skiff.engine.backend import archive as archive_mod
from skiff.engine.backend import export as export_mod
from skiff.engine.backend import fsdiff, jsonlog, runspec, timefmt
from skiff.engine.backend import stats as stats_mod
from skiff.engine.backend import top as top_mod
from skiff.engine.backend.record import Container

if TYPE_CHECKING:
    from skiff.engine.backend.containers import ContainerService

from skiff.engine.backend import container_views


async def changes(svc: ContainerService, ref: str) -> list[dict[str, Any]] | None:
    record = svc.store.get(ref)
    upper, lowers = fsdiff.overlay_dirs(record.rootfs_mounts)
    if upper is None:
        return None
    return await asyncio.to_thread(fsdiff.changes, upper, lowers) or None


def export(svc: ContainerService, ref: str) -> AsyncIterator[bytes]:
    record = svc.store.get(ref)
    layers = runspec.rootfs_layers(record.rootfs_mounts)
    if not layers:
        raise errdefs.Unknown(f"container {record.id} has no root filesystem to export")
    return export_mod.stream(layers)


def layers(svc: ContainerService, record: Container) -> list[str]:
    layers = runspec.rootfs_layers(record.rootfs_mounts)
    if not layers:
        raise errdefs.Unknown(f"container {record.id} has no root filesystem")
    return layers


def archive_view(svc: ContainerService, record: Container, path: str) -> tuple[list[str], str, str]:
    """The layers (or the volume) a stat of ``path`` resolves in, the path inside them, and the
    container path they start at."""
    mounted = archive_mod.in_mount(container_views.mounts(record), path)
    if mounted is not None:
        return [mounted[0]], mounted[1], mounted[2]
    return layers(svc, record), path, "/"


def archive_root(svc: ContainerService, record: Container) -> tuple[str | None, list[tuple[str, str]]]:
    """Where the archive helper chroots: a running container's own view (its mounts included,
    through /proc/PID/root), else None (it mounts the layers privately); and the volumes and binds."""
    st = record.state
    root = f"/proc/{st.pid}/root" if st.running and st.pid and not st.restarting else None
    binds = [(str(m["Source"]), str(m["Destination"])) for m in container_views.mounts(record)
             if m.get("Source") and m.get("Destination") and m.get("Type") in ("volume", "bind")]
    return root, binds


async def archive_stat(svc: ContainerService, ref: str, path: str | None) -> dict[str, Any]:
    record = svc.store.get(ref)
    layers, inner, _base = archive_view(svc, record, path or "")
    _resolved, _host, info = await asyncio.to_thread(
        archive_mod.path_stat, layers, inner, ref, path or ""
    )
    return info


async def archive_get(
    svc: ContainerService, ref: str, path: str | None
) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
    """The stat comes from the layers; the tar from the helper chrooted into the container."""
    record = svc.store.get(ref)
    layers, inner, base = archive_view(svc, record, path or "")
    resolved, _host, info = await asyncio.to_thread(
        archive_mod.path_stat, layers, inner, ref, path or ""
    )
    source = base.rstrip("/") + resolved if resolved != "/" else base
    root, binds = archive_root(svc, record)
    return info, archive_mod.get(source, info["name"], root, record.rootfs_mounts, binds)


async def archive_put(svc: ContainerService, ref: str, path: str | None, data: bytes,
                      no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False) -> None:
    """Unpacked by the helper chrooted into the container (see ``_archive_root``)."""
    record = svc.store.get(ref)
    if not path:
        raise errdefs.InvalidArgument("bad parameter: pathcannot be empty")
    layers(svc, record)
    chown = None
    if copy_uid_gid and record.config.get("User"):
        chown = archive_mod.copy_owner(str(record.config["User"]))
    root, binds = archive_root(svc, record)
    await archive_mod.put(data, path, root, record.rootfs_mounts, binds, no_overwrite_dir_non_dir,
                          chown, ref)


def stats(
    svc: ContainerService, ref: str, stream: bool = True, interval: float = 1.0
) -> AsyncIterator[dict[str, Any]]:
    """dockerd's stats: a reading per ``interval``; one reading (with a previous one) without stream."""
    record = svc.store.get(ref)
    rt = svc.runtime_state(record.id)
    cgroup = f"/skiff/{record.id}"

    async def readings() -> AsyncIterator[dict[str, Any]]:
        if not record.state.running:
            yield stats_mod.stopped(record.name, record.id)
            return
        previous = await asyncio.to_thread(stats_mod.sample, cgroup)
        gen = rt.generation
        if stream:
            yield stats_mod.render(previous, None, record.name, record.id)
        while True:
            await asyncio.sleep(interval)
            if rt.generation != gen or rt.removed:
                return
            current = await asyncio.to_thread(stats_mod.sample, cgroup)
            yield stats_mod.render(current, previous, record.name, record.id)
            if not stream:
                return
            previous = current

    return readings()


async def top(svc: ContainerService, ref: str, ps_args: str | None = None) -> dict[str, Any]:
    record = svc.store.get(ref)
    if not record.state.running or record.state.restarting:
        raise errdefs.Conflict(f"Container {record.id} is not running")
    return await top_mod.top(f"/skiff/{record.id}", ps_args)


def logs(
    svc: ContainerService,
    ref: str,
    stdout: bool = False,
    stderr: bool = False,
    since: str | None = None,
    until: str | None = None,
    timestamps: bool = False,
    tail: str | None = None,
    follow: bool = False,
) -> tuple[bool, AsyncIterator[bytes]]:
    """(tty, frames). Validates before anything is sent."""
    if not stdout and not stderr:
        raise errdefs.InvalidArgument("Bad parameters: you must choose at least one stream")
    record = svc.store.get(ref)
    since_ns, until_ns = log_bounds(since, until)
    try:
        tail_n = int(tail) if tail not in (None, "", "all") else -1
    except ValueError:
        tail_n = -1
    opts = jsonlog.LogOptions(stdout, stderr, since_ns, until_ns, tail_n, timestamps)
    tty = bool(record.config.get("Tty"))
    rt = svc.runtime_state(record.id)
    gen0 = rt.generation
    running = record.state.running

    async def output() -> AsyncIterator[bytes]:
        offset = jsonlog.size(record.log_path)
        for chunk in jsonlog.render_log(record.log_path, opts, tty):
            yield chunk
        if follow and running:
            async for chunk in jsonlog.follow(
                record.log_path, offset, opts, tty, lambda: rt.generation > gen0 or rt.removed
            ):
                yield chunk

    return tty, output()


def log_bounds(since: str | None, until: str | None) -> tuple[int, int]:
    """(since_ns, until_ns) of a logs request, 0 meaning unset, as dockerd reads them: "" (and "0" for
    until) is unset, anything else a ``<seconds>[.<fraction>]`` time; a bad one is Go's strconv error
    (a 500). A since at or before the epoch keeps every line; an until there keeps none."""
    try:
        since_ns = timefmt.parse_unix_timestamp(since) if since else 0
        until_ns = timefmt.parse_unix_timestamp(until) if until and until != "0" else 0
    except ValueError as err:
        raise errdefs.Unknown(str(err)) from None
    if until and until != "0" and until_ns == 0:
        until_ns = -1
    return max(since_ns, 0), until_ns
