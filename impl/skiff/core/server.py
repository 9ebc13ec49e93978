"""The gRPC face of skiff-containerd: thin servicers that translate protobuf <-> service calls and
errdefs exceptions -> status codes (with the exact kind in the ``skiff-error-kind`` trailer)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from grpc import aio

from skiff import errdefs
from skiff.core.api import core_pb2 as pb
from skiff.core.api import core_pb2_grpc as _pb_grpc
from skiff.core.client import ERROR_KIND_KEY
from skiff.core.containers import Container, ContainerService
from skiff.core.events import Event, Exchange
from skiff.core.images.service import Image, ImageService, ImportOptions
from skiff.core.mount import Mount
from skiff.core.streams import QueueReader
from skiff.core.tasks import execs as task_execs
from skiff.core.tasks import stdio as task_stdio
from skiff.core.tasks.service import CREATED, RUNNING, STOPPED, Task, TaskService

pb_grpc: Any = _pb_grpc
log = logging.getLogger(__name__)
VERSION = "0.1.0"
R = TypeVar("R")

CODES: dict[type[errdefs.SkiffError], grpc.StatusCode] = {
    errdefs.NotFound: grpc.StatusCode.NOT_FOUND,
    errdefs.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errdefs.Conflict: grpc.StatusCode.FAILED_PRECONDITION,
    errdefs.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errdefs.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errdefs.NotImplemented_: grpc.StatusCode.UNIMPLEMENTED,
    errdefs.Unavailable: grpc.StatusCode.UNAVAILABLE,
}
STATUS = {CREATED: pb.CREATED, RUNNING: pb.RUNNING, STOPPED: pb.STOPPED}


async def _abort(context: aio.ServicerContext[Any, Any], err: BaseException) -> None:
    if isinstance(err, errdefs.SkiffError):
        code = CODES.get(type(err), grpc.StatusCode.INTERNAL)
        kind = err.kind
    else:
        log.exception("internal error", exc_info=err)
        code, kind = grpc.StatusCode.INTERNAL, errdefs.Unknown.kind
    context.set_trailing_metadata(((ERROR_KIND_KEY, kind),))
    await context.abort(code, str(err) or type(err).__name__)


def rpc(fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Map errdefs exceptions of a unary-response handler to status codes."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: aio.ServicerContext[Any, Any]) -> R:
        try:
            return await fn(self, request, context)
        except Exception as err:  # errdefs errors and bugs alike end the call with a status
            await _abort(context, err)
            raise  # unreachable: abort raises

    return wrapper


def stream_rpc(fn: Callable[..., AsyncIterator[R]]) -> Callable[..., AsyncIterator[R]]:
    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[R]:
        try:
            async for item in fn(self, request, context):
                yield item
        except Exception as err:  # errdefs errors and bugs alike end the call with a status
            await _abort(context, err)

    return wrapper


def image_pb(img: Image) -> pb.Image:
    rec = img.record
    return pb.Image(
        name=img.name,
        target=pb.Descriptor(media_type=rec.target_media_type, digest=rec.target_digest,
                             size=rec.target_size),
        id=rec.config_digest,
        config=img.config,
        size=img.size,
        diff_ids=img.diff_ids,
        labels=rec.labels,
        created_at=rec.created_at,
        chain_id=img.chain_id,
    )


def mount_pb(m: Mount) -> pb.Mount:
    return pb.Mount(type=m.type, source=m.source, target=m.target, options=list(m.options))


def container_pb(c: Container) -> pb.Container:
    r = c.record
    return pb.Container(id=r.id, image=r.image, snapshot_key=r.snapshot_key, labels=r.labels, spec=r.spec,
                        runtime=r.runtime, mounts=[mount_pb(m) for m in c.mounts], created_at=r.created_at)


def task_pb(t: Task) -> pb.Task:
    return pb.Task(container_id=t.container_id, pid=t.pid, status=STATUS.get(t.status, pb.UNKNOWN),
                   exit_status=t.exit_status, exited_at=t.exited_at)


def event_pb(e: Event) -> pb.Event:
    return pb.Event(topic=e.topic, container_id=e.container_id, pid=e.pid, exit_status=e.exit_status,
                    exited_at=e.exited_at, timestamp=e.timestamp, attributes=e.attributes)


async def _first_then_data(requests: AsyncIterator[Any]) -> tuple[Any, AsyncIterator[bytes]]:
    """Split an Import stream into its options message and the data that follows."""
    first = await anext(requests, None)

    async def data() -> AsyncIterator[bytes]:
        if first is not None and first.data:
            yield first.data
        async for req in requests:
            yield req.data

    return first, data()


async def _run_reading(chunks: AsyncIterator[bytes], work: Callable[[QueueReader], R]) -> R:
    """Run ``work`` on a thread, reading from ``chunks`` as they arrive."""
    reader = QueueReader(asyncio.get_running_loop())

    def run() -> R:
        try:
            return work(reader)
        finally:
            reader.abandon()

    feeder = asyncio.create_task(reader.feed(chunks))
    worker = asyncio.ensure_future(asyncio.to_thread(run))
    try:
        return await asyncio.shield(worker)
    finally:
        if not feeder.done():
            feeder.cancel()
            reader.fail(ConnectionError("request cancelled"))
        await asyncio.gather(feeder, return_exceptions=True)
        # the worker sees the end of its input and unwinds (dropping its ingests) before we return
        await asyncio.gather(worker, return_exceptions=True)


class ImagesServicer(pb_grpc.ImagesServicer):  # type: ignore[misc]
    def __init__(self, images: ImageService) -> None:
        self.images = images

    @rpc
    async def Import(self, request_iterator: AsyncIterator[pb.ImportRequest], context: Any) -> pb.Image:
        first, data = await _first_then_data(request_iterator)
        o = first.options if first is not None else pb.ImportRequest.Options()
        try:
            config = json.loads(o.config) if o.config else {}
            if not isinstance(config, dict):
                raise ValueError("not an object")
        except ValueError as err:
            raise errdefs.InvalidArgument(f"invalid image config: {err}") from None
        opts = ImportOptions(o.name, config, o.comment, o.created_by)
        img = await _run_reading(data, lambda r: self.images.import_(r, opts))  # type: ignore[arg-type]
        return image_pb(img)

    @stream_rpc
    async def Load(self, request_iterator: AsyncIterator[pb.LoadRequest], context: Any
                   ) -> AsyncIterator[pb.LoadProgress]:
        async def data() -> AsyncIterator[bytes]:
            async for req in request_iterator:
                yield req.data

        loaded = await _run_reading(data(), self.images.load)  # type: ignore[arg-type]
        for item in loaded:
            yield pb.LoadProgress(loaded_name=item.name, loaded_id=item.id)

    @rpc
    async def Get(self, request: pb.GetImageRequest, context: Any) -> pb.Image:
        return image_pb(await asyncio.to_thread(self.images.get, request.ref))

    @rpc
    async def List(self, request: pb.Empty, context: Any) -> pb.ImageList:
        return pb.ImageList(images=[image_pb(i) for i in await asyncio.to_thread(self.images.list_)])

    @rpc
    async def Tag(self, request: pb.TagImageRequest, context: Any) -> pb.Image:
        return image_pb(await asyncio.to_thread(self.images.tag, request.source, request.target))

    @rpc
    async def Delete(self, request: pb.DeleteImageRequest, context: Any) -> pb.DeleteImageResponse:
        res = await asyncio.to_thread(self.images.delete, request.name, request.force, request.sync_gc)
        return pb.DeleteImageResponse(untagged=res.untagged, deleted=res.deleted)


class ContainersServicer(pb_grpc.ContainersServicer):  # type: ignore[misc]
    def __init__(self, containers: ContainerService) -> None:
        self.containers = containers

    @rpc
    async def Create(self, request: pb.CreateContainerRequest, context: Any) -> pb.Container:
        c = await asyncio.to_thread(self.containers.create, request.id, request.image, dict(request.labels),
                                    request.runtime)
        return container_pb(c)

    @rpc
    async def Get(self, request: pb.ContainerID, context: Any) -> pb.Container:
        return container_pb(await asyncio.to_thread(self.containers.get, request.id))

    @rpc
    async def List(self, request: pb.Empty, context: Any) -> pb.ContainerList:
        cs = await asyncio.to_thread(self.containers.list_)
        return pb.ContainerList(containers=[container_pb(c) for c in cs])

    @rpc
    async def Delete(self, request: pb.ContainerID, context: Any) -> pb.Empty:
        await asyncio.to_thread(self.containers.delete, request.id)
        return pb.Empty()

    @rpc
    async def Usage(self, request: pb.DiffRequest, context: Any) -> pb.DiffResponse:
        return pb.DiffResponse(size=await asyncio.to_thread(self.containers.usage, request.id))


class TasksServicer(pb_grpc.TasksServicer):  # type: ignore[misc]
    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    @rpc
    async def Create(self, request: pb.CreateTaskRequest, context: Any) -> pb.Task:
        return task_pb(await self.tasks.create(request.container_id, request.spec, request.log_path,
                                               stdin=request.stdin, terminal=request.terminal))

    @rpc
    async def Start(self, request: pb.ContainerID, context: Any) -> pb.Task:
        return task_pb(await self.tasks.start(request.id))

    @rpc
    async def Get(self, request: pb.ContainerID, context: Any) -> pb.Task:
        return task_pb(self.tasks.get(request.id))

    @rpc
    async def List(self, request: pb.Empty, context: Any) -> pb.TaskList:
        return pb.TaskList(tasks=[task_pb(t) for t in self.tasks.list_()])

    @rpc
    async def Kill(self, request: pb.KillRequest, context: Any) -> pb.Empty:
        await self.tasks.kill(request.container_id, request.signal, request.all)
        return pb.Empty()

    @rpc
    async def Wait(self, request: pb.ContainerID, context: Any) -> pb.Task:
        return task_pb(await self.tasks.wait(request.id))

    @rpc
    async def Delete(self, request: pb.ContainerID, context: Any) -> pb.Task:
        return task_pb(await self.tasks.delete(request.id))

    @stream_rpc
    async def Attach(self, request: pb.AttachRequest, context: Any) -> AsyncIterator[pb.AttachFrame]:
        async for frame in self.tasks.attach(request.container_id, request.stdout, request.stderr,
                                             request.exec_id):
            if frame:
                yield pb.AttachFrame(data=frame)
            else:  # the shim is forwarding output now: the caller's ready()
                await context.send_initial_metadata(())


    @rpc
    async def Stdin(self, request_iterator: AsyncIterator[pb.StdinRequest], context: Any) -> pb.Empty:
        first = await anext(aiter(request_iterator), None)
        if first is None:
            return pb.Empty()

        async def chunks() -> AsyncIterator[bytes]:
            yield bytes(first.data)
            async for req in request_iterator:
                yield bytes(req.data)

        await task_stdio.write_stdin(self.tasks, first.container_id, chunks(), first.close_on_eof,
                                     first.exec_id)
        return pb.Empty()

    @rpc
    async def Stdio(self, request: pb.ContainerID, context: Any) -> pb.StdioEndpoint:
        try:
            return pb.StdioEndpoint(path=self.tasks.shim_socket(request.id))
        except errdefs.NotFound:
            self.tasks.get(request.id)  # NOT_FOUND without a task; a finished one has no shim: ""
            return pb.StdioEndpoint()

    @rpc
    async def CloseIO(self, request: pb.CloseIORequest, context: Any) -> pb.Empty:
        await task_stdio.close_io(self.tasks, request.container_id, request.exec_id)
        return pb.Empty()

    @rpc
    async def ResizePty(self, request: pb.ResizePtyRequest, context: Any) -> pb.Empty:
        await task_stdio.resize(self.tasks, request.container_id, request.width, request.height,
                                request.exec_id)
        return pb.Empty()

    @rpc
    async def Pause(self, request: pb.ContainerID, context: Any) -> pb.Empty:
        await task_stdio.pause(self.tasks, request.id)
        return pb.Empty()

    @rpc
    async def Resume(self, request: pb.ContainerID, context: Any) -> pb.Empty:
        await task_stdio.resume(self.tasks, request.id)
        return pb.Empty()

    @rpc
    async def Update(self, request: pb.UpdateTaskRequest, context: Any) -> pb.Empty:
        try:
            resources = json.loads(request.resources or b"{}")
        except ValueError as err:
            raise errdefs.InvalidArgument(f"invalid resources: {err}") from None
        if not isinstance(resources, dict):
            raise errdefs.InvalidArgument("invalid resources: not an object")
        await self.tasks.update(request.container_id, resources)
        return pb.Empty()


    @rpc
    async def Exec(self, request: pb.ExecProcessRequest, context: Any) -> pb.Empty:
        await task_execs.create(self.tasks, request.container_id, request.exec_id, request.process,
                                request.stdin, request.terminal)
        return pb.Empty()

    @rpc
    async def StartExec(self, request: pb.ProcessRef, context: Any) -> pb.ProcessState:
        return task_execs.state_pb(await task_execs.start(self.tasks, request.container_id, request.exec_id))

    @rpc
    async def WaitExec(self, request: pb.ProcessRef, context: Any) -> pb.ProcessState:
        return task_execs.state_pb(await task_execs.wait(self.tasks, request.container_id, request.exec_id))

    @rpc
    async def DeleteExec(self, request: pb.ProcessRef, context: Any) -> pb.ProcessState:
        return task_execs.state_pb(await task_execs.delete(self.tasks, request.container_id, request.exec_id))


class EventsServicer(pb_grpc.EventsServicer):  # type: ignore[misc]
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    async def Subscribe(self, request: pb.Empty, context: Any) -> AsyncIterator[pb.Event]:
        sub = self.exchange.subscribe()
        try:
            await context.send_initial_metadata(())  # the caller's ready(): the subscription is live
            async for event in sub.events():
                yield event_pb(event)
        finally:
            sub.close()


class IntrospectionServicer(pb_grpc.IntrospectionServicer):  # type: ignore[misc]
    @rpc
    async def Version(self, request: pb.Empty, context: Any) -> pb.VersionResponse:
        return pb.VersionResponse(version=VERSION, revision="skiff")
