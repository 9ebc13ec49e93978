"""A stdlib-only /_ping over a unix socket, so provisioning needs nothing from the venv."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def unix_path(host: str) -> str:
    """Return the socket path of a ``unix://`` DOCKER_HOST URL."""
    if not host.startswith("unix://"):
        raise ValueError(f"only unix:// hosts are supported here, got {host!r}")
    return host[len("unix://") :]


def ping(host: str, timeout: float = 2.0) -> bool:
    """True if the daemon at `host` answers ``GET /_ping`` with 200 OK."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(unix_path(host))
            sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return False
    return data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200")


def wait_for_ping(host: str, deadline_s: float, alive: Callable[[], bool] | None = None) -> bool:
    """Poll /_ping until it answers, `deadline_s` passes, or `alive()` says the server process died."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if ping(host):
            return True
        if alive is not None and not alive():
            return False
        time.sleep(0.1)
    return ping(host)
