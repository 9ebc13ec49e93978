"""The userland proxy for published ports (docker-proxy's role): one small process per binding
that owns the host socket (inherited: the fds last on the command line), so a port in use is refused and
loopback clients reach the container. TCP bytes move with splice(2) through a pipe, not Python
buffers.

    python -m skiff.network.proxy tcp|udp <container-ip> <container-port> <fd>...
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading

CHUNK = 1 << 20
FLAGS = 0
with_splice = hasattr(os, "splice")


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        if with_splice:
            r, w = os.pipe()
            try:
                while True:
                    n = os.splice(src.fileno(), w, CHUNK)
                    if n == 0:
                        break
                    while n:
                        n -= os.splice(r, dst.fileno(), n)
            finally:
                os.close(r)
                os.close(w)
        else:
            while data := src.recv(CHUNK):
                dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _serve_tcp(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue

        def run(a: socket.socket = client, b: socket.socket = upstream) -> None:
            t = threading.Thread(target=_pump, args=(b, a), daemon=True)
            t.start()
            _pump(a, b)
            t.join()
            a.close()
            b.close()

        threading.Thread(target=run, daemon=True).start()


def _serve_udp(listener: socket.socket, target: tuple[str, int]) -> None:
    peers: dict[tuple[str, int], socket.socket] = {}
    lock = threading.Lock()
    while True:
        data, addr = listener.recvfrom(65535)
        with lock:
            up = peers.get(addr)
            if up is None:
                up = peers[addr] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                up.connect(target)

                def back(u: socket.socket = up, a: tuple[str, int] = addr) -> None:
                    try:
                        while True:
                            listener.sendto(u.recv(65535), a)
                    except OSError:
                        pass

                threading.Thread(target=back, daemon=True).start()
        up.send(data)


def main(argv: list[str]) -> int:
    proto, ip, port, fds = argv[0], argv[1], int(argv[2]), [int(a) for a in argv[3:]]
    serve = _serve_tcp if proto == "tcp" else _serve_udp
    threads = []
    for fd in fds:
        listener = socket.socket(fileno=fd)
        t = threading.Thread(target=serve, args=(listener, (ip, port)), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
