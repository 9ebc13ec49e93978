"""The userland proxy for published ports (docker-proxy's role): one small process per binding
that owns the host socket (inherited: the fds last on the command line), so a port in use is refused and
loopback clients reach the container. TCP bytes move with splice(2) through a pipe, not Python
buffers.

    python -m skiff.network.proxy tcp|udp <container-ip> <container-port> <fd>...
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
import threading

CHUNK = 1 << 20
F_SETPIPE_SZ = 1031
FLAGS = 0
with_splice = hasattr(os, "splice")


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        if with_splice:
            r, w = os.pipe()
            with contextlib.suppress(OSError):
                fcntl.fcntl(w, F_SETPIPE_SZ, CHUNK)  # one splice moves up to a pipe's capacity
            flags = os.SPLICE_F_MOVE  # not SPLICE_F_MORE: it holds back small replies like MSG_MORE
            try:
                while True:
                    n = os.splice(src.fileno(), w, CHUNK, flags=flags)
                    if n == 0:
                        break
                    while n:
                        n -= os.splice(r, dst.fileno(), n, flags=flags)
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


class _Pair:
    """A proxied connection: two pumps, the last one to finish closes both sockets."""

    def __init__(self, a: socket.socket, b: socket.socket) -> None:
        self.sockets = (a, b)
        self.left = 2
        self.lock = threading.Lock()

    def pump(self, src: socket.socket, dst: socket.socket) -> None:
        _pump(src, dst)
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            for s in self.sockets:
                s.close()


def _serve_tcp(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue

        pair = _Pair(client, upstream)
        threading.Thread(target=pair.pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pair.pump, args=(upstream, client), daemon=True).start()


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
