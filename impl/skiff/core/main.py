"""skiff-containerd: ``skiff-containerd --address SOCK --root DIR --state DIR [--log-level LEVEL]``.

The whole daemon is composed here, in one readable list: content store, snapshotter, metadata, image,
container and task services, the event exchange, and the gRPC servicers over them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grpc import aio

from skiff.core import server
from skiff.core.client import CHANNEL_OPTIONS
from skiff.core.containers import ContainerService, default_runtime
from skiff.core.content.local import LocalStore
from skiff.core.events import Exchange
from skiff.core.images.service import ImageService
from skiff.core.images.unpack import EXTRACT_PREFIX
from skiff.core.leases import Leases
from skiff.core.metadata.store import MetadataStore
from skiff.core.snapshots.native import NativeSnapshotter
from skiff.core.snapshots.overlay import OverlaySnapshotter
from skiff.core.snapshots.snapshotter import Kind, Snapshotter

log = logging.getLogger("skiff.core")

DEFAULT_ADDRESS = "/var/run/skiff/containerd/containerd.sock"
DEFAULT_ROOT = "/var/lib/skiff/containerd"
DEFAULT_STATE = "/var/run/skiff/containerd"
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "warning": logging.WARNING, "error": logging.ERROR, "fatal": logging.CRITICAL}
SNAPSHOTTERS: dict[str, Callable[[Path], Snapshotter]] = {
    "overlayfs": OverlaySnapshotter,
    "native": NativeSnapshotter,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="skiff-containerd", description="Skiff's core daemon (gRPC)")
    p.add_argument("--address", "-a", default=DEFAULT_ADDRESS, help="unix socket to serve gRPC on")
    p.add_argument("--root", default=DEFAULT_ROOT, help="persistent data: content, snapshots, metadata")
    p.add_argument("--state", default=DEFAULT_STATE, help="runtime state: task bundles")
    p.add_argument("--log-level", "-l", default="info", choices=sorted(LOG_LEVELS))
    p.add_argument("--snapshotter", default="overlayfs", choices=sorted(SNAPSHOTTERS))
    p.add_argument("--runtime", default="", help="default OCI runtime binary (default: skiff-runc)")
    p.add_argument("--runtime-root", default=None, help="--root passed to the runtime by shims")
    p.add_argument("--shim", default=None, help="the skiff-shim binary (default: next to python)")
    return p.parse_args(argv)


def _drop_interrupted_unpacks(snapshotter: Snapshotter) -> None:
    """Active snapshots of unpacks that a crash interrupted belong to nobody."""
    for info in list(snapshotter.walk()):
        if info.kind == Kind.ACTIVE and info.key.startswith(EXTRACT_PREFIX):
            with contextlib.suppress(Exception):
                snapshotter.remove(info.key)


async def serve(args: argparse.Namespace) -> None:
    from skiff.core.tasks.service import TaskService  # imports the shim protocol: after argument parsing

    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="core"))
    root, state = Path(args.root), Path(args.state)
    root.mkdir(parents=True, exist_ok=True, mode=0o711)
    state.mkdir(parents=True, exist_ok=True, mode=0o711)

    store = LocalStore(root / "content")
    snapshotter: Snapshotter = SNAPSHOTTERS[args.snapshotter](root / "snapshots" / args.snapshotter)
    meta = MetadataStore(root / "metadata.db")
    leases = Leases()
    exchange = Exchange(loop)
    images = ImageService(store, snapshotter, meta, leases, exchange.publish)
    tasks = TaskService(state, meta, snapshotter, exchange.publish, args.shim, args.runtime_root)
    containers = ContainerService(meta, snapshotter, images, tasks.exists, exchange.publish,
                                  args.runtime or default_runtime())

    _drop_interrupted_unpacks(snapshotter)
    await asyncio.to_thread(images.collect)  # what a crash left between ingest and image record
    await tasks.reconcile()

    grpc_server = aio.server(options=CHANNEL_OPTIONS)
    pb_grpc = server.pb_grpc
    pb_grpc.add_ImagesServicer_to_server(server.ImagesServicer(images), grpc_server)
    pb_grpc.add_ContainersServicer_to_server(server.ContainersServicer(containers), grpc_server)
    pb_grpc.add_TasksServicer_to_server(server.TasksServicer(tasks), grpc_server)
    pb_grpc.add_EventsServicer_to_server(server.EventsServicer(exchange), grpc_server)
    pb_grpc.add_IntrospectionServicer_to_server(server.IntrospectionServicer(), grpc_server)
    from skiff.core import transfer_server  # the Transfer service (distribution.proto)
    transfer_server.tpb_grpc.add_TransferServicer_to_server(transfer_server.TransferServicer(images),
                                                            grpc_server)

    address = Path(args.address)
    address.parent.mkdir(parents=True, exist_ok=True)
    address.unlink(missing_ok=True)
    grpc_server.add_insecure_port(f"unix://{address}")
    await grpc_server.start()
    os.chmod(address, 0o660)
    log.info("skiff-containerd serving on %s (root %s, state %s)", address, root, state)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down (shims keep running)")
    await grpc_server.stop(grace=2)
    address.unlink(missing_ok=True)
    snapshotter.close()
    meta.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=LOG_LEVELS[args.log_level], format=fmt)
    logging.getLogger("grpc").setLevel(logging.WARNING)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
