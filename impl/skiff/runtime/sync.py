"""The typed parent/child protocol of ``create``: newline-delimited JSON messages over two pipes.

=============  ===================  ===============  ==============================================
message        sender -> receiver   payload          meaning
=============  ===================  ===============  ==============================================
``cgroups``    create -> bootstrap  {}               bootstrap is in the container cgroups; go on
``userns``     bootstrap -> create  {}               bootstrap unshared its user namespace: write its
                                                     uid_map/gid_map (only with a new user namespace)
``mapped``     create -> bootstrap  {}               the maps are written; become root in it, go on
``init-pid``   bootstrap -> create  {"pid": int}     host pid of the forked container init; the
                                                     bootstrap exits right after sending it
``hooks``      init -> create       {}               mounts are set up (before pivot_root): run the
                                                     prestart/createRuntime hooks, then send ``resume``;
                                                     only sent when the config has such hooks
``resume``     create -> init       {}               the hooks succeeded; continue the setup
``ready``      init -> create       {}               rootfs, pivot_root, user, cwd are set up and the
                                                     executable was found; init now blocks on
                                                     exec.fifo until ``start``
``error``      any child -> create  {"message": str} setup failed; the sender exits 1
=============  ===================  ===============  ==============================================

End of file on the child->create pipe before ``ready`` means the child died without explaining.
"""

from __future__ import annotations

import os

from skiff.oci.model import Model
from skiff.runtime import jsonfast


class CgroupsReady(Model):
    kind = "cgroups"


class Userns(Model):
    kind = "userns"


class Mapped(Model):
    kind = "mapped"


class InitPid(Model):
    pid: int
    kind = "init-pid"


class Hooks(Model):
    kind = "hooks"


class Resume(Model):
    kind = "resume"


class Ready(Model):
    kind = "ready"


class Error(Model):
    message: str
    kind = "error"


Message = CgroupsReady | Userns | Mapped | InitPid | Hooks | Resume | Ready | Error


class ProtocolError(Exception):
    """A malformed message, or the peer closed the pipe before sending one."""


def encode(msg: Message) -> bytes:
    body: dict[str, object] = {"type": msg.kind}
    if isinstance(msg, InitPid):
        body["pid"] = msg.pid
    elif isinstance(msg, Error):
        body["message"] = msg.message
    return jsonfast.dumps(body).encode() + b"\n"


def decode(line: bytes) -> Message:
    try:
        body = jsonfast.loads(line)
        kind = body["type"]
        if kind == "cgroups":
            return CgroupsReady()
        if kind == "init-pid" and isinstance(body["pid"], int):
            return InitPid(body["pid"])
        if kind == "ready":
            return Ready()
        if kind == "userns":
            return Userns()
        if kind == "mapped":
            return Mapped()
        if kind == "hooks":
            return Hooks()
        if kind == "resume":
            return Resume()
        if kind == "error":
            return Error(str(body["message"]))
    except (ValueError, KeyError, TypeError):
        pass
    raise ProtocolError(f"bad sync message {line[:200]!r}")


class Channel:
    """One read fd and one write fd; ``recv`` returns None at end of file."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd = rfd
        self.wfd = wfd
        self._buf = b""

    def send(self, msg: Message) -> None:
        data = encode(msg)
        while data:
            data = data[os.write(self.wfd, data):]

    def recv(self) -> Message | None:
        while b"\n" not in self._buf:
            chunk = os.read(self.rfd, 4096)
            if not chunk:
                if self._buf:
                    raise ProtocolError("truncated sync message")
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return decode(line)

    def close(self) -> None:
        for fd in (self.rfd, self.wfd):
            if fd >= 0:
                os.close(fd)
        self.rfd = self.wfd = -1
