"""skiffd's network service: the default bridge, a sandbox (named netns) per container, endpoints,
published ports and the nftables table, persisted under ``<data-root>/network`` and reconciled on start.

Docker's model: a container on a bridge network gets a sandbox (``SandboxKey`` = a netns bind mount under
the exec root) when it starts and loses it when it stops; the runtime joins that netns by path, so the
container's network survives a restart of skiffd untouched."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skiff import errdefs
from skiff.engine.backend import timefmt
from skiff.engine.backend.record import Container
from skiff.network import bridge, ipam, netns, nft

log = logging.getLogger(__name__)

DEFAULT_BRIDGE = "skiff0"
DEFAULT_SUBNET = "172.31.0.0/16"
DEFAULT_TABLE = "skiff"
DEFAULT_EXEC_ROOT = "/var/run/skiff"
HOSTS_HEADER = (
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
)


@dataclass
class Binding:
    proto: str
    host_ip: str
    host_port: int
    port: int
    proxy_pid: int = 0


@dataclass
class Sandbox:
    """A started container's network: its netns, its endpoint on the default bridge, its ports."""

    cid: str
    key: str  # netns path ("" when the container joins another's or has none)
    network_id: str = ""
    host_ifname: str = ""
    address: str = ""
    mac: str = ""
    endpoint_id: str = ""
    bindings: list[Binding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["bindings"] = [b.__dict__ for b in self.bindings]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Sandbox:
        d = dict(d)
        d["bindings"] = [Binding(**b) for b in d.get("bindings") or []]
        return cls(**d)


def _port_key(spec: str) -> tuple[int, str]:
    port, _, proto = spec.partition("/")
    return int(port), (proto or "tcp")


def _alive_proxy(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"skiff.network.proxy" in f.read()
    except OSError:
        return False


class NetworkService:
    """Networks of one skiffd; every method is safe to call again (idempotent teardown)."""

    def __init__(
        self,
        data_root: Path,
        exec_root: Path,
        bridge_name: str = DEFAULT_BRIDGE,
        subnet: str = DEFAULT_SUBNET,
        table: str = DEFAULT_TABLE,
    ) -> None:
        self.dir = data_root / "network"
        self.netns_dir = exec_root / "netns"
        self.bridge_name = bridge_name
        self.table = table
        self.pool = ipam.Pool.parse(subnet)
        self.sandboxes: dict[str, Sandbox] = {}
        self.lock = asyncio.Lock()
        self._bridge_ready = False
        self.bridge_id = self._load_ids()
        for path in sorted((self.dir / "sandboxes").glob("*.json")):
            with contextlib.suppress(OSError, ValueError, TypeError):
                sb = Sandbox.from_json(json.loads(path.read_text()))
                self.sandboxes[sb.cid] = sb
                if sb.address:
                    self.pool.used.add(ipaddress.IPv4Address(sb.address))

    @classmethod
    def for_daemon(cls, data_root: Path, exec_root: Path) -> NetworkService:
        """``skiff0`` on 172.31.0.0/16 for the system daemon; a daemon with a private exec root (tests,
        side-by-side daemons) gets its own bridge, /24 and nftables table, so daemons never share rules."""
        if str(exec_root) == DEFAULT_EXEC_ROOT:
            return cls(data_root, exec_root)
        h = hashlib.sha256(str(exec_root.resolve()).encode()).digest()
        tag = h[:4].hex()
        return cls(
            data_root,
            exec_root,
            bridge_name=f"skf{tag}",
            subnet=f"10.{200 + h[4] % 50}.{h[5]}.0/24",
            table=f"skiff-{tag}",
        )

    # ---------- persistence ----------
    def _load_ids(self) -> str:
        path = self.dir / "networks.json"
        try:
            return str(json.loads(path.read_text())["bridge"]["Id"])
        except (OSError, ValueError, KeyError):
            self.dir.mkdir(parents=True, exist_ok=True)
            nid = secrets.token_hex(32)
            data = {"bridge": {"Id": nid, "Created": timefmt.now()}}
            path.write_text(json.dumps(data))
            return nid

    def _save(self, sb: Sandbox) -> None:
        d = self.dir / "sandboxes"
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{sb.cid}.json"
        tmp.write_text(json.dumps(sb.to_json()))
        os.replace(tmp, d / f"{sb.cid}.json")

    def _forget(self, cid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "sandboxes" / f"{cid}.json").unlink()

    # ---------- nftables ----------
    def _sync_rules(self) -> None:
        ports = [
            nft.PortRule(b.proto, b.host_ip, b.host_port, sb.address, b.port, self.bridge_name)
            for sb in self.sandboxes.values()
            for b in sb.bindings
            if sb.address and ":" not in b.host_ip
        ]
        present = set(bridge.list_links("veth"))
        forwards = [
            nft.Forward(sb.host_ifname, sb.address)
            for sb in self.sandboxes.values()
            if sb.address and sb.host_ifname in present
        ]
        nft.apply(self.table, [nft.Masquerade(str(self.pool.subnet), self.bridge_name)], ports, forwards)

    def _ensure_bridge(self) -> None:
        if not self._bridge_ready or not bridge.link_exists(self.bridge_name):
            bridge.ensure_bridge(self.bridge_name, str(self.pool.gateway), self.pool.prefixlen)
            self._bridge_ready = True

    # ---------- container lifecycle ----------
    @staticmethod
    def mode(record: Container) -> str:
        mode = str(record.host_config.get("NetworkMode") or "default")
        return "bridge" if mode == "default" else mode

    def netns_path(self, cid: str) -> str | None:
        sb = self.sandboxes.get(cid)
        return sb.key if sb is not None and sb.key else None

    async def setup(self, record: Container, lookup: Callable[[str], Container]) -> None:
        """Before the task is created: the sandbox for ``record``'s network mode, and its /etc files."""
        mode = self.mode(record)
        if mode == "host":
            await asyncio.to_thread(self._host_files, record)
            return
        if mode == "none":
            return
        if mode.startswith("container:"):
            other = lookup(mode.split(":", 1)[1])
            if not other.state.running:
                raise errdefs.Conflict(f"cannot join network of a non running container: {other.id}")
            path = self.netns_path(other.id) or f"/proc/{other.state.pid}/ns/net"
            self.sandboxes[record.id] = Sandbox(record.id, key=path)
            await asyncio.to_thread(self._copy_files, other, record)
            return
        if mode != "bridge":
            raise errdefs.NotFound(f"network {mode} not found")
        async with self.lock:
            await self.release_locked(record.id)
            try:
                sb = await asyncio.to_thread(self._attach, record)
            except errdefs.SkiffError:
                raise
            except Exception as err:  # netlink, mount, sysfs
                raise errdefs.Unknown(f"failed to set up container networking: {err}") from err
            self.sandboxes[record.id] = sb
            self._save(sb)
            try:
                await asyncio.to_thread(self._sync_rules)
            except errdefs.SkiffError:
                await self.release_locked(record.id)
                raise

    def _attach(self, record: Container) -> Sandbox:
        self._ensure_bridge()
        key = self.netns_dir / record.id[:12]
        addr = self.pool.allocate()
        sb = Sandbox(
            record.id,
            key=str(key),
            network_id=self.bridge_id,
            host_ifname=bridge.host_ifname(),
            address=str(addr),
            mac=ipam.mac_for(addr),
            endpoint_id=secrets.token_hex(32),
        )
        try:
            netns.create(key, bridge.loopback_up)
            ep = bridge.Endpoint(
                self.bridge_name,
                sb.host_ifname,
                "eth0",
                sb.address,
                self.pool.prefixlen,
                str(self.pool.gateway),
                sb.mac,
            )
            bridge.attach(ep, key)
            sb.bindings = self._bind_ports(record, sb)
        except BaseException:
            self._teardown(sb)
            raise
        self._write_hosts(record, sb.address)
        return sb

    def _bind_ports(self, record: Container, sb: Sandbox) -> list[Binding]:
        """Own each host port (bound here, handed to a proxy process), as docker-proxy does."""
        hc = record.host_config
        wanted: list[tuple[str, str, int, int]] = []  # proto, host ip, host port (0 = any), port
        bindings = dict(hc.get("PortBindings") or {})
        if hc.get("PublishAllPorts"):
            for spec in record.config.get("ExposedPorts") or {}:
                bindings.setdefault(spec, [{"HostIp": "", "HostPort": ""}])
        for spec, entries in sorted(bindings.items()):
            port, proto = _port_key(spec)
            for entry in entries or [{}]:
                hp = str((entry or {}).get("HostPort") or "")
                wanted.append(
                    (proto, str((entry or {}).get("HostIp") or ""), int(hp.split("-")[0] or 0), port)
                )
        out: list[Binding] = []
        taken = {(b.proto, b.host_port) for other in self.sandboxes.values() for b in other.bindings}
        name = record.name.lstrip("/")
        try:
            for proto, host_ip, host_port, port in wanted:
                ips = [host_ip] if host_ip else ["0.0.0.0", "::"]
                if host_port and (proto, host_port) in taken:
                    raise errdefs.Unknown(
                        f"driver failed programming external connectivity on endpoint {name} "
                        f"({sb.endpoint_id}): Bind for {ips[0]}:{host_port} failed: port is already allocated"
                    )
                if not host_port:
                    host_port = _ephemeral(proto, ips, taken)
                taken.add((proto, host_port))
                socks: list[socket.socket] = []
                try:
                    for ip in ips:
                        s = _listen(proto, ip, host_port)
                        if s is None:
                            if ip == "::" and not host_ip:
                                continue  # no IPv6 on this host
                            raise errdefs.Unknown(
                                f"driver failed programming external connectivity on endpoint {name} "
                                f"({sb.endpoint_id}): Error starting userland proxy: listen {proto}"
                                f"{'6' if ':' in ip else '4'} {_hostport(ip, host_port)}: bind: "
                                "address already in use"
                            )
                        socks.append(s)
                        host_port = s.getsockname()[1]
                    pid = self._spawn_proxy(socks, proto, sb.address, port)
                finally:
                    for s in socks:
                        s.close()
                for s_ip in ips[: len(socks)]:
                    out.append(Binding(proto, s_ip, host_port, port, pid))
        except BaseException:
            self._stop_proxies(out)
            raise
        return out

    @staticmethod
    def _spawn_proxy(socks: list[socket.socket], proto: str, address: str, port: int) -> int:
        fds = [str(s.fileno()) for s in socks]
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "skiff.network.proxy", proto, address, str(port), *fds],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=tuple(s.fileno() for s in socks),
            start_new_session=True,
        )
        return int(proc.pid)

    @staticmethod
    def _stop_proxies(bindings: list[Binding]) -> None:
        for b in bindings:
            if b.proxy_pid and _alive_proxy(b.proxy_pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(b.proxy_pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(b.proxy_pid, os.WNOHANG)

    async def close(self) -> None:
        """skiffd stops: a private daemon (tests) with no container left removes its bridge and table."""
        async with self.lock:
            if self.sandboxes or self.bridge_name == DEFAULT_BRIDGE:
                return
            with contextlib.suppress(Exception):
                await asyncio.to_thread(nft.delete_table, self.table)
                await asyncio.to_thread(bridge.delete_link, self.bridge_name)

    def _teardown(self, sb: Sandbox) -> None:
        self._stop_proxies(sb.bindings)
        if sb.host_ifname:
            bridge.delete_link(sb.host_ifname)
        if sb.key and sb.key.startswith(str(self.netns_dir)):
            netns.remove(Path(sb.key))
        if sb.address:
            self.pool.release(sb.address)

    async def release(self, cid: str) -> None:
        """After the task is gone (exit, failed start, removal): everything ``setup`` made."""
        async with self.lock:
            await self.release_locked(cid)

    async def release_locked(self, cid: str) -> None:
        sb = self.sandboxes.pop(cid, None)
        if sb is None:
            return
        await asyncio.to_thread(self._teardown, sb)
        self._forget(cid)
        if sb.address:
            with contextlib.suppress(errdefs.SkiffError):
                await asyncio.to_thread(self._sync_rules)

    async def reconcile(self, running: dict[str, Container]) -> None:
        """On skiffd start: keep the sandboxes of running containers (respawn their proxies), drop the
        rest, remove netns mounts and veths nobody owns, and load the table once."""
        async with self.lock:
            for cid in list(self.sandboxes):
                if cid not in running:
                    await self.release_locked(cid)
            owned = {sb.key for sb in self.sandboxes.values()}
            if self.netns_dir.is_dir():
                for path in self.netns_dir.iterdir():
                    if str(path) not in owned:
                        await asyncio.to_thread(netns.remove, path)
            for sb in self.sandboxes.values():
                groups: dict[int, list[Binding]] = {}
                for b in sb.bindings:
                    groups.setdefault(b.proxy_pid, []).append(b)
                for pid, group in groups.items():
                    if not _alive_proxy(pid):
                        await asyncio.to_thread(self._respawn, sb, group)
                self._save(sb)
            try:
                present = bool(self.sandboxes) or await asyncio.to_thread(
                    bridge.link_exists, self.bridge_name
                )
                if present:
                    await asyncio.to_thread(self._ensure_bridge)
                    await asyncio.to_thread(self._sync_rules)
            except Exception as err:
                log.warning("network reconcile: %s", err)

    def _respawn(self, sb: Sandbox, group: list[Binding]) -> None:
        socks = [x for x in (_listen(b.proto, b.host_ip, b.host_port) for b in group) if x is not None]
        try:
            if not socks:
                log.warning("cannot re-publish %s/%s", group[0].host_port, group[0].proto)
                return
            pid = self._spawn_proxy(socks, group[0].proto, sb.address, group[0].port)
            for b in group:
                b.proxy_pid = pid
        finally:
            for s in socks:
                s.close()

    # ---------- /etc files ----------
    @staticmethod
    def _write_hosts(record: Container, address: str) -> None:
        if not record.hosts_path:
            return
        hostname = str(record.config.get("Hostname") or record.short_id)
        domain = str(record.config.get("Domainname") or "")
        names = f"{hostname}.{domain} {hostname}" if domain else hostname
        Path(record.hosts_path).write_text(HOSTS_HEADER + f"{address}\t{names}\n")

    @staticmethod
    def _host_files(record: Container) -> None:
        """``--network host``: the host's hosts and resolv.conf, as dockerd copies them."""
        for src, dst in (("/etc/hosts", record.hosts_path), ("/etc/resolv.conf", record.resolv_conf_path)):
            if dst:
                with contextlib.suppress(OSError):
                    Path(dst).write_bytes(Path(src).read_bytes())

    @staticmethod
    def _copy_files(other: Container, record: Container) -> None:
        for src, dst in (
            (other.hosts_path, record.hosts_path),
            (other.resolv_conf_path, record.resolv_conf_path),
            (other.hostname_path, record.hostname_path),
        ):
            if src and dst:
                with contextlib.suppress(OSError):
                    Path(dst).write_bytes(Path(src).read_bytes())

    # ---------- inspect ----------
    def settings(self, record: Container) -> dict[str, Any]:
        """``NetworkSettings`` as dockerd fills it for the container's mode."""
        sb = self.sandboxes.get(record.id) if record.state.running else None
        mode = self.mode(record)
        ports: dict[str, Any] = {}
        for spec in record.config.get("ExposedPorts") or {}:
            ports[spec if "/" in spec else f"{spec}/tcp"] = None
        if sb is not None:
            for b in sb.bindings:
                ports.setdefault(f"{b.port}/{b.proto}", None)
                ports[f"{b.port}/{b.proto}"] = (ports[f"{b.port}/{b.proto}"] or []) + [
                    {"HostIp": b.host_ip, "HostPort": str(b.host_port)}
                ]
        addressed = sb is not None and bool(sb.address)
        endpoint = {
            "IPAMConfig": None,
            "Links": None,
            "Aliases": None,
            "NetworkID": self.bridge_id if mode == "bridge" else "",
            "EndpointID": sb.endpoint_id if addressed and sb else "",
            "Gateway": str(self.pool.gateway) if addressed else "",
            "IPAddress": sb.address if addressed and sb else "",
            "IPPrefixLen": self.pool.prefixlen if addressed else 0,
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "MacAddress": sb.mac if addressed and sb else "",
            "DriverOpts": None,
        }
        name = {"default": "bridge"}.get(mode, mode)
        networks = {} if mode.startswith("container:") else {name: endpoint}
        if mode in ("host", "none"):
            endpoint["NetworkID"] = ""
        top = (
            {
                k: endpoint[k]
                for k in (
                    "EndpointID",
                    "Gateway",
                    "GlobalIPv6Address",
                    "GlobalIPv6PrefixLen",
                    "IPAddress",
                    "IPPrefixLen",
                    "IPv6Gateway",
                    "MacAddress",
                )
            }
            if mode == "bridge"
            else {
                "EndpointID": "",
                "Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "IPAddress": "",
                "IPPrefixLen": 0,
                "IPv6Gateway": "",
                "MacAddress": "",
            }
        )
        return {
            "Bridge": "",
            "SandboxID": (sb.endpoint_id[::-1] if sb else ""),
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": ports,
            "SandboxKey": sb.key if sb else "",
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            **top,
            "Networks": networks,
        }

    def summarize(self, record: Container, summary: dict[str, Any]) -> None:
        """``GET /containers/json``: Ports and NetworkSettings.Networks as dockerd lists them."""
        settings = self.settings(record)
        summary["Ports"] = list_ports(settings)
        summary["NetworkSettings"] = {"Networks": settings["Networks"]}

    # ---------- networks API ----------
    def list_networks(self) -> list[dict[str, Any]]:
        created = timefmt.now()
        with contextlib.suppress(OSError, ValueError, KeyError):
            created = json.loads((self.dir / "networks.json").read_text())["bridge"]["Created"]
        containers = {
            sb.cid: {
                "Name": "",
                "EndpointID": sb.endpoint_id,
                "MacAddress": sb.mac,
                "IPv4Address": f"{sb.address}/{self.pool.prefixlen}",
                "IPv6Address": "",
            }
            for sb in self.sandboxes.values()
            if sb.address
        }

        def net(name: str, nid: str, driver: str, cfg: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
            return {
                "Name": name,
                "Id": nid,
                "Created": created,
                "Scope": "local",
                "Driver": driver,
                "EnableIPv6": False,
                "IPAM": {"Driver": "default", "Options": None, "Config": cfg},
                "Internal": False,
                "Attachable": False,
                "Ingress": False,
                "ConfigFrom": {"Network": ""},
                "ConfigOnly": False,
                "Containers": extra.get("containers", {}),
                "Options": extra.get("options", {}),
                "Labels": {},
            }

        return [
            net(
                "bridge",
                self.bridge_id,
                "bridge",
                [{"Subnet": str(self.pool.subnet), "Gateway": str(self.pool.gateway)}],
                containers=containers,
                options={
                    "com.docker.network.bridge.default_bridge": "true",
                    "com.docker.network.bridge.enable_icc": "true",
                    "com.docker.network.bridge.enable_ip_masquerade": "true",
                    "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                    "com.docker.network.bridge.name": self.bridge_name,
                    "com.docker.network.driver.mtu": "1500",
                },
            ),
            net("host", _fixed_id("host"), "host", []),
            net("none", _fixed_id("none"), "null", []),
        ]

    def find_network(self, ref: str) -> dict[str, Any]:
        nets = self.list_networks()
        for key in ("Id", "Name"):
            for n in nets:
                if n[key] == ref:
                    return n
        matches = [n for n in nets if ref and n["Id"].startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        raise errdefs.NotFound(f"network {ref} not found")


def _listen(proto: str, ip: str, port: int) -> socket.socket | None:
    """A bound (and for TCP listening) socket on ``ip``:``port``, or None when it is taken."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((ip, port))
        if proto == "tcp":
            s.listen(128)
    except OSError:
        s.close()
        return None
    return s


def _ephemeral(proto: str, ips: list[str], taken: set[tuple[str, int]]) -> int:
    """dockerd's port allocator: the lowest free port of ``ip_local_port_range``."""
    lo, hi = 32768, 60999
    with contextlib.suppress(OSError, ValueError):
        lo, hi = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for port in range(lo, hi + 1):
        if (proto, port) in taken:
            continue
        s = _listen(proto, ips[0], port)
        if s is not None:
            s.close()
            return port
    raise errdefs.Unavailable("no free host port to publish on")


def _hostport(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _fixed_id(name: str) -> str:
    return hashlib.sha256(f"skiff-network-{name}".encode()).hexdigest()


def list_ports(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """``docker ps``'s Ports from inspect's ``NetworkSettings.Ports``."""
    out: list[dict[str, Any]] = []
    for spec, bound in sorted((settings.get("Ports") or {}).items()):
        port, proto = _port_key(spec)
        if not bound:
            out.append({"PrivatePort": port, "Type": proto})
            continue
        for b in bound:
            out.append(
                {"IP": b["HostIp"], "PrivatePort": port, "PublicPort": int(b["HostPort"]), "Type": proto}
            )
    return out
