"""The embedded DNS server (dockerd's 127.0.0.11): answers A and AAAA queries for container names and aliases
on the asking container's user-defined networks and forwards everything else to the host's resolvers.

One UDP socket per container, created inside the container's netns (bound to 127.0.0.11:53) and served
from skiffd's event loop, as dockerd serves its resolver from the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import cast

from skiff.network import netns

ADDRESS = "127.0.0.11"
TYPE_A = 1
TYPE_AAAA = 28
CLASS_IN = 1
Lookup = Callable[[str], list[str]]


def parse_question(msg: bytes) -> tuple[int, str, int, int] | None:
    """(id, lower-case name without the trailing dot, qtype, end offset of the question) or None."""
    if len(msg) < 12:
        return None
    qid, _flags, qdcount = struct.unpack("!HHH", msg[:6])
    if qdcount != 1:
        return None
    labels, pos = [], 12
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(msg):
            return None
        labels.append(msg[pos : pos + n].decode("ascii", "replace"))
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype, _qclass = struct.unpack("!HH", msg[pos : pos + 4])
    return qid, ".".join(labels).lower(), qtype, pos + 4


def answer(msg: bytes, end: int, addresses: list[str], ttl: int = 600) -> bytes:
    """A response to the query ``msg`` (its question ends at ``end``) with these A (IPv4) and AAAA (IPv6)
    records."""
    flags = 0x8180  # response, recursion desired + available, NOERROR
    header = struct.pack("!HHHHHH", struct.unpack("!H", msg[:2])[0], flags, 1, len(addresses), 0, 0)
    body = msg[12:end]
    for addr in addresses:
        packed = ipaddress.ip_address(addr).packed
        rtype = TYPE_AAAA if len(packed) == 16 else TYPE_A
        body += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, ttl, len(packed)) + packed
    return header + body


def upstreams(resolv_conf: str = "/etc/resolv.conf") -> list[str]:
    out = []
    with contextlib.suppress(OSError):
        for line in Path(resolv_conf).read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                out.append(parts[1])
    return out


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, lookup: Lookup, forward: list[str]) -> None:
        self.lookup = lookup
        self.forward = forward
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        q = parse_question(data)
        if q is None:
            return
        _qid, name, qtype, end = q
        found = self.lookup(name)
        if found and self.transport is not None:
            wanted = [a for a in found if (":" in a) == (qtype == TYPE_AAAA)]
            if qtype not in (TYPE_A, TYPE_AAAA):
                wanted = []
            self.transport.sendto(answer(data, end, wanted), addr)
            return
        task = asyncio.ensure_future(self._relay(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _relay(self, data: bytes, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        for server in self.forward:
            try:
                reply = await asyncio.wait_for(_udp_query(loop, server, data), 3)
            except (OSError, TimeoutError):
                continue
            if self.transport is not None:
                self.transport.sendto(reply, addr)
            return


async def _udp_query(loop: asyncio.AbstractEventLoop, server: str, data: bytes) -> bytes:
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        await loop.sock_connect(s, (server, 53))
        await loop.sock_sendall(s, data)
        return await loop.sock_recv(s, 65535)


class Server:
    """The resolver of one container; ``close`` when the container's sandbox goes."""

    def __init__(self, transport: asyncio.DatagramTransport) -> None:
        self.transport = transport

    @classmethod
    async def start(cls, ns_path: str, lookup: Lookup, forward: list[str]) -> Server:
        def bind() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ADDRESS, 53))
            return s

        sock = await asyncio.to_thread(netns.run_in, ns_path, bind)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(lookup, forward), sock=sock)
        return cls(transport)

    def close(self) -> None:
        self.transport.close()
