"""A fake of skiff.core.client.CoreClient: the lowest edge under skiffd's backends, for unit tests only.

Tasks are scripted by their argv: ``echo WORDS`` writes one stdout line and exits 0, ``fail N`` exits N,
``sleep N`` runs until killed; ``nonexist`` fails at create like runc does for a missing executable.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from skiff import errdefs
from skiff.core.api import core_pb2 as pb


def rfc3339(ns: int | None = None) -> str:
    from skiff.engine.backend import timefmt

    return timefmt.format_ns(ns if ns is not None else time.time_ns())


BUSYBOX_CONFIG = {
    "architecture": "amd64",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
    "created": "2026-11-27T12:57:39.893781925Z",
    "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "6e" * 32]},
    "history": [{"created": "2026-11-27T12:57:39.893781925Z", "comment": "Imported from -"}],
}
BUSYBOX_ID = "sha256:" + "45c11eb7" * 8


class FakeStream:
    """Like CoreClient's ServerStream: the call starts at creation, ``ready()`` once it is set up."""

    def __init__(self, setup: Any) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._setup = setup
        self._ready = False
        self.cancelled = False

    async def ready(self) -> None:
        if not self._ready:
            self._ready = True
            self._setup(self._queue)

    def __aiter__(self) -> FakeStream:
        return self

    async def __anext__(self) -> Any:
        await self.ready()
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        if isinstance(item, Exception):
            raise item
        return item

    def cancel(self) -> None:
        self.cancelled = True

    async def aclose(self) -> None:
        self.cancel()


@dataclass
class FakeTask:
    container_id: str
    spec: dict[str, Any]
    log_path: str
    pid: int
    status: int = pb.CREATED
    exit_status: int = 0
    exited_at: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    attached: list[asyncio.Queue[Any]] = field(default_factory=list)


class FakeCore:
    def __init__(self) -> None:
        self.images: dict[str, pb.Image] = {}  # name -> image
        self.containers: dict[str, pb.Container] = {}
        self.tasks: dict[str, FakeTask] = {}
        self.subscribers: list[asyncio.Queue[pb.Event]] = []
        self.calls: list[tuple[str, Any]] = []
        self.next_pid = 1000
        self.background: list[asyncio.Future[None]] = []
        self.add_image("docker.io/library/busybox:latest", BUSYBOX_ID, BUSYBOX_CONFIG, size=1984172)

    def add_image(self, name: str, image_id: str, config: dict[str, Any], size: int = 0) -> pb.Image:
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        sizes = [0] * (len(diff_ids) - 1) + [size] if diff_ids else []  # as core: each layer's own size
        image = pb.Image(
            name=name,
            id=image_id,
            config=json.dumps(config).encode(),
            size=size,
            diff_ids=diff_ids,
            created_at=rfc3339(),
            chain_id=image_id,
            labels={"io.skiff.image.layer-sizes": json.dumps(sizes)},
        )
        self.images[name] = image
        return image

    # ---------- images ----------
    async def images_get(self, ref: str) -> pb.Image:
        self.calls.append(("images_get", ref))
        if ref in self.images:
            return self.images[ref]
        for image in self.images.values():
            if image.id == ref or image.id.removeprefix("sha256:").startswith(ref.removeprefix("sha256:")):
                return image
        raise errdefs.NotFound(f"image {ref}: not found")

    async def images_list(self) -> list[pb.Image]:
        return list(self.images.values())

    async def images_tag(self, source: str, target: str) -> pb.Image:
        src = await self.images_get(source)
        image = pb.Image()
        image.CopyFrom(src)
        image.name = target
        self.images[target] = image
        return image

    async def images_delete(self, name: str, sync_gc: bool = True) -> pb.DeleteImageResponse:
        if name in self.images:
            image = self.images.pop(name)
            deleted = [] if any(i.id == image.id for i in self.images.values()) else [image.id]
            gone_layers = self._gone_layers(deleted, [image])
            return pb.DeleteImageResponse(untagged=[name], deleted=deleted + gone_layers)
        ids = [n for n, i in self.images.items() if i.id == name]
        if not ids:
            raise errdefs.NotFound(f"image {name}: not found")
        gone = [self.images.pop(n) for n in ids]
        return pb.DeleteImageResponse(untagged=ids, deleted=[name, *self._gone_layers([name], gone)])

    def _gone_layers(self, deleted: list[str], images: list[pb.Image] | None = None) -> list[str]:
        """Core's GC: the chain IDs of a deleted image that no remaining image stands on."""
        if not deleted:
            return []
        from skiff.core.images.unpack import chain_ids

        kept = {c for i in self.images.values() for c in chain_ids(list(i.diff_ids))}
        mine = {c for i in images or [] for c in chain_ids(list(i.diff_ids))}
        return sorted(mine - kept)

    async def images_load(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[pb.LoadProgress]:
        data = b"".join([c async for c in chunks])
        if not data.startswith(b"LOAD "):
            raise errdefs.InvalidArgument("not a docker-save archive")
        for name in data[5:].decode().split():
            self.add_image(name, BUSYBOX_ID, BUSYBOX_CONFIG)
            yield pb.LoadProgress(loaded_name=name)

    async def images_import(
        self,
        chunks: AsyncIterator[bytes],
        name: str = "",
        config: Any = None,
        comment: str = "",
        created_by: str = "",
    ) -> pb.Image:
        data = b"".join([c async for c in chunks])
        full = dict(config or {})
        full.update(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": rfc3339(),
                "comment": comment,
                "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "aa" * 32]},
            }
        )
        image_id = "sha256:" + f"{len(data):064x}"
        self.calls.append(("images_import", (name, full, data)))
        return self.add_image(name, image_id, full, size=len(data))

    # ---------- containers ----------
    async def containers_create(
        self, id: str, image: str, labels: Any = None, runtime: str = ""
    ) -> pb.Container:
        self.calls.append(("containers_create", id))
        if id in self.containers:
            raise errdefs.AlreadyExists(f"container {id}: already exists")
        mounts = [
            pb.Mount(
                type="overlay",
                source="overlay",
                target="",
                options=["lowerdir=/snap/1/fs", f"upperdir=/snap/{id}/fs", f"workdir=/snap/{id}/work"],
            )
        ]
        c = pb.Container(id=id, image=image, snapshot_key=id, mounts=mounts, created_at=rfc3339())
        self.containers[id] = c
        return c

    async def containers_list(self) -> list[pb.Container]:
        return list(self.containers.values())

    async def containers_delete(self, id: str) -> None:
        self.calls.append(("containers_delete", id))
        if id in self.tasks:
            raise errdefs.FailedPrecondition("task exists")
        if id not in self.containers:
            raise errdefs.NotFound(f"container {id}: not found")
        del self.containers[id]

    async def containers_usage(self, id: str) -> int:
        return 5 if id in self.containers else 0

    # ---------- tasks ----------
    async def tasks_create(self, container_id: str, spec: bytes, log_path: str = "", stdin: bool = False,
                           terminal: bool = False) -> pb.Task:
        self.calls.append(("tasks_create", container_id))
        if container_id in self.tasks:
            raise errdefs.AlreadyExists("task exists")
        parsed = json.loads(spec)
        args = parsed["process"]["args"]
        if args[0] == "nonexist":
            raise errdefs.Unknown(
                'OCI runtime create failed: unable to start container process: exec: "nonexist": '
                "executable file not found in $PATH"
            )
        self.next_pid += 1
        task = FakeTask(container_id, parsed, log_path, self.next_pid)
        self.tasks[container_id] = task
        return pb.Task(container_id=container_id, pid=task.pid, status=pb.CREATED)

    def _log(self, task: FakeTask, stream: str, text: str) -> None:
        with open(task.log_path, "a") as f:
            f.write(json.dumps({"log": text, "stream": stream, "time": rfc3339()}) + "\n")
        data = text.encode()
        frame = bytes([1 if stream == "stdout" else 2, 0, 0, 0]) + len(data).to_bytes(4, "big") + data
        for q in task.attached:
            q.put_nowait(frame)

    async def tasks_start(self, container_id: str) -> pb.Task:
        task = self.tasks[container_id]
        task.status = pb.RUNNING
        args = task.spec["process"]["args"]
        if args[0] == "echo":
            self._log(task, "stdout", " ".join(args[1:]) + "\n")
            self._log(task, "stderr", "done\n")
            asyncio.get_running_loop().call_soon(self._exit, task, 0)
        elif args[0] == "fail":
            asyncio.get_running_loop().call_soon(self._exit, task, int(args[1]))
        elif args[0] == "count":  # writes N lines over a few loop turns, then exits
            self.background.append(asyncio.ensure_future(self._count(task, int(args[1]))))
        return pb.Task(container_id=container_id, pid=task.pid, status=pb.RUNNING)

    async def _count(self, task: FakeTask, n: int) -> None:
        for i in range(n):
            self._log(task, "stdout", f"{i}\n")
            await asyncio.sleep(0)
        self._exit(task, 0)

    def _exit(self, task: FakeTask, code: int) -> None:
        if task.status == pb.STOPPED:
            return
        task.status = pb.STOPPED
        task.exit_status = code
        task.exited_at = rfc3339()
        task.done.set()
        for q in task.attached:
            q.put_nowait(None)
        event = pb.Event(
            topic="/tasks/exit",
            container_id=task.container_id,
            pid=task.pid,
            exit_status=code,
            exited_at=task.exited_at,
        )
        for q in self.subscribers:
            q.put_nowait(event)

    async def tasks_get(self, container_id: str) -> pb.Task:
        if container_id not in self.tasks:
            raise errdefs.NotFound("no task")
        t = self.tasks[container_id]
        return pb.Task(
            container_id=container_id,
            pid=t.pid,
            status=t.status,
            exit_status=t.exit_status,
            exited_at=t.exited_at,
        )

    async def tasks_list(self) -> list[pb.Task]:
        return [await self.tasks_get(cid) for cid in self.tasks]

    async def tasks_kill(self, container_id: str, signal: int = 15, all: bool = False) -> None:
        self.calls.append(("tasks_kill", (container_id, signal)))
        task = self.tasks.get(container_id)
        if task is None:
            raise errdefs.NotFound("no task")
        args = task.spec["process"]["args"]
        if signal == 9 or (signal == 15 and "ignore-term" not in args):
            asyncio.get_running_loop().call_soon(self._exit, task, 128 + signal)

    async def tasks_wait(self, container_id: str) -> pb.Task:
        task = self.tasks.get(container_id)
        if task is None:
            raise errdefs.NotFound("no task")
        await task.done.wait()
        return await self.tasks_get(container_id)

    async def tasks_delete(self, container_id: str) -> pb.Task:
        self.calls.append(("tasks_delete", container_id))
        task = self.tasks.pop(container_id, None)
        if task is None:
            raise errdefs.NotFound("no task")
        return pb.Task(container_id=container_id, exit_status=task.exit_status)

    def tasks_attach(self, container_id: str, stdout: bool = True, stderr: bool = True) -> FakeStream:
        def setup(queue: asyncio.Queue[Any]) -> None:
            task = self.tasks.get(container_id)
            if task is None:
                queue.put_nowait(errdefs.NotFound("no task"))
            elif task.status == pb.STOPPED:
                queue.put_nowait(None)
            else:
                task.attached.append(queue)

        return FakeStream(setup)

    # ---------- events ----------
    def events_subscribe(self) -> FakeStream:
        return FakeStream(self.subscribers.append)
