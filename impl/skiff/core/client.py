"""CoreClient: the typed asyncio client skiffd uses to talk to skiff-containerd.

Every method mirrors one RPC of ``core.proto``. gRPC status codes come back as ``skiff.errdefs``
exceptions with the server's message, so callers never see ``grpc.RpcError``. The server also sends the
exact errdefs kind in the ``skiff-error-kind`` trailing metadata (FAILED_PRECONDITION carries both
Conflict and FailedPrecondition).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

import grpc
from grpc import aio

from skiff import errdefs
from skiff.core import directio
from skiff.core.api import core_pb2 as pb
from skiff.core.api import core_pb2_grpc as _pb_grpc

pb_grpc: Any = _pb_grpc  # the generated stubs are untyped

ERROR_KIND_KEY = "skiff-error-kind"
MAX_MESSAGE = 64 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
]

_CODE_ERRORS: dict[grpc.StatusCode, type[errdefs.SkiffError]] = {
    grpc.StatusCode.NOT_FOUND: errdefs.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errdefs.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errdefs.Conflict,
    grpc.StatusCode.INVALID_ARGUMENT: errdefs.InvalidArgument,
    grpc.StatusCode.UNIMPLEMENTED: errdefs.NotImplemented_,
    grpc.StatusCode.UNAVAILABLE: errdefs.Unavailable,
}

T = TypeVar("T")


def error_from_rpc(err: aio.AioRpcError) -> errdefs.SkiffError:
    """Turn a gRPC failure into the errdefs exception it stands for, keeping the message."""
    message = err.details() or str(err.code())
    trailing: Any = err.trailing_metadata() or ()
    for key, value in trailing:
        if key == ERROR_KIND_KEY and isinstance(value, str) and value in errdefs.KINDS:
            return errdefs.from_kind(value, message)
    return _CODE_ERRORS.get(err.code(), errdefs.Unknown)(message)


def unix_target(address: str) -> str:
    """Accept a plain socket path or a ``unix:`` target."""
    return address if address.startswith("unix:") else f"unix://{address}"


async def _call(fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return await fn()
    except aio.AioRpcError as err:
        raise error_from_rpc(err) from None


async def _stream(call: Any) -> AsyncIterator[Any]:
    try:
        async for msg in call:
            yield msg
    except aio.AioRpcError as err:
        raise error_from_rpc(err) from None
    finally:
        call.cancel()


class ServerStream(Generic[T]):
    """A server-streaming call that starts when it is created (not on first iteration).

    ``await stream.ready()`` returns once the server has set the stream up (an event subscription is
    registered; an attach is forwarding output), so nothing published after that is missed. Iterate with
    ``async for``; errors surface as errdefs exceptions; ``cancel()`` ends the call.
    """

    def __init__(self, call: Any, convert: Callable[[Any], T]) -> None:
        self._call = call
        self._convert = convert
        self._iter: Any = None

    async def ready(self) -> None:
        try:
            await self._call.initial_metadata()
        except aio.AioRpcError as err:
            raise error_from_rpc(err) from None

    def __aiter__(self) -> ServerStream[T]:
        return self

    async def __anext__(self) -> T:
        if self._iter is None:
            self._iter = self._call.__aiter__()
        try:
            return self._convert(await self._iter.__anext__())
        except aio.AioRpcError as err:
            raise error_from_rpc(err) from None
        except asyncio.CancelledError:
            self._call.cancel()
            raise

    def cancel(self) -> None:
        self._call.cancel()

    async def aclose(self) -> None:
        self._call.cancel()


class CoreClient:
    """An async client for skiff-containerd's gRPC API over its unix socket."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._channel = aio.insecure_channel(unix_target(address), options=CHANNEL_OPTIONS)
        self._images = pb_grpc.ImagesStub(self._channel)
        self._containers = pb_grpc.ContainersStub(self._channel)
        self._tasks = pb_grpc.TasksStub(self._channel)
        self._events = pb_grpc.EventsStub(self._channel)
        self._introspection = pb_grpc.IntrospectionStub(self._channel)

    async def close(self) -> None:
        await self._channel.close(None)

    async def __aenter__(self) -> CoreClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---------- images ----------
    async def images_import(
        self,
        chunks: AsyncIterator[bytes],
        name: str = "",
        config: Mapping[str, Any] | None = None,
        comment: str = "",
        created_by: str = "",
    ) -> pb.Image:
        """Import a rootfs tar (plain or gzip) as a one-layer image; ``config`` is a partial image config."""

        async def requests() -> AsyncIterator[pb.ImportRequest]:
            options = pb.ImportRequest.Options(
                name=name,
                config=json.dumps(dict(config)).encode() if config else b"",
                comment=comment,
                created_by=created_by,
            )
            yield pb.ImportRequest(options=options)
            async for chunk in chunks:
                if chunk:
                    yield pb.ImportRequest(data=chunk)

        return await _call(lambda: self._images.Import(requests()))

    async def images_load(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[pb.LoadProgress]:
        """Load a docker-save or OCI-layout tarball; yields a LoadProgress per loaded name or untagged ID."""

        async def requests() -> AsyncIterator[pb.LoadRequest]:
            async for chunk in chunks:
                if chunk:
                    yield pb.LoadRequest(data=chunk)

        async for progress in _stream(self._images.Load(requests())):
            yield progress

    async def images_get(self, ref: str) -> pb.Image:
        """Resolve a name, full or short image ID, or digest."""
        return await _call(lambda: self._images.Get(pb.GetImageRequest(ref=ref)))

    async def images_list(self) -> list[pb.Image]:
        """One entry per name; untagged images appear once with an empty name."""
        resp = await _call(lambda: self._images.List(pb.Empty()))
        return list(resp.images)

    async def images_tag(self, source: str, target: str) -> pb.Image:
        return await _call(lambda: self._images.Tag(pb.TagImageRequest(source=source, target=target)))

    async def images_delete(
        self, name: str, sync_gc: bool = True, force: bool = False
    ) -> pb.DeleteImageResponse:
        """Remove one name (or, given an ID, the image); ``untagged`` lists familiar names, ``deleted`` the
        image ID and the layer chain IDs that went away (Docker's rmi response)."""
        req = pb.DeleteImageRequest(name=name, sync_gc=sync_gc, force=force)
        return await _call(lambda: self._images.Delete(req))

    # ---------- containers ----------
    async def containers_create(
        self, id: str, image: str, labels: Mapping[str, str] | None = None, runtime: str = ""
    ) -> pb.Container:
        req = pb.CreateContainerRequest(id=id, image=image, labels=dict(labels or {}), runtime=runtime)
        return await _call(lambda: self._containers.Create(req))

    async def containers_get(self, id: str) -> pb.Container:
        return await _call(lambda: self._containers.Get(pb.ContainerID(id=id)))

    async def containers_list(self) -> list[pb.Container]:
        resp = await _call(lambda: self._containers.List(pb.Empty()))
        return list(resp.containers)

    async def containers_delete(self, id: str) -> None:
        await _call(lambda: self._containers.Delete(pb.ContainerID(id=id)))

    async def containers_usage(self, id: str) -> int:
        """Bytes in the container's writable layer (Docker's SizeRw)."""
        resp = await _call(lambda: self._containers.Usage(pb.DiffRequest(id=id)))
        return int(resp.size)

    # ---------- tasks ----------
    async def tasks_create(self, container_id: str, spec: bytes, log_path: str = "", stdin: bool = False,
                           terminal: bool = False) -> pb.Task:
        req = pb.CreateTaskRequest(container_id=container_id, spec=spec, log_path=log_path, stdin=stdin,
                                   terminal=terminal)
        return await _call(lambda: self._tasks.Create(req))

    async def tasks_start(self, container_id: str) -> pb.Task:
        return await _call(lambda: self._tasks.Start(pb.ContainerID(id=container_id)))

    async def tasks_get(self, container_id: str) -> pb.Task:
        return await _call(lambda: self._tasks.Get(pb.ContainerID(id=container_id)))

    async def tasks_list(self) -> list[pb.Task]:
        resp = await _call(lambda: self._tasks.List(pb.Empty()))
        return list(resp.tasks)

    async def tasks_kill(self, container_id: str, signal: int = 15, all: bool = False) -> None:
        req = pb.KillRequest(container_id=container_id, signal=signal, all=all)
        await _call(lambda: self._tasks.Kill(req))

    async def tasks_wait(self, container_id: str) -> pb.Task:
        """Block until the task is stopped; the returned Task carries exit_status and exited_at."""
        return await _call(lambda: self._tasks.Wait(pb.ContainerID(id=container_id)))

    async def tasks_delete(self, container_id: str) -> pb.Task:
        return await _call(lambda: self._tasks.Delete(pb.ContainerID(id=container_id)))

    async def tasks_stdio(self, container_id: str) -> str:
        """The task's shim socket for :mod:`skiff.core.directio` ("" without a shim)."""
        resp = await _call(lambda: self._tasks.Stdio(pb.ContainerID(id=container_id)))
        return str(resp.path)

    def tasks_attach(
        self, container_id: str, stdout: bool = True, stderr: bool = True, exec_id: str = ""
    ) -> directio.DirectAttach:
        """Docker stdcopy frames (8-byte header + payload) as the shim sends them, until the output ends:
        read from the shim's socket itself when the core names one we can reach, else through ``Attach``.

        ``await stream.ready()`` before starting the task to be sure to see all of its output."""
        return directio.DirectAttach(lambda: self.tasks_stdio(container_id),
                                     lambda: self._grpc_attach(container_id, stdout, stderr, exec_id),
                                     stdout, stderr, exec_id)

    def _grpc_attach(self, container_id: str, stdout: bool, stderr: bool,
                     exec_id: str) -> ServerStream[bytes]:
        req = pb.AttachRequest(container_id=container_id, stdout=stdout, stderr=stderr, exec_id=exec_id)
        return ServerStream(self._tasks.Attach(req), lambda frame: bytes(frame.data))

    async def tasks_stdin(self, container_id: str, chunks: AsyncIterator[bytes], close_on_eof: bool = False,
                          exec_id: str = "") -> None:
        """Copy ``chunks`` to the process's stdin until they end (then close it if ``close_on_eof``): on a
        shim connection of our own when the core names one we can reach, else through ``Stdin``."""

        async def grpc_stdin(data: AsyncIterator[bytes]) -> None:
            await self._grpc_stdin(container_id, data, close_on_eof, exec_id)

        await directio.write_stdin(lambda: self.tasks_stdio(container_id), grpc_stdin, container_id, chunks,
                                   close_on_eof, exec_id)

    async def _grpc_stdin(self, container_id: str, chunks: AsyncIterator[bytes], close_on_eof: bool,
                          exec_id: str) -> None:
        async def requests() -> AsyncIterator[pb.StdinRequest]:
            yield pb.StdinRequest(container_id=container_id, exec_id=exec_id, close_on_eof=close_on_eof)
            async for data in chunks:
                yield pb.StdinRequest(data=data)

        await _call(lambda: self._tasks.Stdin(requests()))

    async def tasks_close_io(self, container_id: str, exec_id: str = "") -> None:
        req = pb.CloseIORequest(container_id=container_id, exec_id=exec_id)
        await _call(lambda: self._tasks.CloseIO(req))

    async def tasks_resize(self, container_id: str, width: int, height: int, exec_id: str = "") -> None:
        req = pb.ResizePtyRequest(container_id=container_id, exec_id=exec_id, width=width, height=height)
        await _call(lambda: self._tasks.ResizePty(req))

    async def tasks_exec(self, container_id: str, exec_id: str, process: bytes, stdin: bool = False,
                         terminal: bool = False) -> None:
        """Register an exec (an OCI process JSON); its output is attachable from now on."""
        req = pb.ExecProcessRequest(container_id=container_id, exec_id=exec_id, process=process, stdin=stdin,
                                    terminal=terminal)
        await _call(lambda: self._tasks.Exec(req))

    async def tasks_start_exec(self, container_id: str, exec_id: str) -> pb.ProcessState:
        return await _call(lambda: self._tasks.StartExec(pb.ProcessRef(container_id=container_id,
                                                                       exec_id=exec_id)))

    async def tasks_wait_exec(self, container_id: str, exec_id: str) -> pb.ProcessState:
        return await _call(lambda: self._tasks.WaitExec(pb.ProcessRef(container_id=container_id,
                                                                      exec_id=exec_id)))

    async def tasks_delete_exec(self, container_id: str, exec_id: str) -> pb.ProcessState:
        return await _call(lambda: self._tasks.DeleteExec(pb.ProcessRef(container_id=container_id,
                                                                        exec_id=exec_id)))

    async def tasks_pause(self, container_id: str) -> None:
        await _call(lambda: self._tasks.Pause(pb.ContainerID(id=container_id)))

    async def tasks_resume(self, container_id: str) -> None:
        await _call(lambda: self._tasks.Resume(pb.ContainerID(id=container_id)))

    async def tasks_update(self, container_id: str, resources: dict[str, Any]) -> None:
        """Live OCI ``linux.resources`` for a running task (the shim's ``runtime update``)."""
        data = json.dumps(resources).encode()
        await _call(lambda: self._tasks.Update(pb.UpdateTaskRequest(container_id=container_id,
                                                                    resources=data)))

    # ---------- events ----------
    def events_subscribe(self) -> ServerStream[pb.Event]:
        """Every event published once the subscription is set up (``await stream.ready()``)."""
        return ServerStream(self._events.Subscribe(pb.Empty()), lambda event: event)

    # ---------- introspection ----------
    async def version(self) -> pb.VersionResponse:
        return await _call(lambda: self._introspection.Version(pb.Empty()))
