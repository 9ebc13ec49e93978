"""The containers backend: Docker's container lifecycle over CoreClient's containers and tasks.

Records live in ``Store``; the core owns snapshots and tasks. One background task follows the core's
``/tasks/exit`` events (plus a ``tasks_wait`` per started task as a backstop, so an exit is never missed
while the event stream reconnects); exits update State, delete the core task, wake waiters and honour
AutoRemove. Attaches made before ``start`` are wired between the core's task create and task start: their
``tasks_attach`` stream is ``ready()`` (forwarding) before the process runs, so ``docker run`` sees every
byte. Should the core not set one up, the attach follows the json log from the offset the run starts at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal as signal_mod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.core import specgen
from skiff.core.specopts import network as net_specopts
from skiff.core.specopts import resources as resource_opts
from skiff.engine.backend import bindcheck as bind_check
from skiff.engine.backend import (
    container_files,
    container_views,
    interactive,
    jsonlog,
    merge,
    names,
    runspec,
    signals,
    timefmt,
)
from skiff.engine.backend import filters as filters_mod
from skiff.engine.backend import health as health_mod
from skiff.engine.backend import runtimes as runtimes_mod
from skiff.engine.backend import volume_local as local_volumes
from skiff.engine.backend import volumes as volumes_mod
from skiff.engine.backend.events import EventBus
from skiff.engine.backend.images import ImageService
from skiff.engine.backend.networks import NetworkService
from skiff.engine.backend.record import Container
from skiff.engine.backend.store import Store
from skiff.engine.streams import StdcopyDecoder

log = logging.getLogger("skiff.engine.backend.containers")

WAIT_CONDITIONS = ("not-running", "next-exit", "removed")
DEFAULT_STOP_TIMEOUT = 10
RECONNECT_DELAY = 0.5
UPDATE_RESOURCES = (
    "CpuShares",
    "Memory",
    "CgroupParent",
    "BlkioWeight",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "CpuPeriod",
    "CpuQuota",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "CpusetCpus",
    "CpusetMems",
    "Devices",
    "DeviceCgroupRules",
    "DeviceRequests",
    "KernelMemory",
    "KernelMemoryTCP",
    "MemoryReservation",
    "MemorySwap",
    "MemorySwappiness",
    "NanoCpus",
    "OomKillDisable",
    "PidsLimit",
    "Ulimits",
    "CpuCount",
    "CpuPercent",
    "IOMaximumIOps",
    "IOMaximumBandwidth",
)
RESTART_FIRST_DELAY = 0.1  # dockerd's restart manager: 100 ms, doubling, at most a minute,
RESTART_MAX_DELAY = 60.0  # back to 100 ms after a run of 10 s or more
RESTART_RESET_AFTER = 10.0


ATTACH_READY_TIMEOUT = 5.0


def _cancel(stream: Any) -> None:
    cancel = getattr(stream, "cancel", None)
    if cancel is not None:
        with contextlib.suppress(Exception):
            cancel()


async def _payloads(frames: AsyncIterator[bytes], tty: bool) -> AsyncIterator[bytes]:
    """The core sends stdcopy frames; a tty container's stream is raw, so strip them for it."""
    if not tty:
        async for frame in frames:
            yield frame
        return
    decoder = StdcopyDecoder()
    async for chunk in frames:
        for _stream, payload in decoder.feed(chunk):
            yield payload


def _is_exec_not_found(message: str, cmd: str) -> bool:
    low = message.lower()
    return cmd.lower() in low and any(
        s in low
        for s in (
            "executable file not found",
            "no such file or directory",
            "system cannot find the file specified",
        )
    )


def translate_start_error(message: str, cmd: str) -> tuple[int, errdefs.SkiffError]:
    """Docker's translateContainerdStartErr: (exit code to record, error to answer)."""
    if not message.startswith("failed to create shim task"):
        message = f"failed to create shim task: OCI runtime create failed: {message}: unknown"
    low = message.lower()
    if _is_exec_not_found(message, cmd):
        return 127, errdefs.InvalidArgument(message)
    if "permission denied" in low:
        return 126, errdefs.InvalidArgument(message)
    if "not a directory" in low:
        return 127, errdefs.InvalidArgument(
            message + ": Are you trying to mount a directory onto a file (or vice-versa)? "
            "Check if the specified host path exists and is the expected type"
        )
    return 128, errdefs.Unknown(message)


@dataclass
class _Pending:
    """An attach waiting for the next start: resolved with a ready core attach stream, or with
    ``(log offset, run generation)`` to follow the log instead, or None when the start failed."""

    stdout: bool
    stderr: bool
    future: asyncio.Future[Any]


@dataclass
class _Runtime:
    """In-memory facts about a container beyond its record."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    generation: int = 0  # exits handled so far
    removed: bool = False
    pending: list[_Pending] = field(default_factory=list)
    watcher: asyncio.Future[None] | None = None
    restart: asyncio.Future[None] | None = None
    backoff: float = 0.0
    oom: bool = False  # core reported an OOM kill in the running task: State.OOMKilled at its exit


class ContainerService:
    """create/start/attach/wait/stop/kill/restart/delete/prune/inspect/list/logs."""

    def __init__(
        self,
        core: Any,
        images: ImageService,
        data_root: Path,
        containerd_state: Path | None = None,
        stop_kill_grace: float = 10.0,
        events: EventBus | None = None,
        init_path: str | None = None,
    ) -> None:
        self.core = core
        self.init_path = init_path
        self.images = images
        self.store = Store(data_root / "containers")
        self.volumes = volumes_mod.VolumeStore(data_root / "volumes")
        self.containerd_state = containerd_state
        self.stop_kill_grace = stop_kill_grace
        self._rt: dict[str, _Runtime] = {}
        self._changed: asyncio.Condition | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._reconciled = False
        self.events = events if events is not None else EventBus()
        self.volumes.events = self.events
        self.volume_mounts = local_volumes.LocalMounts(self.volumes, self.events)
        self.network: NetworkService | None = None  # set by build_services (a real daemon)
        # the daemon's runtimes by name (build_services sets them from the configuration)
        self.configured_runtimes: dict[str, str] = {}
        self.runtime_paths: dict[str, str] = {runtimes_mod.OWN_RUNC: "skiff-runc"}
        self.default_runtime = runtimes_mod.OWN_RUNC
        self.store.load()

    # ---------- plumbing ----------
    def runtime_state(self, cid: str) -> _Runtime:
        rt = self._rt.get(cid)
        if rt is None:
            rt = self._rt[cid] = _Runtime()
        return rt

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def start_background(self) -> None:
        """Start following core events (idempotent; needs a running loop)."""
        if self._monitor is None or self._monitor.done():
            self._monitor = asyncio.ensure_future(self._follow_events())

    async def close(self) -> None:
        watchers = [t for rt in self._rt.values() for t in (rt.watcher, rt.restart) if t is not None]
        tasks = [t for t in [self._monitor, *self._background, *watchers] if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t

    async def _follow_events(self) -> None:
        connected = False
        while True:
            try:
                events = self.core.events_subscribe()
                if hasattr(events, "ready"):
                    await events.ready()
                if not connected:
                    log.info("following skiff-containerd events")
                connected = True
                await self.reconcile()
                async for event in events:
                    if event.topic == "/tasks/exit" and event.container_id:
                        await self._on_exit(
                            event.container_id, int(event.exit_status), event.exited_at, int(event.pid)
                        )
                    elif event.topic == "/tasks/oom" and event.container_id:
                        self._on_oom(event.container_id)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                # quiet while skiff-containerd is still starting; loud once a stream was lost
                (log.warning if connected else log.debug)("core event stream ended: %s; reconnecting", err)
            await asyncio.sleep(RECONNECT_DELAY)

    async def reconcile(self) -> None:
        """Bring records in line with the core's tasks (after a restart of skiffd or of the stream)."""
        try:
            tasks = {t.container_id: t for t in await self.core.tasks_list()}
        except errdefs.SkiffError as err:
            log.warning("cannot list core tasks: %s", err)
            return
        for record in list(self.store):
            if self.runtime_state(record.id).lock.locked():
                continue  # a start, exit or removal is under way and will settle this record
            if not record.state.running:
                if record.id in tasks and not record.state.removing:
                    await self._discard_task(record.id)
                continue
            task = tasks.get(record.id)
            if task is None:
                await self._on_exit(record.id, 255, "", 0, force=True)
            elif int(task.status) == 3:  # STOPPED
                await self._on_exit(record.id, int(task.exit_status), task.exited_at, 0)
            else:
                self._ensure_watch(record.id, record.state.pid)
                health_mod.monitor_for(self).ensure(record)
        if not self._reconciled:
            self._reconciled = True
            self.volume_mounts.adopt([r for r in self.store if r.state.running])
            if self.network is not None:
                await self.network.reconcile({r.id: r for r in self.store if r.state.running})
            await self._remove_orphans(set(tasks))
            reaped = await asyncio.to_thread(resource_opts.reap_cgroups, "/skiff", set(tasks))
            if reaped:
                log.info("removed %d cgroups left by containers that are gone", len(reaped))

    async def _remove_orphans(self, task_ids: set[str]) -> None:
        """Core containers without a record (skiffd died mid-create or mid-delete) are removed."""
        try:
            core_containers = await self.core.containers_list()
        except (errdefs.SkiffError, AttributeError) as err:
            log.debug("cannot list core containers: %s", err)
            return
        for c in core_containers:
            if self.store.find(c.id) is not None or self.store.is_reserved(c.id):
                continue
            log.info("removing orphaned core container %s", c.id)
            try:
                if c.id in task_ids:
                    await self._discard_task(c.id)
                await self.core.containers_delete(c.id)
            except errdefs.SkiffError as err:
                log.warning("cannot remove orphaned core container %s: %s", c.id, err)

    async def _discard_task(self, cid: str) -> None:
        """Kill and delete a core task that no record accounts for."""
        try:
            with contextlib.suppress(errdefs.NotFound):
                await self.core.tasks_kill(cid, signal_mod.SIGKILL, all=True)
            with contextlib.suppress(errdefs.NotFound):
                await asyncio.wait_for(self.core.tasks_wait(cid), self.stop_kill_grace)
            with contextlib.suppress(errdefs.NotFound):
                await self.core.tasks_delete(cid)
        except (errdefs.SkiffError, TimeoutError) as err:
            log.warning("cannot discard the task of %s: %s", cid, err)

    def _ensure_watch(self, cid: str, pid: int) -> None:
        rt = self.runtime_state(cid)
        if rt.watcher is None or rt.watcher.done():
            rt.watcher = asyncio.ensure_future(self._watch(cid, pid))

    async def _watch(self, cid: str, pid: int) -> None:
        """Backstop for the event stream: the core's Wait for this task."""
        try:
            task = await self.core.tasks_wait(cid)
        except errdefs.NotFound:
            return
        except errdefs.SkiffError as err:
            log.debug("tasks_wait %s: %s", cid, err)
            return
        await self._on_exit(cid, int(task.exit_status), task.exited_at, pid)

    async def _on_exit(
        self, cid: str, exit_status: int, exited_at: str, pid: int, force: bool = False
    ) -> None:
        record = self.store.find(cid)
        if record is None:
            return
        rt = self.runtime_state(cid)
        async with rt.lock:
            if not record.state.running:
                return
            if record.state.restarting and not force:
                return  # the event stream and the wait backstop both report an exit: this one is settled
            if pid and record.state.pid and pid != record.state.pid and not force:
                return  # an exec'd process, not the init
            with contextlib.suppress(errdefs.SkiffError):
                await self.core.tasks_delete(cid)
            st = record.state
            st.oom_killed = rt.oom  # dockerd: an OOM kill during the task's life, whichever process it hit
            st.running = st.paused = st.restarting = False
            st.status = "exited"
            st.pid = 0
            health_mod.monitor_for(self).stopped(cid)
            st.exit_code = exit_status
            st.finished_at = exited_at if exited_at and not timefmt.is_zero(exited_at) else timefmt.now()
            # The restart verdict is taken before the next await: a stop arriving meanwhile reads the state
            # without the lock and must see "restarting" (and cancel it), never a passing "exited" (a 304
            # that leaves the restart going and the manual stop unrecorded).
            delay = self._restart_delay(record, rt)
            if delay is not None:
                # dockerd's SetRestarting: still "running" for waiters, but restarting and without a pid
                st.running = st.restarting = True
                st.status = "restarting"
                rt.restart = asyncio.ensure_future(self._restart_later(record, delay))  # starts under rt.lock
            self.store.save(record)
            await self._release_network(cid)
            rt.generation += 1
        self._publish(record, "die", exitCode=str(exit_status))
        await self._notify()
        if record.host_config.get("AutoRemove"):
            with contextlib.suppress(errdefs.SkiffError):
                await self._remove(record, volumes=True)

    def _on_oom(self, cid: str) -> None:
        """core's TaskOOM: the ``oom`` event now, and (as dockerd 20.10) State.OOMKilled at the exit."""
        record = self.store.find(cid)
        if record is None:
            return
        self.runtime_state(cid).oom = True
        self._publish(record, "oom")

    def _restart_delay(self, record: Container, rt: _Runtime) -> float | None:
        """The restart policy's verdict for an exit: None, or the back-off before the next start."""
        policy = record.host_config.get("RestartPolicy") or {}
        name = policy.get("Name") or "no"
        if record.has_been_manually_stopped or rt.removed or record.state.removing:
            return None
        if name == "on-failure":
            limit = int(policy.get("MaximumRetryCount") or 0)
            if record.state.exit_code == 0 or (limit and record.restart_count >= limit):
                return None
        elif name not in ("always", "unless-stopped"):
            return None
        ran_for = (
            timefmt.parse_ns(record.state.finished_at) - timefmt.parse_ns(record.state.started_at)
        ) / 1e9
        if ran_for >= RESTART_RESET_AFTER:
            rt.backoff = 0.0
        rt.backoff = min(RESTART_MAX_DELAY, rt.backoff * 2 if rt.backoff else RESTART_FIRST_DELAY)
        return rt.backoff

    async def _restart_later(self, record: Container, delay: float) -> None:
        await asyncio.sleep(delay)
        rt = self.runtime_state(record.id)
        if rt.removed or not record.state.restarting or record.has_been_manually_stopped:
            return
        record.restart_count += 1
        try:
            # shielded: once a start is under way, cancelling the restart must not cut it in half
            await asyncio.shield(self._start(record, from_restart=True))
        except errdefs.SkiffError as err:
            log.warning("restarting %s failed: %s", record.id, err)
            async with rt.lock:
                record.state.running = record.state.restarting = False
                record.state.status = "exited"
                self.store.save(record)
            await self._notify()

    async def _cancel_restart(self, record: Container) -> bool:
        """Stop a pending restart; True when the container was only waiting to restart."""
        rt = self.runtime_state(record.id)
        if rt.restart is not None and not rt.restart.done():
            rt.restart.cancel()
        async with rt.lock:
            if not record.state.restarting:
                return False
            record.state.running = record.state.restarting = False
            record.state.status = "exited"
            self.store.save(record)
        await self._notify()
        return True

    def _mark_manually_stopped(self, record: Container) -> None:
        if not record.has_been_manually_stopped:
            record.has_been_manually_stopped = True
            self.store.save(record)

    def _publish(self, record: Container, action: str, **extra: str) -> None:
        """A container event with dockerd's attributes (labels, image, name, then extras)."""
        attrs = {str(k): str(v) for k, v in (record.config.get("Labels") or {}).items()}
        attrs.update(
            {"image": str(record.config.get("Image") or record.image), "name": record.name.lstrip("/")}
        )
        attrs.update(extra)
        self.events.publish("container", action, record.id, attrs)

    # ---------- lookup ----------
    def get(self, ref: str) -> Container:
        return self.store.get(ref)

    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        return [(r.id, r.state.running) for r in self.store if r.image == image_id]

    async def counts(self) -> dict[str, int]:
        records = list(self.store)
        running = sum(1 for r in records if r.state.running and not r.state.paused)
        paused = sum(1 for r in records if r.state.paused)
        return {
            "Containers": len(records),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": len(records) - running - paused,
        }

    # ---------- create ----------
    async def create(self, name: str | None, body: Any) -> dict[str, Any]:
        self.start_background()
        if not isinstance(body, dict):
            raise errdefs.InvalidArgument("Config cannot be empty in order to create a container")
        user_config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
        for key in ("Cmd", "Entrypoint"):  # Go's StrSlice also takes a single string
            if isinstance(user_config.get(key), str):
                user_config[key] = [user_config[key]]
        host_config = merge.host_config(body.get("HostConfig"))
        bind_check.prepare(host_config)
        resource_opts.validate_host_config(host_config)
        runtime_path = runtimes_mod.resolve((body.get("HostConfig") or {}).get("Runtime"), host_config,
                                        self.runtime_paths, self.default_runtime, self.configured_runtimes)
        health_mod.validate(user_config)
        image_ref = str(user_config.get("Image") or "")
        if not image_ref:
            raise errdefs.InvalidArgument("No command specified")
        image = await self.images.resolve(image_ref)
        image_config = await self.images.image_config(image)
        config = merge.merge_image(user_config, image_config)
        path, args = merge.command(config)
        cid = secrets.token_hex(32)
        config = merge.fill_config(config)
        config["Image"] = image_ref
        if not config.get("Hostname"):
            config["Hostname"] = cid[:12]
        cname = names.normalize(name) if name else "/" + names.generate(self.store.name_taken)
        self.store.reserve(cname, cid)
        try:
            mount_points = self._mount_points(config, host_config)
        except BaseException:
            self.store.release(cname, cid)
            raise
        try:
            core_container = await self.core.containers_create(cid, image.id, runtime=runtime_path)
        except BaseException:
            self.store.release(cname, cid)
            self._drop_new_volumes(mount_points)
            raise
        directory = self.store.dir(cid)
        record = Container(
            id=cid,
            name=cname,
            created=timefmt.now(),
            path=path,
            args=args,
            config=config,
            host_config=host_config,
            image=image.id,
            log_path=str(directory / f"{cid}-json.log"),
            rootfs_mounts=[
                {"type": m.type, "source": m.source, "target": m.target, "options": list(m.options)}
                for m in core_container.mounts
            ],
            mount_points=mount_points,
        )
        try:
            directory.mkdir(parents=True, exist_ok=True)
            runspec.write_etc_files(record, directory)
            if record.mount_points:
                await asyncio.to_thread(local_volumes.populate, self.volumes, record)
            if self.network is not None:
                self.network.on_create(record, body.get("NetworkingConfig"))
            self.store.add(record)
            self._publish(record, "create")
        except BaseException:
            self.store.remove(record)
            self._drop_new_volumes(mount_points)
            with contextlib.suppress(errdefs.SkiffError):
                await self.core.containers_delete(cid)
            raise
        return {"Id": cid, "Warnings": []}

    def _drop_new_volumes(self, points: dict[str, dict[str, Any]]) -> None:
        for point in points.values():
            if not point.get("Named") and not self.volume_users(str(point["Name"])):
                with contextlib.suppress(errdefs.SkiffError, OSError):
                    self.volumes.remove(str(point["Name"]), [], force=True)

    # ---------- start ----------
    async def start(self, ref: str) -> bool:
        """False when the container was already running (Docker's 304). A failed start of an AutoRemove
        container removes it, as dockerd does (``docker run --rm`` waits for that removal)."""
        self.start_background()
        record = self.store.get(ref)
        rt = self.runtime_state(record.id)
        rt.backoff = 0.0
        if rt.restart is not None and not rt.restart.done():
            rt.restart.cancel()
        try:
            return await self._start(record)
        except errdefs.SkiffError:
            if record.host_config.get("AutoRemove"):
                with contextlib.suppress(errdefs.SkiffError):
                    await self._remove(record, volumes=True)
            raise

    async def _start(self, record: Container, from_restart: bool = False) -> bool:
        rt = self.runtime_state(record.id)
        async with rt.lock:
            st = record.state
            if from_restart and (record.has_been_manually_stopped or not st.restarting or rt.removed):
                return False
            if st.running and not st.restarting:
                return False
            if not from_restart:
                record.has_been_manually_stopped = False
            if st.removing:
                raise errdefs.Conflict("container is marked for removal and cannot be started")
            if st.dead:
                raise errdefs.Conflict("container is marked for removal and cannot be started")
            try:
                if self.network is not None:
                    await self.network.setup(record, self.store.get)
                self.volume_mounts.mount(record)
                spec = runspec.build_spec(record, self.init_path)
                if self.network is not None:
                    net_specopts.with_network_namespace(self.network.netns_path(record.id))(spec)
                    net_specopts.with_link_env(self.network.link_envs.get(record.id, []))(spec)
            except errdefs.SkiffError as err:
                await self._release_network(record.id)
                self._start_failed(record, str(err), 128)
                self._release_pending(rt, None)
                raise
            offset = jsonlog.size(record.log_path)
            rt.oom = False
            try:
                await self.core.tasks_create(record.id, specgen.to_json(spec), log_path=record.log_path,
                                             stdin=bool(record.config.get("OpenStdin")),
                                             terminal=bool(record.config.get("Tty")))
            except errdefs.SkiffError as err:
                code, answer = translate_start_error(str(err), record.path)
                self._start_failed(record, str(answer), code)
                self._release_pending(rt, None)
                await self._release_network(record.id)
                raise answer from None
            await self._wire_pending(rt, record.id, (offset, rt.generation))
            try:
                if self.network is not None:
                    await self.network.ready(record.id)
                task = await self.core.tasks_start(record.id)
            except errdefs.SkiffError as err:
                with contextlib.suppress(errdefs.SkiffError):
                    await self.core.tasks_delete(record.id)
                code, answer = translate_start_error(str(err), record.path)
                self._start_failed(record, str(answer), code)
                await self._release_network(record.id)
                rt.generation += 1
                await self._notify()
                raise answer from None
            st.running = True
            st.status = "running"
            st.paused = st.restarting = st.oom_killed = False
            st.pid = int(task.pid)
            st.exit_code = 0
            st.error = ""
            st.started_at = timefmt.now()
            record.has_been_started_before = True
            self.store.save(record)
            self._ensure_watch(record.id, st.pid)
            self._publish(record, "start")
            health_mod.monitor_for(self).started(record)
        await self._notify()
        return True

    async def _release_network(self, cid: str, removed: bool = False) -> None:
        self.volume_mounts.release(cid)
        if self.network is not None:
            try:
                await self.network.release(cid, removed)
            except Exception as err:
                log.warning("cannot release the network of %s: %s", cid, err)

    def _start_failed(self, record: Container, message: str, code: int) -> None:
        record.state.error = message
        record.state.exit_code = code if record.state.exit_code == 0 else record.state.exit_code
        if code in (126, 127):
            record.state.exit_code = code
        self.store.save(record)

    async def _wire_pending(self, rt: _Runtime, cid: str, fallback: tuple[int, int]) -> None:
        """Give each waiting attach a core attach stream that is forwarding before the task starts."""
        pending, rt.pending = rt.pending, []
        for p in pending:
            if p.future.done():
                continue
            value: Any = fallback
            try:
                stream = self.core.tasks_attach(cid, stdout=p.stdout, stderr=p.stderr)
                ready = getattr(stream, "ready", None)
                if ready is None:
                    _cancel(stream)
                else:
                    await asyncio.wait_for(ready(), ATTACH_READY_TIMEOUT)
                    value = stream
            except (errdefs.SkiffError, TimeoutError) as err:
                log.warning("attach to %s: core stream not ready (%s); following the log", cid, err)
            p.future.set_result(value)

    def _release_pending(self, rt: _Runtime, value: tuple[int, int] | None) -> None:
        pending, rt.pending = rt.pending, []
        for p in pending:
            if not p.future.done():
                p.future.set_result(value)

    # ---------- attach ----------
    def attach(self, ref: str, stdout: bool, stderr: bool, stream: bool, logs: bool) -> AsyncIterator[bytes]:
        """Validate now (404 before the hijack), register for the next start now, stream later."""
        record = self.store.get(ref)
        tty = bool(record.config.get("Tty"))
        opts = jsonlog.LogOptions(stdout=stdout, stderr=stderr)
        rt = self.runtime_state(record.id)
        pending: _Pending | None = None
        if stream and not record.state.running:
            pending = _Pending(stdout, stderr, asyncio.get_running_loop().create_future())
            rt.pending.append(pending)
        running_now = record.state.running
        gen_now = rt.generation

        async def output() -> AsyncIterator[bytes]:
            try:
                replay: list[bytes] = []
                if logs:
                    # read before the live subscription and sent after it: a client that answers the
                    # replayed output finds the live stream already subscribed (nothing it causes is lost)
                    replay = [jsonlog.render(entry, opts, tty)
                              for entry in jsonlog.select(jsonlog.read_entries(record.log_path), opts)]
                    replay.reverse()  # popped from the end, oldest first
                    if not (stream and running_now and pending is None):
                        while replay:
                            yield replay.pop()
                if not stream:
                    return
                if pending is not None:
                    started = await pending.future
                    if started is None:
                        return
                    if isinstance(started, tuple):
                        offset, gen = started
                        async for chunk in jsonlog.follow(
                            record.log_path, offset, opts, tty, lambda: rt.generation > gen or rt.removed
                        ):
                            yield chunk
                    else:
                        try:
                            async for frame in _payloads(started, tty):
                                yield frame
                        finally:
                            _cancel(started)
                elif running_now:
                    live = self.core.tasks_attach(record.id, stdout=stdout, stderr=stderr)
                    try:
                        with contextlib.suppress(AttributeError):
                            await live.ready()
                        yield b""  # subscribed: the handler may answer 101 now (interactive.subscribed)
                        while replay:
                            yield replay.pop()
                        async for frame in _payloads(live, tty):
                            yield frame
                    except errdefs.NotImplemented_:
                        while replay:
                            yield replay.pop()
                        async for chunk in jsonlog.follow(
                            record.log_path,
                            jsonlog.size(record.log_path),
                            opts,
                            tty,
                            lambda: rt.generation > gen_now or rt.removed,
                        ):
                            yield chunk
                    except errdefs.NotFound:
                        while replay:
                            yield replay.pop()
                        return
                    finally:
                        _cancel(live)
            finally:
                if pending is not None and pending in rt.pending:
                    rt.pending.remove(pending)

        return output()

    # ---------- wait ----------
    async def wait(self, ref: str, condition: str | None = None) -> dict[str, Any]:
        record = self.store.get(ref)
        cond = condition or "not-running"
        if cond not in WAIT_CONDITIONS:
            cond = "not-running"
        rt = self.runtime_state(record.id)
        gen0 = rt.generation

        def satisfied() -> bool:
            if cond == "removed":
                return rt.removed
            if cond == "next-exit":
                return rt.generation > gen0 or rt.removed
            return not record.state.running or rt.removed

        async with self.changed:
            await self.changed.wait_for(satisfied)
        # dockerd clears the error when it signals a removal
        error = {"Message": record.state.error} if record.state.error and cond != "removed" else None
        return {"Error": error, "StatusCode": record.state.exit_code}

    async def _wait_exit(self, rt: _Runtime, gen0: int, timeout: float | None) -> bool:
        async def until() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: rt.generation > gen0 or rt.removed)

        try:
            await asyncio.wait_for(until(), timeout)
            return True
        except TimeoutError:
            return False

    # ---------- stop / kill / restart ----------
    async def stop(self, ref: str, timeout: int | None = None) -> bool:
        """False when already stopped (Docker's 304)."""
        record = self.store.get(ref)
        if not record.state.running:
            return False
        self._mark_manually_stopped(record)
        if not await self._cancel_restart(record):
            await self._stop(record, timeout)
        self._publish(record, "stop")
        return True

    async def _stop(self, record: Container, timeout: int | None) -> None:
        rt = self.runtime_state(record.id)
        gen0 = rt.generation
        if not record.state.running:
            return  # the exit was settled while the caller awaited: gen0 would wait for a next one
        if timeout is None:
            timeout = record.config.get("StopTimeout") or DEFAULT_STOP_TIMEOUT
        stop_signal = signals.parse(record.config.get("StopSignal") or None, default=signal_mod.SIGTERM)
        with contextlib.suppress(errdefs.NotFound):
            await self.core.tasks_kill(record.id, stop_signal)
        if await self._wait_exit(rt, gen0, None if timeout < 0 else float(timeout)):
            return
        await self._kill_and_wait(record, gen0)

    async def _kill_and_wait(self, record: Container, gen0: int) -> None:
        rt = self.runtime_state(record.id)
        if not record.state.running:
            return  # exited (and settled) since the caller looked: ``rm -f`` of a container just ending
        # Unavailable: the process ended and its shim left before its exit was settled (start then kill
        # at once; conformance/fuzz stateful found a 503); the exit still arrives, so wait for it below
        with contextlib.suppress(errdefs.NotFound, errdefs.Unavailable):
            await self.core.tasks_kill(record.id, signal_mod.SIGKILL, all=True)
        await interactive.thaw_after_kill(self, record)  # a frozen process takes its SIGKILL once thawed
        if not await self._wait_exit(rt, gen0, self.stop_kill_grace):
            raise errdefs.Unknown("tried to kill container, but did not receive an exit event")

    async def kill(self, ref: str, signal: str | None = None) -> None:
        number = signals.parse(signal)
        try:
            record = self.store.get(ref)
        except errdefs.NotFound as err:  # dockerd's kill route wraps every error with the action
            raise errdefs.NotFound(f"Cannot kill container: {ref}: {err}") from None
        if not record.state.running:
            raise errdefs.Conflict(f"Cannot kill container: {ref}: Container {record.id} is not running")
        if record.state.restarting:
            raise errdefs.Conflict(
                f"Cannot kill container: {ref}: Container {record.id} is restarting, wait until the "
                "container is running"
            )
        self._mark_manually_stopped(record)
        rt = self.runtime_state(record.id)
        gen0 = rt.generation
        self._publish(record, "kill", signal=str(number))
        if number == signal_mod.SIGKILL:
            await self._kill_and_wait(record, gen0)
            return
        try:
            await self.core.tasks_kill(record.id, number)
        except errdefs.Unavailable:  # its shim left: not running if its exit arrives (as just above)
            if not await self._wait_exit(rt, gen0, self.stop_kill_grace):
                raise
            raise errdefs.Conflict(
                f"Cannot kill container: {ref}: Container {record.id} is not running"
            ) from None
        except errdefs.NotFound:
            raise errdefs.Conflict(
                f"Cannot kill container: {ref}: Container {record.id} is not running"
            ) from None

    async def restart(self, ref: str, timeout: int | None = None) -> None:
        record = self.store.get(ref)
        if record.state.running and not await self._cancel_restart(record):
            await self._stop(record, timeout)
        await self.start(record.id)
        self._publish(record, "restart")

    async def update(self, ref: str, body: Any) -> dict[str, Any]:
        """Resources and restart policy; like dockerd only non-zero values change. A running container's
        cgroups are updated at once."""
        if not isinstance(body, dict):
            raise errdefs.InvalidArgument("invalid update body")
        record = self.store.get(ref)
        hc = record.host_config
        policy = body.get("RestartPolicy") or {}
        if policy.get("Name"):
            if policy["Name"] not in ("no", "always", "unless-stopped", "on-failure"):
                raise errdefs.InvalidArgument(f"invalid restart policy '{policy['Name']}'")
            if hc.get("AutoRemove") and policy["Name"] != "no":
                raise errdefs.InvalidArgument(
                    f"Cannot update container {record.id}: Restart policy cannot be updated because "
                    "AutoRemove is enabled for the container"
                )
        for key in UPDATE_RESOURCES:
            value = body.get(key)
            if value not in (None, 0, "", [], {}):
                hc[key] = value
        if policy.get("Name"):
            hc["RestartPolicy"] = {
                "Name": policy["Name"],
                "MaximumRetryCount": int(policy.get("MaximumRetryCount") or 0),
            }
        if record.state.running:  # live: core's Tasks.Update, the shim's runtime update
            changes = resource_opts.update_resources(body)
            try:
                if changes:
                    await self.core.tasks_update(record.id, changes)
            except errdefs.SkiffError as err:
                raise errdefs.Unknown(f"Cannot update container {record.id}: {err}") from None
        self.store.save(record)
        self._publish(record, "update")
        return {"Warnings": None}

    async def rename(self, ref: str, new_name: str | None) -> None:
        if not ref or not new_name:
            raise errdefs.InvalidArgument("Neither old nor new names may be empty")
        record = self.store.get(ref)
        wanted = new_name if new_name.startswith("/") else "/" + new_name
        if wanted == record.name:
            raise errdefs.InvalidArgument("Renaming a container with the same name as its current name")
        try:
            wanted = names.normalize(wanted)
            self.store.reserve(wanted, record.id)
        except errdefs.SkiffError as err:
            raise type(err)(f"Error when allocating new name: {err}") from None
        old = record.name
        record.name = wanted
        try:
            self.store.save(record)
        except OSError:
            record.name = old
            self.store.release(wanted, record.id)
            raise
        self.store.release(old, record.id)
        if self.network is not None:
            self.network.rename(record.id, record.name)
        self._publish(record, "rename", oldName=old)

    # ---------- delete / prune ----------
    async def delete(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        record = self.store.get(ref)
        if record.state.removing:
            raise errdefs.Conflict(f"removal of container {record.id} is already in progress")
        if record.state.running:
            if not force:
                what = "restarting" if record.state.restarting else "running"
                raise errdefs.Conflict(
                    f"You cannot remove a {what} container {record.id}. Stop the container before "
                    "attempting removal or force remove"
                )
            self._mark_manually_stopped(record)
            if not await self._cancel_restart(record):
                await self._kill_and_wait(record, self.runtime_state(record.id).generation)
        await self._remove(record, volumes)

    async def _remove(self, record: Container, volumes: bool = False) -> None:
        rt = self.runtime_state(record.id)
        async with rt.lock:
            if rt.removed:
                return
            record.state.removing = True
            try:
                await self.core.tasks_delete(record.id)
            except (errdefs.Conflict, errdefs.FailedPrecondition):
                await self._discard_task(record.id)
            except errdefs.NotFound:
                pass
            for call in (self.core.tasks_delete, self.core.containers_delete):
                try:
                    await call(record.id)
                except errdefs.NotFound:
                    pass
                except errdefs.SkiffError:
                    record.state.removing = False
                    raise
            self.store.remove(record)
            health_mod.monitor_for(self).removed(record.id)
            await self._release_network(record.id, removed=True)
            rt.removed = True
            if volumes:
                self._remove_anonymous_volumes(record)
            self._publish(record, "destroy")
            self._release_pending(rt, None)
        await self._notify()

    def volume_users(self, name: str) -> list[str]:
        """IDs of the containers that mount the volume ``name``."""
        return [
            r.id for r in self.store if any(p.get("Name") == name for p in r.mount_points.values())
        ]

    def _remove_anonymous_volumes(self, record: Container) -> None:
        """``rm -v``: the record's anonymous volumes, unless another container uses one (not an error)."""
        for point in record.mount_points.values():
            if point.get("Type") != "volume" or point.get("Named"):
                continue
            name = str(point.get("Name", ""))
            if self.volume_users(name):
                continue
            try:
                self.volumes.remove(name, [], force=True)
            except OSError as err:
                log.warning("cannot remove volume %s of %s: %s", name, record.id, err)

    def _mount_points(self, config: dict[str, Any], hc: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Volumes for a new container, made now as dockerd does at create: named ones from ``Binds``
        (``name:/dest[:mode]``) and ``Mounts`` of type volume, anonymous ones for the config's (and the
        image's) ``Volumes`` that nothing else mounts."""
        points: dict[str, dict[str, Any]] = {}
        taken: set[str] = set()
        for bind in hc.get("Binds") or []:
            parts = str(bind).split(":")
            if len(parts) < 2:
                continue
            taken.add(parts[1])
            if not parts[0].startswith("/"):
                volumes_mod.check_name(parts[0])
                mode = parts[2] if len(parts) > 2 else "z"
                points[parts[1]] = volumes_mod.mount_point(parts[0], "", parts[1], True, mode)
        for m in hc.get("Mounts") or []:
            target = str(m.get("Target") or "")
            taken.add(target)
            if m.get("Type") == "volume" and target:
                source = str(m.get("Source") or "")
                if source:
                    volumes_mod.check_name(source)
                point = volumes_mod.mount_point(source, "", target, bool(source))
                point["RW"] = not m.get("ReadOnly")
                points[target] = point
        inherited = local_volumes.inherit(hc, self.store.get, taken | set(points))
        taken |= set(inherited)
        for dest in config.get("Volumes") or {}:
            if dest not in taken:
                points[dest] = volumes_mod.mount_point("", "", dest, False)
        for point in points.values():
            point["Name"] = local_volumes.create_for(self.volumes, point, hc)
            point["Source"] = str(self.volumes.mountpoint(point["Name"]))
        points.update(inherited)
        return points

    async def prune(self, filters: str | None = None) -> dict[str, Any]:
        wanted = filters_mod.parse(filters)
        filters_mod.validate(wanted, ("until", "label", "label!"))
        until_ns = 0
        for value in wanted.get("until", []):
            until_ns = timefmt.parse_timestamp(value)
        deleted: list[str] = []
        reclaimed = 0
        for record in list(self.store):
            if record.state.running or record.state.removing:
                continue
            if until_ns and timefmt.parse_ns(record.created) >= until_ns:
                continue
            labels = record.config.get("Labels") or {}
            if not filters_mod.match_labels(wanted.get("label", []), labels):
                continue
            if not filters_mod.match_not_labels(wanted.get("label!", []), labels):
                continue
            try:
                size = await self.core.containers_usage(record.id)
            except errdefs.SkiffError:
                size = 0
            try:
                await self._remove(record)
            except errdefs.SkiffError as err:
                log.warning("prune: cannot remove %s: %s", record.id, err)
                continue
            deleted.append(record.id)
            reclaimed += size
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # ---------- inspect / list ----------

    async def inspect(self, ref: str, size: bool = False) -> dict[str, Any]:
        return await container_views.inspect(self, ref, size=size)

    async def list_(
        self, all_: bool = False, limit: int | None = None, size: bool = False, filters: str | None = None
    ) -> list[dict[str, Any]]:
        return await container_views.list_(self, all_=all_, limit=limit, size=size, filters=filters)

    async def changes(self, ref: str) -> list[dict[str, Any]] | None:
        return await container_files.changes(self, ref)

    def export(self, ref: str) -> AsyncIterator[bytes]:
        return container_files.export(self, ref)

    async def commit(
        self,
        ref: str,
        repo: str | None = None,
        tag: str | None = None,
        comment: str | None = None,
        author: str | None = None,
        changes: list[str] | None = None,
        config: dict[str, Any] | None = None,
        pause: bool = True,
    ) -> str:
        """A new image: the container's image's layers plus its own diff (engine/backend/commit.py)."""
        from skiff.engine.backend import commit as commit_mod

        return await commit_mod.commit(self, ref, repo, tag, comment, author, changes, config, pause)

    async def archive_stat(self, ref: str, path: str | None) -> dict[str, Any]:
        return await container_files.archive_stat(self, ref, path)

    async def archive_get(self, ref: str, path: str | None) -> tuple[dict[str, Any], AsyncIterator[bytes]]:
        return await container_files.archive_get(self, ref, path)

    async def archive_put(self, ref: str, path: str | None, data: bytes,
                          no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False) -> None:
        return await container_files.archive_put(
            self, ref, path, data, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir,
            copy_uid_gid=copy_uid_gid,
        )

    def stats(self, ref: str, stream: bool = True, interval: float = 1.0) -> AsyncIterator[dict[str, Any]]:
        return container_files.stats(self, ref, stream=stream, interval=interval)

    async def top(self, ref: str, ps_args: str | None = None) -> dict[str, Any]:
        return await container_files.top(self, ref, ps_args=ps_args)

    # ---------- logs ----------
    def logs(
        self,
        ref: str,
        stdout: bool = False,
        stderr: bool = False,
        since: str | None = None,
        until: str | None = None,
        timestamps: bool = False,
        tail: str | None = None,
        follow: bool = False,
    ) -> tuple[bool, AsyncIterator[bytes]]:
        return container_files.logs(
            self, ref, stdout=stdout, stderr=stderr, since=since, until=until, timestamps=timestamps,
            tail=tail, follow=follow,
        )
