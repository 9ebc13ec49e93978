"""Tasks: the running side of a container, one skiff-shim each.

Bundles live at ``<state>/tasks/<id>/`` (config.json, rootfs/, shim.sock, exit.json). A watcher thread
per task long-polls the shim's ``events``: ``/tasks/oom`` for each OOM kill, then ``/tasks/exit``. Shims
outlive this daemon, so on start-up ``reconcile`` reconnects to the live ones and settles the ones that
died (their exit.json says how).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from skiff import errdefs
from skiff.core.events import Event
from skiff.core.metadata.store import ContainerRecord, MetadataStore
from skiff.core.mount import mount_all, unmount_all
from skiff.core.snapshots.snapshotter import Snapshotter
from skiff.core.tasks.attach import ShimAttach
from skiff.core.timeutil import now
from skiff.shim.protocol import ShimClient, start_shim

log = logging.getLogger(__name__)
T = TypeVar("T")

CREATED = "created"
RUNNING = "running"
STOPPED = "stopped"
EXIT_UNKNOWN = 255


@dataclass
class Task:
    """What core knows of a task; ``exited`` is set once the exit is recorded."""

    container_id: str
    bundle: Path
    pid: int
    status: str
    shim: ShimClient | None
    exit_status: int = 0
    exited_at: str = ""
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one request at a time on the shim connection


def _run_thread(loop: asyncio.AbstractEventLoop, fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run a long blocking call on a thread of its own (not the shared pool) and await its result."""
    fut: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def body() -> None:
        try:
            result = fn()
        except BaseException as err:
            loop.call_soon_threadsafe(deliver, False, err)
        else:
            loop.call_soon_threadsafe(deliver, True, result)

    threading.Thread(target=body, daemon=True, name="skiff-task").start()
    return fut


def _read_exit(bundle: Path) -> tuple[int, str]:
    try:
        data = json.loads((bundle / "exit.json").read_text())
        return int(data["exit_status"]), str(data.get("exited_at", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return EXIT_UNKNOWN, now()


class TaskService:
    def __init__(
        self,
        state_dir: Path,
        meta: MetadataStore,
        snapshotter: Snapshotter,
        publish: Callable[[Event], None],
        shim_path: str | None = None,
        runtime_root: str | None = None,
    ) -> None:
        self.dir = state_dir / "tasks"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.meta = meta
        self.snapshotter = snapshotter
        self.publish = publish
        self.shim_path = shim_path
        self.runtime_root = runtime_root
        self._tasks: dict[str, Task] = {}
        self._busy: set[str] = set()  # ids being created or deleted

    def exists(self, container_id: str) -> bool:
        return container_id in self._tasks or container_id in self._busy

    def _get(self, container_id: str) -> Task:
        task = self._tasks.get(container_id)
        if task is None:
            raise errdefs.NotFound(f"no running task found: task {container_id} not found")
        return task

    # ---------- create ----------
    async def create(self, container_id: str, spec: bytes, log_path: str = "", stdin: bool = False,
                     terminal: bool = False) -> Task:
        container = self.meta.container(container_id)
        if self.exists(container_id):
            raise errdefs.AlreadyExists(f"task {container_id}: already exists")
        try:
            doc = json.loads(spec)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except ValueError as err:
            raise errdefs.InvalidArgument(f"invalid OCI runtime spec: {err}") from None
        doc["root"] = {**(doc.get("root") or {}), "path": "rootfs"}
        if terminal:  # the shim passes --console-socket: the runtime must allocate the pty
            doc["process"] = {**(doc.get("process") or {}), "terminal": True}
        self._busy.add(container_id)
        try:
            task = await self._create(container, doc, log_path, stdin, terminal)
        finally:
            self._busy.discard(container_id)
        self._tasks[container_id] = task
        self._watch(task)
        self.publish(Event("/tasks/create", container_id=container_id, pid=task.pid))
        return task

    async def _create(self, container: ContainerRecord, doc: dict[str, Any], log_path: str,
                      stdin: bool = False, terminal: bool = False) -> Task:
        bundle = self.dir / container.id
        shim: ShimClient | None = None
        try:
            await asyncio.to_thread(self._prepare_bundle, container, bundle, doc)
            log_file = log_path or str(bundle / "output.log")
            sock = await asyncio.to_thread(start_shim, container.id, bundle, container.runtime, log_file,
                                           self.runtime_root, self.shim_path)
            shim = ShimClient(sock)
            created = await asyncio.to_thread(shim.create, stdin, terminal)
            await asyncio.to_thread(self.meta.set_container_spec, container.id, json.dumps(doc).encode())
            return Task(container.id, bundle, created.pid, CREATED, shim)
        except BaseException:
            await asyncio.to_thread(self._undo_create, bundle, shim)
            raise

    def _prepare_bundle(self, container: ContainerRecord, bundle: Path, doc: dict[str, Any]) -> None:
        if bundle.exists():  # a leftover of a crash: nothing runs there, or the id would have a task
            self._remove_bundle(bundle)
        rootfs = bundle / "rootfs"
        rootfs.mkdir(parents=True)
        mount_all(self.snapshotter.mounts(container.snapshot_key), rootfs)
        tmp = bundle / "config.json.tmp"
        tmp.write_text(json.dumps(doc, indent=2))
        os.rename(tmp, bundle / "config.json")

    def _undo_create(self, bundle: Path, shim: ShimClient | None) -> None:
        if shim is not None:
            with contextlib.suppress(errdefs.SkiffError):
                shim.delete()
            with contextlib.suppress(errdefs.SkiffError):
                shim.shutdown()
            shim.close()
        else:
            self._shutdown_stray_shim(bundle)
        self._remove_bundle(bundle)

    def _shutdown_stray_shim(self, bundle: Path) -> None:
        """A shim whose start we did not hear about (timeout): shut it down through its socket."""
        sock = bundle / "shim.sock"
        if sock.exists():
            with contextlib.suppress(errdefs.SkiffError), ShimClient(str(sock), timeout=5) as stray:
                stray.shutdown()

    def _remove_bundle(self, bundle: Path) -> None:
        rootfs = bundle / "rootfs"
        if rootfs.exists():
            unmount_all(rootfs)
        shutil.rmtree(bundle, ignore_errors=True)

    # ---------- watching ----------
    def _watch(self, task: Task) -> None:
        if task.shim is None or task.exited.is_set():
            return
        sock = task.shim.socket_path

        def wait() -> tuple[int, str, bool]:
            """(exit status, exited at, whether the shim is gone); publishes ``/tasks/oom`` meanwhile."""
            seen = 0
            for _ in range(3):
                try:
                    with ShimClient(sock, timeout=None) as waiter:
                        while True:
                            res = waiter.events(seen)
                            for event in res.events:
                                seen = max(seen, event.seq)
                                if event.topic == "oom":
                                    self.publish(Event("/tasks/oom", container_id=task.container_id,
                                                       pid=task.pid))
                            if res.exited:
                                return res.exit_status, res.exited_at, False
                except errdefs.InvalidArgument:  # a shim older than ``events``: its exit only
                    with contextlib.suppress(errdefs.SkiffError), ShimClient(sock, timeout=None) as waiter:
                        done = waiter.wait()
                        return done.exit_status, done.exited_at, False
                except errdefs.SkiffError as err:
                    log.warning("task %s: wait on shim failed: %s", task.container_id, err)
                try:  # is the shim still there? then only the connection broke
                    with ShimClient(sock, timeout=5) as probe:
                        state = probe.state()
                    if state.status == STOPPED:
                        return state.exit_status, state.exited_at, False
                except errdefs.SkiffError:
                    break
            log.error("task %s: its shim is gone", task.container_id)
            return (*_read_exit(task.bundle), True)

        def done(fut: asyncio.Future[tuple[int, str, bool]]) -> None:
            exit_status, exited_at, lost = fut.result()
            if lost and task.shim is not None:
                task.shim.close()
                task.shim = None
            self._exited(task, exit_status, exited_at)

        _run_thread(asyncio.get_running_loop(), wait).add_done_callback(done)

    def _exited(self, task: Task, exit_status: int, exited_at: str) -> None:
        if task.exited.is_set():
            return
        task.status = STOPPED
        task.exit_status = exit_status
        task.exited_at = exited_at
        task.exited.set()
        self.publish(Event("/tasks/exit", container_id=task.container_id, pid=task.pid,
                           exit_status=exit_status, exited_at=exited_at))

    async def _shim_call(self, task: Task, fn: Callable[[ShimClient], T]) -> T:
        if task.shim is None:
            raise errdefs.NotFound(f"task {task.container_id}: process already finished")
        shim = task.shim
        async with task.lock:
            return await asyncio.to_thread(fn, shim)

    # ---------- verbs ----------
    async def start(self, container_id: str) -> Task:
        task = self._get(container_id)
        res = await self._shim_call(task, lambda s: s.start())
        task.pid = res.pid
        if not task.exited.is_set():
            task.status = RUNNING
        self.publish(Event("/tasks/start", container_id=container_id, pid=task.pid))
        return task

    def get(self, container_id: str) -> Task:
        return self._get(container_id)

    def list_(self) -> list[Task]:
        return list(self._tasks.values())

    async def kill(self, container_id: str, signal: int, all: bool = False) -> None:
        task = self._get(container_id)
        await self._shim_call(task, lambda s: s.kill(signal or 15, all))

    async def update(self, container_id: str, resources: dict[str, Any]) -> None:
        """Live resources of a running task (OCI ``linux.resources``) through ``runtime update``."""
        task = self._get(container_id)
        if task.exited.is_set():
            raise errdefs.FailedPrecondition(f"task {container_id}: process already finished")
        await self._shim_call(task, lambda s: s.update(resources))

    async def wait(self, container_id: str) -> Task:
        task = self._get(container_id)
        await task.exited.wait()
        return task

    async def delete(self, container_id: str) -> Task:
        task = self._get(container_id)
        if task.status == RUNNING and not task.exited.is_set():
            raise errdefs.FailedPrecondition(f"task {container_id} must be stopped before deletion: running")
        if container_id in self._busy:
            raise errdefs.FailedPrecondition(f"task {container_id} is being deleted")
        self._busy.add(container_id)
        try:
            shim = task.shim
            if shim is not None:
                try:
                    res = await self._shim_call(task, lambda s: s.delete())
                    self._exited(task, res.exit_status, res.exited_at)
                    await self._shim_call(task, lambda s: s.shutdown())
                except errdefs.Unavailable as err:
                    log.warning("task %s: shim unavailable at delete (%s): settling it", container_id, err)
                    task.shim = None
                shim.close()
            if task.shim is None:
                container = self.meta.container(container_id)
                await asyncio.to_thread(self._settle_dead, container, task.bundle)
            await asyncio.to_thread(self._remove_bundle, task.bundle)
            del self._tasks[container_id]
        finally:
            self._busy.discard(container_id)
        self.publish(Event("/tasks/delete", container_id=container_id, pid=task.pid,
                           exit_status=task.exit_status, exited_at=task.exited_at))
        return task

    async def attach(self, container_id: str, stdout: bool, stderr: bool,
                     exec_id: str = "") -> AsyncIterator[bytes]:
        """Stdcopy frames from the shim until the task's output ends or the caller goes away; an empty
        first item marks the moment the shim is forwarding."""
        task = self._get(container_id)
        if task.shim is None:
            yield b""
            return
        shim = await ShimAttach.open(task.shim.socket_path, stdout, stderr, exec_id)
        try:
            yield b""  # attached: everything the task writes from now on comes through
            async for frame in shim.frames():
                yield frame
        finally:
            shim.close()

    # ---------- interactive (skiff.core.tasks.stdio) ----------
    async def shim_call(self, container_id: str, fn: Callable[[ShimClient], T]) -> T:
        """One request on the task's shim connection (for the verbs other modules add)."""
        return await self._shim_call(self._get(container_id), fn)

    def shim_socket(self, container_id: str) -> str:
        task = self._get(container_id)
        if task.shim is None:
            raise errdefs.NotFound(f"task {container_id}: process already finished")
        return task.shim.socket_path

    # ---------- restart ----------
    async def reconcile(self) -> None:
        """Adopt the tasks whose bundles survived a restart of this daemon."""
        for bundle in sorted(p for p in self.dir.iterdir() if p.is_dir()):
            try:
                await self._reconcile(bundle)
            except Exception:
                log.exception("reconcile task %s", bundle.name)

    async def _reconcile(self, bundle: Path) -> None:
        container_id = bundle.name
        try:
            container = self.meta.container(container_id)
        except errdefs.NotFound:
            log.warning("removing the bundle of unknown container %s", container_id)
            await asyncio.to_thread(self._undo_create, bundle, None)
            return
        sock = bundle / "shim.sock"
        shim = ShimClient(str(sock)) if sock.exists() else None
        state = None
        if shim is not None:
            try:
                state = await asyncio.to_thread(shim.state)
            except errdefs.SkiffError as err:
                log.warning("task %s: shim does not answer (%s): settling it", container_id, err)
                shim.close()
                shim = None
        if shim is None or state is None:
            exit_status, exited_at = _read_exit(bundle)
            task = Task(container_id, bundle, 0, STOPPED, None)
            await asyncio.to_thread(self._settle_dead, container, bundle)
            self._tasks[container_id] = task
            self._exited(task, exit_status, exited_at)
            return
        task = Task(container_id, bundle, state.pid, state.status, shim)
        self._tasks[container_id] = task
        if state.status == STOPPED:
            self._exited(task, state.exit_status, state.exited_at)
        else:
            self._watch(task)

    def _settle_dead(self, container: ContainerRecord, bundle: Path) -> None:
        """A task whose shim is gone: make the runtime forget it and release its rootfs."""
        argv = [container.runtime]
        if self.runtime_root:
            argv += ["--root", self.runtime_root]
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run([*argv, "delete", "--force", container.id], capture_output=True, timeout=10,
                           check=False)
        rootfs = bundle / "rootfs"
        if rootfs.exists():
            unmount_all(rootfs)
