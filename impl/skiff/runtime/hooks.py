"""OCI lifecycle hooks: run each hook with the container's state JSON on stdin, with its timeout.

When, as runc: ``prestart`` and ``createRuntime`` during create, in the runtime's namespaces, after the
container's mounts are set up and before pivot_root (the init asks with the ``hooks`` sync message and
waits for ``resume``); ``poststart`` by ``start`` once the fifo is consumed; ``poststop`` by ``delete``.
``createContainer`` (after the mounts, before pivot_root, cwd the rootfs) and ``startContainer`` (just before
the execve) are run by the container's init itself (``init.run_container_hooks``).
Hooks are forked and exec'd directly: ``subprocess`` costs start-up time and is only needed here.
"""

from __future__ import annotations

import os
import time

from skiff.runtime import jsonfast
from skiff.runtime.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from skiff.oci.runtime import Hook

SIGKILL = 9


def run_hooks(phase: str, hooks: Iterable[Hook], state: dict[str, object], cwd: str = "") -> None:
    data = jsonfast.dumps(state).encode()
    for index, hook in enumerate(hooks):
        code = run_hook(hook, data, cwd)
        if code == -1:
            raise ContainerError(f"error running {phase} hook #{index}: timeout after {hook.timeout}s")
        if code != 0:
            raise ContainerError(f"error running {phase} hook #{index}: exit status {code}")


def run_hook(hook: Hook, stdin: bytes, cwd: str = "") -> int:
    """Exit status of the hook (128+signal if killed), -1 on timeout; it starts in ``cwd`` if given."""
    env: dict[str, str] = {}
    for item in hook.env:
        key, _, value = item.partition("=")
        env[key] = value
    argv = list(hook.args) or [hook.path]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(r, 0)
            if cwd:
                os.chdir(cwd)
            os.execve(hook.path, argv, env)
        except BaseException as exc:
            os.write(2, f"hook {hook.path}: {exc}\n".encode())
        finally:
            os._exit(127)
    os.close(r)
    try:
        view = memoryview(stdin)
        while view:
            view = view[os.write(w, view):]
    except BrokenPipeError:
        pass
    finally:
        os.close(w)
    deadline = None if hook.timeout is None else time.monotonic() + hook.timeout
    while True:
        got, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
        if got == pid:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code
        if deadline is not None and time.monotonic() > deadline:
            os.kill(pid, SIGKILL)
            os.waitpid(pid, 0)
            return -1
        time.sleep(0.005)  # polling interval while waiting for the hook's exit with a timeout
