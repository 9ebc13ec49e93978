"""The gRPC face of the Transfer service (distribution.proto): pull, push, export, login.

The work is blocking and runs on a worker thread; what it produces (progress messages, archive chunks)
crosses to the event loop through a bounded queue, so a slow reader slows the export instead of filling
memory, and a cancelled call stops the worker at its next item.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from skiff import errdefs
from skiff.core.api import distribution_pb2 as tpb
from skiff.core.api import distribution_pb2_grpc as _tpb_grpc
from skiff.core.images.service import ImageService
from skiff.core.remotes import export as export_mod
from skiff.core.remotes.progress import Progress
from skiff.core.remotes.pull import Puller
from skiff.core.remotes.push import Pusher
from skiff.core.remotes.registry import Credentials, Registry
from skiff.core.server import rpc, stream_rpc

tpb_grpc: Any = _tpb_grpc
T = TypeVar("T")
_DONE = object()


class _Cancelled(Exception):
    pass


async def run_producing(work: Callable[[Callable[[T], None]], None], depth: int = 64) -> AsyncIterator[T]:
    """Run ``work(put)`` on a thread and yield what it puts, then re-raise what it raised."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: T) -> None:
        while True:
            if stop.is_set():
                raise _Cancelled()
            try:
                q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def run() -> None:
        try:
            work(put)
            outcome: Any = _DONE
        except BaseException as err:  # handed to the loop, re-raised there
            outcome = err
        while not stop.is_set():
            try:
                q.put(outcome, timeout=0.2)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=run, name="transfer", daemon=True)
    worker.start()
    try:
        while True:
            item = await asyncio.to_thread(q.get)
            if item is _DONE:
                return
            if isinstance(item, _Cancelled):
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def creds_of(auth: tpb.RegistryAuth) -> Credentials:
    return Credentials(auth.username, auth.password, auth.identity_token, auth.registry_token)


def progress_pb(p: Progress) -> tpb.Progress:
    return tpb.Progress(id=p.id, status=p.status, current=p.current, total=p.total, digest=p.digest,
                        size=p.size, image_id=p.image_id, updated=p.updated)


class TransferServicer(tpb_grpc.TransferServicer):  # type: ignore[misc]
    def __init__(self, images: ImageService) -> None:
        self.images = images
        self.puller = Puller(images)
        self.pusher = Pusher(images)

    @stream_rpc
    async def Pull(self, request: tpb.PullRequest, context: Any) -> AsyncIterator[tpb.Progress]:
        creds = creds_of(request.auth)

        def work(put: Callable[[Progress], None]) -> None:
            self.puller.pull(request.ref, put, creds, request.insecure, request.platform)

        async for p in run_producing(work):
            yield progress_pb(p)

    @stream_rpc
    async def Push(self, request: tpb.PushRequest, context: Any) -> AsyncIterator[tpb.Progress]:
        creds = creds_of(request.auth)

        def work(put: Callable[[Progress], None]) -> None:
            self.pusher.push(request.ref, put, creds, request.insecure)

        async for p in run_producing(work):
            yield progress_pb(p)

    @stream_rpc
    async def Export(self, request: tpb.ExportRequest, context: Any) -> AsyncIterator[tpb.ExportChunk]:
        refs = list(request.refs)
        if not refs:
            raise errdefs.InvalidArgument("no images to export")

        def work(put: Callable[[bytes], None]) -> None:
            export_mod.export(self.images, refs, put)

        async for chunk in run_producing(work, depth=8):
            yield tpb.ExportChunk(data=chunk)

    @rpc
    async def Login(self, request: tpb.PingRequest, context: Any) -> tpb.PingResponse:
        def work() -> str:
            with Registry(request.domain, creds_of(request.auth), request.insecure) as reg:
                return reg.ping()

        identity_token = await asyncio.to_thread(work)
        return tpb.PingResponse(status="Login Succeeded", identity_token=identity_token)
