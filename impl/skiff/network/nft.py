"""nftables through libnftables (ctypes): Skiff's rules live in their own table, replaced atomically.

The whole table is rendered from skiffd's state (``render``, pure and golden-tested) and loaded in one
transaction, so a restart or a repeated call can never duplicate a rule, and another engine's tables are
never read or written."""

from __future__ import annotations

import ctypes
import ipaddress
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from skiff import errdefs

DEFAULT_TABLE = "skiff"


@dataclass(frozen=True)
class Masquerade:
    """Outbound NAT for a bridge network (none for ``Internal`` networks)."""

    subnet: str
    bridge: str


@dataclass(frozen=True)
class PortRule:
    """A published port: host ``host_ip``:``host_port`` -> ``address``:``port`` (``host_ip`` "" = any)."""

    proto: str  # tcp | udp
    host_ip: str
    host_port: int
    address: str
    port: int
    bridge: str


@dataclass(frozen=True)
class Forward:
    """A container on a Skiff bridge: IPv4 packets for ``address`` entering any container interface go
    straight to ``ifname`` (netdev ingress ``fwd``). Bridged traffic never reaches the IP FORWARD hook, where
    another engine's policy (dockerd's FORWARD drop) would otherwise decide whether containers may talk."""

    ifname: str
    address: str
    group: str = "containers"  # one chain per network: containers of different networks stay apart


def _q(s: str) -> str:
    return json.dumps(s)


def render(
    table: str, masquerades: list[Masquerade], ports: list[PortRule], forwards: Sequence[Forward] = ()
) -> str:
    """The nft script that (re)creates ``table`` (families ip and netdev) with exactly these rules."""
    lines = [
        f"table netdev {table} {{}}",
        f"delete table netdev {table}",
    ]
    groups: dict[str, list[Forward]] = {}
    for f in forwards:
        groups.setdefault(f.group, []).append(f)
    if groups:
        lines.append(f"table netdev {table} {{")
        for group, members in sorted(groups.items()):
            devices = ", ".join(_q(f.ifname) for f in sorted(members, key=lambda f: f.ifname))
            lines += [
                f"\tchain forward_{group} {{",
                f"\t\ttype filter hook ingress devices = {{ {devices} }} priority 0; policy accept;",
            ]
            for f in sorted(members, key=lambda f: ipaddress.IPv4Address(f.address)):
                lines.append(f"\t\tip daddr {f.address} fwd to {_q(f.ifname)}")
            lines.append("\t}")
        lines.append("}")
    lines += [
        f"table ip {table} {{}}",
        f"delete table ip {table}",
        f"table ip {table} {{",
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority -100; policy accept;",
    ]
    for p in sorted(ports, key=lambda p: (p.host_port, p.proto, p.host_ip)):
        dst = f"ip daddr {p.host_ip} " if p.host_ip and p.host_ip != "0.0.0.0" else "fib daddr type local "
        lines.append(
            f"\t\t{dst}iifname != {_q(p.bridge)} {p.proto} dport {p.host_port} dnat to {p.address}:{p.port}"
        )
    lines += [
        "\t}",
        "\tchain output {",
        "\t\ttype nat hook output priority -100; policy accept;",
    ]
    for p in sorted(ports, key=lambda p: (p.host_port, p.proto, p.host_ip)):
        if p.host_ip.startswith("127."):
            continue  # loopback is the proxy's
        dst = f"ip daddr {p.host_ip} " if p.host_ip and p.host_ip != "0.0.0.0" else "fib daddr type local "
        lines.append(
            f"\t\tip daddr != 127.0.0.0/8 {dst}{p.proto} dport {p.host_port} dnat to {p.address}:{p.port}"
        )
    lines += [
        "\t}",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority 100; policy accept;",
    ]
    for m in sorted(masquerades, key=lambda m: m.subnet):
        lines.append(f"\t\tip saddr {m.subnet} oifname != {_q(m.bridge)} masquerade")
    lines += ["\t}", "}"]
    return "\n".join(lines) + "\n"


class _Lib:
    """A libnftables context (one per process; calls are serialised)."""

    def __init__(self) -> None:
        lib = ctypes.CDLL("libnftables.so.1", use_errno=True)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        self.lib = lib
        self.ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(self.ctx)
        lib.nft_ctx_buffer_error(self.ctx)
        self.lock = threading.Lock()

    def run(self, cmd: str, json_output: bool = False) -> str:
        with self.lock:
            self.lib.nft_ctx_output_set_flags(self.ctx, 1 << 4 if json_output else 0)  # NFT_CTX_OUTPUT_JSON
            rc = self.lib.nft_run_cmd_from_buffer(self.ctx, cmd.encode())
            out = (self.lib.nft_ctx_get_output_buffer(self.ctx) or b"").decode()
            err = (self.lib.nft_ctx_get_error_buffer(self.ctx) or b"").decode()
        if rc != 0:
            raise errdefs.Unknown(f"nftables: {err.strip() or 'command failed'}")
        return out


_lib: _Lib | None = None


def _get() -> _Lib:
    global _lib
    if _lib is None:
        _lib = _Lib()
    return _lib


def apply(
    table: str, masquerades: list[Masquerade], ports: list[PortRule], forwards: Sequence[Forward] = ()
) -> None:
    _get().run(render(table, masquerades, ports, list(forwards)))


def delete_table(table: str) -> None:
    _get().run("".join(f"table {fam} {table} {{}}\ndelete table {fam} {table}\n" for fam in ("ip", "netdev")))


def rules(table: str) -> list[dict[str, Any]]:
    """The table's rules as libnftables JSON objects ([] when the table does not exist)."""
    try:
        out = _get().run(f"list table ip {table}", json_output=True)
    except errdefs.Unknown:
        return []
    return [o["rule"] for o in json.loads(out).get("nftables", []) if "rule" in o]
