"""The real skiff-containerd process on a temp socket/root/state, driven through CoreClient.

Tasks run ``busybox`` under real runtimes (runc, and skiff-runc when it works) behind real skiff-shims.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from core_support import unmount_under
from skiff import errdefs
from skiff.core import specgen
from skiff.core.api import core_pb2 as pb
from skiff.core.client import CoreClient

pytestmark = pytest.mark.root

RUNC = Path("/usr/sbin/runc")
SKIFF_RUNC = Path(sys.executable).parent / "skiff-runc"
DAEMON = Path(sys.executable).parent / "skiff-containerd"


def _skiff_runc_works() -> bool:
    root = Path(f"/run/skiff-core-probe-{os.getpid()}")
    try:
        proc = subprocess.run([str(SKIFF_RUNC), "--root", str(root), "list"], capture_output=True, timeout=10)
        return proc.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        shutil.rmtree(root, ignore_errors=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "runtime" in metafunc.fixturenames:
        marks = [] if _skiff_runc_works() else [pytest.mark.skip(reason="skiff-runc does not work yet")]
        metafunc.parametrize("runtime", [pytest.param(str(RUNC), id="runc"),
                                         pytest.param(str(SKIFF_RUNC), id="skiff-runc", marks=marks)])


def until(pred: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def mounted_under(path: Path) -> list[str]:
    prefix = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


@dataclass
class Daemon:
    address: Path
    root: Path
    state: Path
    proc: subprocess.Popen[bytes] | None = None
    snapshotter: str = "overlayfs"

    def start(self) -> None:
        log = open(self.root.parent / "daemon.log", "ab")  # noqa: SIM115 - handed to the child
        argv = [str(DAEMON), "--address", str(self.address), "--root", str(self.root),
                "--state", str(self.state), "--log-level", "debug", "--snapshotter", self.snapshotter]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            return self.address.exists()

        until(ready, 20, "the daemon's socket")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        return (self.root.parent / "daemon.log").read_text(errors="replace")

    def bundle(self, cid: str) -> Path:
        return self.state / "tasks" / cid

    def cleanup_leftovers(self) -> None:
        """After a failed test: end the shims and containers it left, by PID."""
        tasks = self.state / "tasks"
        for bundle in tasks.iterdir() if tasks.exists() else []:
            for name in ("init.pid", "shim.pid"):
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int((bundle / name).read_text().strip()), signal.SIGKILL)
            for runtime in (RUNC, SKIFF_RUNC):
                subprocess.run([str(runtime), "delete", "--force", bundle.name], capture_output=True,
                               check=False)


@pytest.fixture
def daemon(workdir: Path, request: pytest.FixtureRequest) -> Iterator[Daemon]:
    snapshotter = getattr(request, "param", "overlayfs")
    d = Daemon(workdir / "containerd.sock", workdir / "root", workdir / "state", snapshotter=snapshotter)
    d.start()
    try:
        yield d
    finally:
        d.stop()
        d.cleanup_leftovers()
        unmount_under(workdir)


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            yield chunk


def spec(*args: str) -> bytes:
    return specgen.to_json(specgen.generate(specgen.with_process_args(list(args))))


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def with_busybox(d: Daemon, busybox_tar: Path) -> CoreClient:
    c = CoreClient(str(d.address))
    await c.images_import(file_chunks(busybox_tar), "busybox", {"Cmd": ["sh"]}, "Imported from -")
    return c


def test_run_echo_hi(daemon: Daemon, busybox_tar: Path, runtime: str, workdir: Path) -> None:
    cid = "echo-" + uuid.uuid4().hex[:12]
    log_path = workdir / "echo.log"

    async def scenario() -> None:
        c = await with_busybox(daemon, busybox_tar)
        events: list[pb.Event] = []

        subscription = c.events_subscribe()
        await subscription.ready()

        async def collect() -> None:
            async for ev in subscription:
                events.append(ev)

        collector = asyncio.create_task(collect())
        ctr = await c.containers_create(cid, "busybox", {"a": "b"}, runtime)
        assert ctr.runtime == runtime and ctr.mounts[0].type == "overlay"
        task = await c.tasks_create(cid, spec("echo", "hi"), str(log_path))
        assert task.status == pb.CREATED and task.pid > 0
        bundle = daemon.bundle(cid)
        config = json.loads((bundle / "config.json").read_text())
        assert config["root"]["path"] == "rootfs"
        assert mounted_under(bundle / "rootfs")

        frames: list[bytes] = []
        attached = c.tasks_attach(cid, True, True)
        await attached.ready()

        async def attach() -> None:
            async for frame in attached:
                frames.append(frame)

        attacher = asyncio.create_task(attach())
        started = await c.tasks_start(cid)
        assert started.status in (pb.RUNNING, pb.STOPPED)
        done = await c.tasks_wait(cid)
        assert (done.status, done.exit_status) == (pb.STOPPED, 0) and done.exited_at
        await asyncio.wait_for(attacher, 10)
        assert b"".join(frames) == b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"
        assert [json.loads(line)["log"] for line in log_path.read_text().splitlines()] == ["hi\n"]
        assert (await c.tasks_get(cid)).status == pb.STOPPED
        with pytest.raises(errdefs.FailedPrecondition):
            await c.containers_delete(cid)

        deleted = await c.tasks_delete(cid)
        assert deleted.exit_status == 0
        assert not bundle.exists()
        assert not mounted_under(daemon.state)
        assert not pid_alive(task.pid)
        with pytest.raises(errdefs.NotFound):
            await c.tasks_get(cid)
        assert await c.containers_usage(cid) >= 0
        await c.containers_delete(cid)
        with pytest.raises(errdefs.NotFound):
            await c.containers_get(cid)

        until_topics = ["/containers/create", "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete",
                        "/containers/delete"]
        deadline = time.monotonic() + 5
        while [e.topic for e in events] != until_topics and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert [e.topic for e in events] == until_topics
        exit_event = events[3]
        assert (exit_event.container_id, exit_event.exit_status, exit_event.pid) == (cid, 0, task.pid)
        collector.cancel()
        await c.close()

    run(scenario())


def test_exit_codes_and_kill(daemon: Daemon, busybox_tar: Path, runtime: str) -> None:
    async def scenario() -> None:
        c = await with_busybox(daemon, busybox_tar)
        for name, args, expect in (("three", ("sh", "-c", "exit 3"), 3), ("sleeper", ("sleep", "100"), 137)):
            cid = f"{name}-{uuid.uuid4().hex[:8]}"
            await c.containers_create(cid, "busybox", {}, runtime)
            await c.tasks_create(cid, spec(*args))
            started = await c.tasks_start(cid)
            if expect == 137:
                assert pid_alive(started.pid)
                with pytest.raises(errdefs.SkiffError):
                    await c.tasks_delete(cid)  # still running
                assert [t.container_id for t in await c.tasks_list()] == [cid]
                await c.tasks_kill(cid, signal.SIGKILL)
            assert (await c.tasks_wait(cid)).exit_status == expect
            await c.tasks_delete(cid)
            await c.containers_delete(cid)
            assert not pid_alive(started.pid)
        assert not mounted_under(daemon.state)
        await c.close()

    run(scenario())


def test_failed_create_leaves_nothing_behind(daemon: Daemon, busybox_tar: Path, runtime: str) -> None:
    async def scenario() -> None:
        c = await with_busybox(daemon, busybox_tar)
        cid = "bad-" + uuid.uuid4().hex[:8]
        await c.containers_create(cid, "busybox", {}, runtime)
        with pytest.raises(errdefs.InvalidArgument):
            await c.tasks_create(cid, b"{not json")
        with pytest.raises(errdefs.SkiffError):
            await c.tasks_create(cid, spec("/does/not/exist"))
        assert not daemon.bundle(cid).exists()
        assert not mounted_under(daemon.state)
        with pytest.raises(errdefs.NotFound):
            await c.tasks_get(cid)
        # the container is still usable afterwards
        await c.tasks_create(cid, spec("true"))
        await c.tasks_start(cid)
        assert (await c.tasks_wait(cid)).exit_status == 0
        await c.tasks_delete(cid)
        await c.containers_delete(cid)
        await c.close()

    run(scenario())


def test_delete_a_task_that_never_started(daemon: Daemon, busybox_tar: Path, runtime: str) -> None:
    async def scenario() -> None:
        c = await with_busybox(daemon, busybox_tar)
        cid = "unstarted-" + uuid.uuid4().hex[:8]
        await c.containers_create(cid, "busybox", {}, runtime)
        task = await c.tasks_create(cid, spec("sleep", "100"))
        assert pid_alive(task.pid)
        await c.tasks_delete(cid)
        assert not pid_alive(task.pid)
        assert not daemon.bundle(cid).exists() and not mounted_under(daemon.state)
        await c.containers_delete(cid)
        await c.close()

    run(scenario())


def test_cancelled_import_leaves_nothing(daemon: Daemon, busybox_tar: Path) -> None:
    async def scenario() -> None:
        c = CoreClient(str(daemon.address))
        sent = asyncio.Event()

        async def half_then_hang() -> AsyncIterator[bytes]:
            with open(busybox_tar, "rb") as f:
                yield f.read(1 << 20)
            sent.set()
            await asyncio.Event().wait()  # never finishes: the caller gives up

        call = asyncio.create_task(c.images_import(half_then_hang(), "half"))
        await sent.wait()
        ingest = daemon.root / "content" / "ingest"
        deadline = time.monotonic() + 10
        while not any(ingest.iterdir()) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        blobs = daemon.root / "content" / "blobs" / "sha256"

        def leftovers() -> list[Path]:
            return [*ingest.iterdir(), *blobs.iterdir()]

        deadline = time.monotonic() + 10
        while leftovers() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert not leftovers(), "the daemon dropped the partial import"
        assert await c.images_list() == []
        await c.close()

    run(scenario())


def test_errors_map_to_errdefs(daemon: Daemon, busybox_tar: Path) -> None:
    async def scenario() -> None:
        c = await with_busybox(daemon, busybox_tar)
        with pytest.raises(errdefs.NotFound, match="No such image: nothere"):
            await c.images_get("nothere")
        with pytest.raises(errdefs.NotFound):
            await c.containers_create("x1", "nothere")
        await c.containers_create("x1", "busybox")
        with pytest.raises(errdefs.AlreadyExists):
            await c.containers_create("x1", "busybox")
        with pytest.raises(errdefs.NotFound):
            await c.tasks_create("nope", spec("true"))
        with pytest.raises(errdefs.InvalidArgument):
            await c.images_tag("busybox", "Not/Valid")
        with pytest.raises(errdefs.NotFound):
            await c.images_delete("nothere")
        # a terminal task: the spec's process.terminal follows the request (runtime --console-socket)
        req = pb.CreateTaskRequest(container_id="x1", spec=spec("true"), terminal=True)
        task = await c._tasks.Create(req)
        assert task.pid > 0
        await c.tasks_delete("x1")
        await c.containers_delete("x1")
        assert [i.name for i in await c.images_list()] == ["docker.io/library/busybox:latest"]
        res = await c.images_delete("busybox")
        assert list(res.untagged) == ["busybox:latest"] and len(res.deleted) == 2
        assert await c.images_list() == []
        assert (await c.version()).version
        await c.close()

    run(scenario())


def test_load_through_the_daemon(daemon: Daemon, docker_save_tar: tuple[Path, str, int]) -> None:
    tar, image_id, _ = docker_save_tar

    async def scenario() -> None:
        c = CoreClient(str(daemon.address))
        loaded = [p async for p in c.images_load(file_chunks(tar))]
        assert [(p.loaded_name, p.loaded_id) for p in loaded] == [("busybox:latest", "")]
        assert (await c.images_get("busybox")).id == image_id
        with pytest.raises(errdefs.InvalidArgument):
            [p async for p in c.images_load(file_chunks(Path("/etc/hostname")))]
        await c.close()

    run(scenario())


def test_restart_reconciles_tasks(daemon: Daemon, busybox_tar: Path) -> None:
    """Shims outlive the daemon: a live shim is adopted, a dead one is settled from its exit.json."""
    live, dead = "live-" + uuid.uuid4().hex[:8], "dead-" + uuid.uuid4().hex[:8]

    async def before() -> dict[str, int]:
        c = await with_busybox(daemon, busybox_tar)
        pids = {}
        for cid in (live, dead):
            await c.containers_create(cid, "busybox", {}, str(RUNC))
            await c.tasks_create(cid, spec("sleep", "100"))
            pids[cid] = (await c.tasks_start(cid)).pid
        await c.close()
        return pids

    pids = run(before())
    daemon.stop()
    # while the daemon is down: the dead task's container is killed, then its shim
    os.kill(pids[dead], signal.SIGKILL)
    until(lambda: (daemon.bundle(dead) / "exit.json").exists(), what="exit.json")
    shim_pid = int((daemon.bundle(dead) / "shim.pid").read_text())
    os.kill(shim_pid, signal.SIGKILL)
    until(lambda: not pid_alive(shim_pid), what="the shim to die")
    daemon.start()

    async def after() -> None:
        c = CoreClient(str(daemon.address))
        t = await c.tasks_get(live)
        assert (t.status, t.pid) == (pb.RUNNING, pids[live])
        t = await c.tasks_wait(dead)
        assert (t.status, t.exit_status) == (pb.STOPPED, 137)
        assert not mounted_under(daemon.bundle(dead))
        await c.tasks_delete(dead)
        assert not daemon.bundle(dead).exists()
        await c.tasks_kill(live, signal.SIGKILL)
        assert (await c.tasks_wait(live)).exit_status == 137
        await c.tasks_delete(live)
        for cid in (live, dead):
            await c.containers_delete(cid)
        assert not mounted_under(daemon.state)
        await c.close()

    run(after())


def test_a_shim_that_dies_is_settled(daemon: Daemon, busybox_tar: Path) -> None:
    """The shim of a running task is killed: the task reads as stopped and delete still cleans up."""
    cid = "orphan-" + uuid.uuid4().hex[:8]

    async def scenario() -> None:
        c = await with_busybox(daemon, busybox_tar)
        await c.containers_create(cid, "busybox", {}, str(RUNC))
        await c.tasks_create(cid, spec("sleep", "100"))
        pid = (await c.tasks_start(cid)).pid
        shim_pid = int((daemon.bundle(cid) / "shim.pid").read_text())
        os.kill(shim_pid, signal.SIGKILL)
        t = await c.tasks_wait(cid)
        assert t.status == pb.STOPPED
        await c.tasks_delete(cid)
        assert not pid_alive(pid), "the runtime's delete --force ended the container"
        assert not daemon.bundle(cid).exists() and not mounted_under(daemon.state)
        await c.containers_delete(cid)
        await c.close()

    run(scenario())


def test_concurrent_imports_and_tasks(daemon: Daemon, busybox_tar: Path, workdir: Path) -> None:
    async def scenario() -> None:
        c = CoreClient(str(daemon.address))
        imports = (c.images_import(file_chunks(busybox_tar), f"same:{i}") for i in range(4))
        images = await asyncio.gather(*imports)
        assert len({i.chain_id for i in images}) == 1, "one layer snapshot shared by all four"

        async def echo(i: int) -> int:
            cid = f"par{i}-{uuid.uuid4().hex[:8]}"
            await c.containers_create(cid, "same:0", {}, str(RUNC))
            await c.tasks_create(cid, spec("echo", str(i)), str(workdir / f"{i}.log"))
            await c.tasks_start(cid)
            status = (await c.tasks_wait(cid)).exit_status
            await c.tasks_delete(cid)
            await c.containers_delete(cid)
            return status

        assert await asyncio.gather(*(echo(i) for i in range(4))) == [0, 0, 0, 0]
        for i in range(4):
            assert json.loads((workdir / f"{i}.log").read_text())["log"] == f"{i}\n"
        assert not mounted_under(daemon.state)
        await c.close()

    run(scenario())


@pytest.mark.parametrize("daemon", ["native"], indirect=True)
def test_run_on_the_native_snapshotter(daemon: Daemon, busybox_tar: Path, workdir: Path) -> None:
    async def scenario() -> None:
        c = await with_busybox(daemon, busybox_tar)
        ctr = await c.containers_create("native1", "busybox", {}, str(RUNC))
        assert [m.type for m in ctr.mounts] == ["bind"]
        await c.tasks_create("native1", spec("sh", "-c", "echo hi > /written; cat /written"),
                             str(workdir / "n.log"))
        await c.tasks_start("native1")
        assert (await c.tasks_wait("native1")).exit_status == 0
        assert json.loads((workdir / "n.log").read_text())["log"] == "hi\n"
        await c.tasks_delete("native1")
        assert not mounted_under(daemon.state)
        await c.containers_delete("native1")
        await c.images_delete("busybox")
        assert not any((daemon.root / "snapshots" / "native" / "snapshots").iterdir())
        await c.close()

    run(scenario())
