"""nftables through libnftables (ctypes): Skiff's rules live in their own table, replaced atomically.

The whole table is rendered from skiffd's state (``render``, pure and golden-tested) and loaded in one
transaction, so a restart or a repeated call can never duplicate a rule, and another engine's tables are
never read or written."""

from __future__ import annotations

import ctypes
import json
import threading
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


def _q(s: str) -> str:
    return json.dumps(s)


def render(table: str, masquerades: list[Masquerade], ports: list[PortRule]) -> str:
    """The nft script that (re)creates ``table`` with exactly these rules."""
    lines = [
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


def apply(table: str, masquerades: list[Masquerade], ports: list[PortRule]) -> None:
    _get().run(render(table, masquerades, ports))


def delete_table(table: str) -> None:
    _get().run(f"table ip {table} {{}}\ndelete table ip {table}\n")


def rules(table: str) -> list[dict[str, Any]]:
    """The table's rules as libnftables JSON objects ([] when the table does not exist)."""
    try:
        out = _get().run(f"list table ip {table}", json_output=True)
    except errdefs.Unknown:
        return []
    return [o["rule"] for o in json.loads(out).get("nftables", []) if "rule" in o]
