"""Exec'd processes of a task: registered, started, waited for and deleted through the task's shim."""

from __future__ import annotations

import asyncio
import json

from skiff import errdefs
from skiff.core.api import core_pb2 as pb
from skiff.core.tasks.service import TaskService
from skiff.shim.protocol import ExecState, ShimClient

_STATUS = {"created": pb.CREATED, "running": pb.RUNNING, "stopped": pb.STOPPED}


def state_pb(state: ExecState) -> pb.ProcessState:
    return pb.ProcessState(exec_id=state.exec_id, pid=state.pid, status=_STATUS.get(state.status, pb.UNKNOWN),
                           exit_status=state.exit_status, exited_at=state.exited_at)


async def create(tasks: TaskService, container_id: str, exec_id: str, process: bytes, stdin: bool,
                 terminal: bool) -> None:
    try:
        proc = json.loads(process)
        if not isinstance(proc, dict):
            raise ValueError("not an object")
    except ValueError as err:
        raise errdefs.InvalidArgument(f"invalid OCI process: {err}") from None
    await tasks.shim_call(container_id, lambda s: s.exec(exec_id, proc, stdin, terminal))


async def start(tasks: TaskService, container_id: str, exec_id: str) -> ExecState:
    return await tasks.shim_call(container_id, lambda s: s.start_exec(exec_id))


async def wait(tasks: TaskService, container_id: str, exec_id: str) -> ExecState:
    """On a connection of its own: the wait may take as long as the process runs."""
    path = tasks.shim_socket(container_id)

    def call() -> ExecState:
        with ShimClient(path, timeout=None) as client:
            return client.wait_exec(exec_id)

    return await asyncio.to_thread(call)


async def delete(tasks: TaskService, container_id: str, exec_id: str) -> ExecState:
    return await tasks.shim_call(container_id, lambda s: s.delete_exec(exec_id))
