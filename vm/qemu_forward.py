#!/usr/bin/env python3
"""`python -m vm.qemu_forward UNIX_PATH TCP_PORT`: a unix socket that forwards to 127.0.0.1:TCP_PORT.

The qemu reference's dockerd is reached through qemu's user-mode hostfwd, which is TCP only; the harness
(pings, the recording proxy, the docker CLI in the steps) addresses daemons by unix socket. Each accepted
connection gets two plain copy threads (hijacked attach/exec streams are just bytes both ways). Stdlib only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _serve(client: socket.socket, port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(path: str, port: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o660)
    server.listen(128)

    def _stop(*_: object) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os._exit(0)

    signal.signal(signal.SIGTERM, _stop)
    while True:
        client, _ = server.accept()
        threading.Thread(target=_serve, args=(client, port), daemon=True).start()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
